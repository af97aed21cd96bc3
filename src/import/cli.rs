//! `sluice import FILE --profile P [--mode M]`: queues the file like an
//! upload, runs it in this process with a progress bar (rows/s, ETA) and
//! prints a summary with the errors grouped by kind.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::AsyncReadExt;

use super::jobs::{self, Job, Mode, NewJob, Status, Upload};
use super::worker;
use crate::audit::Actor;
use crate::services::Services;

/// Imports a file and waits for the job; answers the finished job.
pub async fn import_file(
    services: &Services,
    path: &Path,
    profile: &str,
    mode: Mode,
    origin: &'static str,
    show_progress: bool,
) -> anyhow::Result<Job> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    let mut upload = Upload::start(&services.config.data_dir, u64::MAX).await?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        upload.write(&buffer[..n]).await?;
    }
    let new = NewJob {
        profile: profile.to_owned(),
        mode,
        origin,
        file_name: path
            .file_name()
            .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned()),
        idempotency_key: None,
    };
    let actor = Actor::system(&format!("sluice {origin}"));
    let (job, _) = jobs::submit(&services.db, &actor, new, upload, services.clock.now()).await?;
    // The demo explains its own profile once, in its summary (`demo::erp::explain`).
    if origin != "demo" {
        for warning in &job.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let bar = if show_progress {
        let bar = ProgressBar::new(u64::try_from(job.file_bytes).unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {percent:>3}% {msg} (ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let running = {
        let services = services.clone();
        let id = job.id;
        tokio::spawn(async move { worker::run_job(&services, id).await })
    };
    let started = Instant::now();
    while !running.is_finished() {
        if let Some((rows, bytes)) = services.imports.progress(job.id) {
            bar.set_position(bytes);
            let seconds = started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / seconds));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.await??;
    // Another process's worker may have taken the job: wait for it to end.
    let done = loop {
        let current = jobs::get(services.db.pool(), job.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("import job #{} vanished", job.id))?;
        if current.status.is_done() {
            break current;
        }
        bar.set_message(format!(
            "{} rows (another worker is running it)",
            current.counts.read
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    bar.finish_and_clear();
    Ok(done)
}

/// The summary the CLI prints after a job.
pub async fn summary(services: &Services, job: &Job) -> anyhow::Result<String> {
    use std::fmt::Write;
    let c = &job.counts;
    let seconds = job.duration_ms.unwrap_or(0) as f64 / 1000.0;
    let mut out = String::new();
    let verb = if job.mode == Mode::DryRun {
        "dry run (nothing written)"
    } else {
        job.mode.as_str()
    };
    writeln!(
        out,
        "import job #{} {} — {}: {} rows in {seconds:.1} s ({:.0} rows/s)",
        job.id,
        job.status.as_str(),
        verb,
        c.read,
        if seconds > 0.0 {
            c.read as f64 / seconds
        } else {
            0.0
        }
    )?;
    writeln!(
        out,
        "  created {}, updated {}, proposed {}, unchanged {}, disabled {}, failed {}",
        c.created, c.updated, c.proposed, c.unchanged, c.disabled, c.failed
    )?;
    if let Some(message) = &job.message {
        writeln!(out, "  {message}")?;
    }
    if !job.dropped_values.is_empty() {
        writeln!(
            out,
            "  {} rows applied without some mapped values (their family or level does not hold them):",
            c.rows_with_dropped_values
        )?;
        for dropped in &job.dropped_values {
            writeln!(out, "    {}", dropped.describe())?;
        }
    }
    if job.status != Status::Succeeded {
        for group in jobs::error_groups(&services.db, job.id, 2).await? {
            writeln!(out, "  {} × {}", group.count, group.kind)?;
            for example in &group.examples {
                writeln!(out, "      row {}: {}", example.row, example.message)?;
            }
        }
        if c.failed > 0 {
            writeln!(
                out,
                "  the failed rows: GET /api/v1/imports/{}/errors.csv (or the job's page)",
                job.id
            )?;
        }
    }
    Ok(out)
}
