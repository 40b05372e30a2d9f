//! Typed configuration with the shape of the original YAML (`server:`, `client:`, ...).
//!
//! This module reads one YAML document over the defaults ([`parse_yaml`], [`load_file`]);
//! every key left out keeps its default. It reads no environment variables: merging the
//! environment (`GRPCKIT_*`) and flags on top is the caller's job, as `grpckit server` does
//! (defaults < file < environment < flags). Unknown keys and bad values are rejected with
//! the key's path, e.g. `server.keep_alive.time: invalid value: expected a duration like 60s`.

mod client;
mod load;
mod log_level;
mod middleware;
mod runtime;
mod split;
mod telemetry;
mod types;

pub use client::*;
pub use load::{ConfigError, load_file, parse_yaml};
pub use log_level::{LOG_LEVELS, check_log_level};
pub use middleware::*;
pub use telemetry::{MetricsConfig, TelemetryConfig, TracingConfig};
pub use types::*;
