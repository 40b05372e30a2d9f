//! Typed configuration with the shape of the original YAML (`server:`, `client:`, ...).
//!
//! Merge order: defaults < YAML file < environment (`GRPCKIT_*`) < flags. Unknown keys and
//! bad values are rejected with the key's path, e.g.
//! `server.keep_alive.time: invalid value: expected a duration like 60s`.

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
