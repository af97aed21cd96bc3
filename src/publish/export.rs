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
    let (sender, mut receiver) = tokio::sync::mpsc::channel(BUFFERED);
    tokio::spawn(async move {
        let result = produce(&db, &schema, &channel, format, &sender).await;
        if let Err(err) = result {
            // The consumer sees the error and ends the response or file abruptly
            // rather than passing a truncated snapshot off as whole.
            let _ = sender.send(Err(std::io::Error::other(err))).await;
        }
    });
    // A closed receiver answers `None` on every poll, so the stream may be
    // polled after its end, as a compressing body does while it finishes.
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
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

/// What [`to_file`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub products: u64,
    pub bytes: u64,
}

/// Why a file export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("there is no channel {0}")]
    UnknownChannel(String),
    #[error("the publisher cannot catch up: {0}")]
    Publish(#[from] super::publisher::PublishError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("cannot write {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// `sluice export`: catches the publisher up, then writes the channel's
/// snapshot to `path` through a temporary file renamed at the end, so a
/// failed export never leaves a truncated file under the wanted name.
pub async fn to_file(
    services: &crate::services::Services,
    channel: &str,
    format: ExportFormat,
    path: &std::path::Path,
) -> Result<Written, ExportError> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    super::worker::drain(services).await?;
    let schema = services.schema.get(&services.db).await?;
    let found = schema
        .channel(channel)
        .cloned()
        .ok_or_else(|| ExportError::UnknownChannel(channel.to_owned()))?;
    let io = |source| ExportError::Io {
        path: path.to_owned(),
        source,
    };
    let partial = path.with_extension("partial");
    let mut file = tokio::fs::File::create(&partial).await.map_err(io)?;
    let mut written = Written::default();
    let mut chunks = Box::pin(stream(services.db.clone(), schema.clone(), found, format));
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(io)?;
        written.bytes += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(&partial, path).await.map_err(io)?;
    written.products = feed::count_live(&services.db, channel).await?;
    Ok(written)
}
