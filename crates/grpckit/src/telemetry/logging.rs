//! `tracing` subscriber from [`LogConfig`]: JSON lines (default) or pretty text on stderr,
//! plus the OpenTelemetry layer when `telemetry.tracing.enabled`.

use tracing_subscriber::{
    EnvFilter, Layer, filter::LevelFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

use super::otel::{self, TracingError, TracingGuard};
use crate::config::{LogConfig, LogFormat, TelemetryConfig};

fn env_filter(cfg: &LogConfig) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
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
    let fmt_layer = match log.format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => fmt::layer().with_writer(std::io::stderr).boxed(),
    }
    .with_filter(env_filter(log));
    if !telemetry.tracing.enabled {
        let _ = tracing_subscriber::registry().with(fmt_layer).try_init();
        return Ok(None);
    }
    let registry = tracing_subscriber::registry().with(fmt_layer);
    let (otel_layer, guard) = otel::init(&telemetry.tracing)?;
    // Spans go to the exporter at INFO and above whatever the log level is; DEBUG spans
    // (e.g. DB queries) too when tracing is on.
    let _ = registry
        .with(otel_layer.with_filter(LevelFilter::DEBUG))
        .try_init();
    Ok(Some(guard))
}
