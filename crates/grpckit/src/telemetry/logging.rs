//! `tracing` subscriber from [`LogConfig`]: JSON lines (default) or pretty text on stderr
//! (coloured only on a terminal without `NO_COLOR`),
//! plus the OpenTelemetry layer when `telemetry.tracing.enabled`. The level filter sits
//! behind `tracing_subscriber`'s reload layer: [`set_log_level`] changes it while serving.
//!
//! Lines are formatted on the calling thread into one in-memory batch; a writer thread swaps
//! the batch out and writes it to stderr every 100 ms, or as soon as it passes 64 KiB. The
//! per-call access line costs a `memcpy`: the serving threads never make the `write` system
//! call, so a slow log reader (a pipe, a busy disk) does not stall them. Only if the writer
//! falls 8 MiB behind does a serving thread write its batch out itself (back-pressure: no line
//! is dropped and memory stays bounded). Call [`flush_logs`] before the process exits.

use std::{
    io::{IsTerminal, Write},
    sync::{
        Condvar, Mutex, MutexGuard, Once, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{
    EnvFilter, Layer, Registry, filter::LevelFilter, fmt, layer::SubscriberExt, reload,
    util::SubscriberInitExt,
};

use super::otel::{self, TracingError, TracingGuard};
use crate::config::{LogConfig, LogFormat, TelemetryConfig};

fn env_filter(cfg: &LogConfig) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The handle of the installed level filter (set when [`init`] installed the subscriber).
static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Why [`set_log_level`] could not change the level.
#[derive(Debug, thiserror::Error)]
pub enum LogLevelError {
    /// This process's subscriber was not installed by [`init`].
    #[error("the log subscriber was not installed by grpckit; its level cannot change")]
    NotInstalled,
    /// The subscriber is gone.
    #[error("cannot change the log level")]
    Reload(#[from] reload::Error),
}

/// Whether [`set_log_level`] can change the level (the subscriber was installed by [`init`]).
pub fn log_level_reloadable() -> bool {
    LEVEL.get().is_some()
}

/// Replaces the level filter with `cfg.level`, as [`init`] builds it (`RUST_LOG`, when set,
/// still wins). Lines from events that start afterwards follow the new level.
///
/// # Errors
/// The subscriber was not installed by [`init`], or is gone.
pub fn set_log_level(cfg: &LogConfig) -> Result<(), LogLevelError> {
    LEVEL
        .get()
        .ok_or(LogLevelError::NotInstalled)?
        .reload(env_filter(cfg))?;
    Ok(())
}

/// Whether pretty logs use colour: only on a terminal, and not when `NO_COLOR` is set to a
/// non-empty value (<https://no-color.org>).
fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Bytes collected before the writer thread is woken early.
const WAKE_BYTES: usize = 64 * 1024;
/// Bytes behind at which a serving thread writes the batch out itself.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Longest a line waits in the batch.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The batch of formatted lines not yet written.
static BATCH: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Wakes the writer thread when the batch passes [`WAKE_BYTES`].
static WAKE: Condvar = Condvar::new();

fn write_out(batch: &mut Vec<u8>) {
    if !batch.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(batch);
        let _ = err.flush();
        batch.clear();
    }
}

fn lock_batch() -> MutexGuard<'static, Vec<u8>> {
    BATCH
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The buffer being written; held while writing, so writes keep the lines' order and
/// [`flush_logs`] returns only after everything before it is out. Lock order: this, then
/// [`BATCH`].
static WRITING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Swaps the batch out (holding [`BATCH`] only for the swap) and writes it.
fn drain() {
    let mut out = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::swap(&mut *lock_batch(), &mut *out);
    write_out(&mut out);
    // A burst (or the writer falling behind) can leave megabytes of capacity behind.
    out.shrink_to(4 * WAKE_BYTES);
}

/// The writer thread: every [`FLUSH_EVERY`], or sooner when woken.
fn writer_loop() {
    loop {
        {
            let b = lock_batch();
            if b.len() < WAKE_BYTES {
                let _ = WAKE.wait_timeout(b, FLUSH_EVERY);
            }
        }
        drain();
    }
}

/// Set when [`init`] installed the JSON format: the access log then writes its lines
/// directly ([`write_line`]) instead of through a `tracing` event.
static JSON_LINES: AtomicBool = AtomicBool::new(false);

/// Whether this process logs JSON lines through [`init`]'s writer.
pub(crate) fn json_lines() -> bool {
    JSON_LINES.load(Ordering::Relaxed)
}

/// Appends one complete, newline-terminated line to the log batch.
pub(crate) fn write_line(line: &[u8]) {
    let _ = Batched.write(line);
}

/// Writes out every queued log line. Call it right before the process exits.
pub fn flush_logs() {
    drain();
}

/// The writer the formatter writes to: appends to [`BATCH`].
#[derive(Debug, Clone, Copy)]
struct Batched;

impl Write for Batched {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let (len, before) = {
            let mut b = lock_batch();
            let before = b.len();
            b.extend_from_slice(line);
            (b.len(), before)
        };
        if len >= MAX_BYTES {
            // The writer thread is stuck behind a slow reader: wait for it here instead of
            // dropping lines or growing without bound.
            drain();
        } else if before < WAKE_BYTES && len >= WAKE_BYTES {
            WAKE.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Batched;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

fn stderr_writer() -> Batched {
    static WRITER: Once = Once::new();
    WRITER.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("grpckit-log-writer".into())
            .spawn(writer_loop);
    });
    Batched
}

/// Installs the global subscriber. `RUST_LOG` overrides `log.level`. Calling it twice is a
/// no-op (tests start several servers in one process).
pub fn init_logging(cfg: &LogConfig) {
    let _ = init(cfg, &TelemetryConfig::default());
}

/// Installs logging and, when enabled, OpenTelemetry tracing (must run inside a Tokio
/// runtime then). Log lines inside a call carry the call span's `trace_id` and `span_id`.
/// Keep the guard and call [`TracingGuard::shutdown`] before exiting to flush spans.
pub fn init(
    log: &LogConfig,
    telemetry: &TelemetryConfig,
) -> Result<Option<TracingGuard>, TracingError> {
    crate::telemetry::metrics::set_enabled(telemetry.metrics.enabled);
    if tracing::dispatcher::has_been_set() {
        // Already installed (several servers in one test process): keep the first.
        return Ok(None);
    }
    let fmt_layer = match log.format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(stderr_writer())
            .boxed(),
        LogFormat::Pretty => fmt::layer()
            .with_ansi(colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ))
            .with_writer(stderr_writer())
            .boxed(),
    };
    let (filter, level) = reload::Layer::new(env_filter(log));
    let fmt_layer = fmt_layer.with_filter(filter);
    let json = log.format == LogFormat::Json;
    if !telemetry.tracing.enabled {
        let installed = tracing_subscriber::registry().with(fmt_layer).try_init();
        JSON_LINES.store(json && installed.is_ok(), Ordering::Relaxed);
        if installed.is_ok() {
            let _ = LEVEL.set(level);
        }
        return Ok(None);
    }
    let registry = tracing_subscriber::registry().with(fmt_layer);
    let (otel_layer, guard) = otel::init(&telemetry.tracing)?;
    // Spans go to the exporter at INFO and above whatever the log level is; DEBUG spans
    // (e.g. DB queries) too when tracing is on.
    let installed = registry
        .with(otel_layer.with_filter(LevelFilter::DEBUG))
        .try_init();
    JSON_LINES.store(json && installed.is_ok(), Ordering::Relaxed);
    if installed.is_ok() {
        let _ = LEVEL.set(level);
    }
    Ok(Some(guard))
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
