//! Full snapshots of a channel in its formats, streamed: a producer task
//! reads the published payloads a chunk at a time and renders them; the
//! consumer (an HTTP body, the CLI's file) takes the bytes as they come,
//! with a small bounded buffer between them, so memory stays flat however
//! large the catalog.

use std::sync::Arc;

use futures_util::Stream;

use super::feed;
use super::formats::{ExportFormat, Exporter};
use super::payload::Payload;
use crate::catalog::schema::{Channel, Schema};
use crate::db::Db;

/// Chunks in flight between the reader and the consumer.
const BUFFERED: usize = 4;

/// The channel's published and held products in `format`, as byte chunks.
pub fn stream(
    db: Db,
    schema: Arc<Schema>,
    channel: Channel,
    format: ExportFormat,
) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(BUFFERED);
    tokio::spawn(async move {
        let result = produce(&db, &schema, &channel, format, &sender).await;
        if let Err(err) = result {
            // The consumer sees the error and ends the response or file abruptly
            // rather than passing a truncated snapshot off as whole.
            let _ = sender.send(Err(std::io::Error::other(err))).await;
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
}

async fn produce(
    db: &Db,
    schema: &Schema,
    channel: &Channel,
    format: ExportFormat,
    sender: &tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) -> Result<(), sqlx::Error> {
    let mut exporter = Exporter::new(schema, channel, format);
    let mut out = exporter.header();
    let mut after: Option<(String, String)> = None;
    loop {
        let rows = feed::export_chunk(db, &channel.code, after.as_ref()).await?;
        let Some((group, sku, _)) = rows.last() else {
            break;
        };
        after = Some((group.clone(), sku.clone()));
        for (_, sku, bytes) in &rows {
            if format == ExportFormat::Jsonl {
                out.extend_from_slice(bytes.as_bytes());
                out.push(b'\n');
                continue;
            }
            match serde_json::from_str::<Payload>(bytes) {
                Ok(payload) => out.extend(exporter.item(&payload)),
                Err(err) => tracing::warn!(sku, error = %err, "unreadable stored payload skipped"),
            }
        }
        if sender.send(Ok(std::mem::take(&mut out))).await.is_err() {
            // The client went away.
            return Ok(());
        }
    }
    out.extend(exporter.footer());
    let _ = sender.send(Ok(out)).await;
    Ok(())
}
