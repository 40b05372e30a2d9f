//! `telemetry:` section: metrics and OpenTelemetry tracing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `telemetry:`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Prometheus metrics and the live stats page.
    pub metrics: MetricsConfig,
    /// OpenTelemetry spans exported over OTLP/gRPC.
    pub tracing: TracingConfig,
}

/// `telemetry.metrics:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Record call metrics (the `/metrics` endpoint is served either way). Default `true`.
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `telemetry.tracing:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// Create and export spans. Default `false` (the trace layer is then a pass-through).
    pub enabled: bool,
    /// OTLP/gRPC collector endpoint. Default `http://127.0.0.1:4317`.
    pub endpoint: String,
    /// Share of new traces sampled, 0..=1 (a sampled parent is always followed). Default `1.0`.
    pub sample_ratio: f64,
    /// `service.name` resource attribute. Default `grpckit`.
    pub service_name: String,
    /// Export timeout of one batch. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub export_timeout: Duration,
    /// Delay between batch exports. Default `1s`.
    #[serde(with = "humantime_serde")]
    pub batch_delay: Duration,
    /// Spans queued for export before new ones are dropped. Default `2048`.
    pub max_queue_size: usize,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: "http://127.0.0.1:4317".into(),
            sample_ratio: 1.0,
            service_name: "grpckit".into(),
            export_timeout: Duration::from_secs(10),
            batch_delay: Duration::from_secs(1),
            max_queue_size: 2048,
        }
    }
}

use super::InvalidValue;

impl TelemetryConfig {
    /// Range checks.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let t = &self.tracing;
        if !(0.0..=1.0).contains(&t.sample_ratio) || t.sample_ratio.is_nan() {
            return Err(InvalidValue::new(
                "telemetry.tracing.sample_ratio",
                format!("{} is not within 0..=1", t.sample_ratio),
            ));
        }
        if t.enabled && !(t.endpoint.starts_with("http://") || t.endpoint.starts_with("https://")) {
            return Err(InvalidValue::new(
                "telemetry.tracing.endpoint",
                format!("'{}' must start with http:// or https://", t.endpoint),
            ));
        }
        if t.service_name.trim().is_empty() {
            return Err(InvalidValue::new(
                "telemetry.tracing.service_name",
                "must not be empty",
            ));
        }
        if t.max_queue_size == 0 {
            return Err(InvalidValue::new(
                "telemetry.tracing.max_queue_size",
                "must be greater than 0",
            ));
        }
        Ok(())
    }
}
