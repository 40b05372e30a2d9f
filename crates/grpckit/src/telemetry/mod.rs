//! Logging setup and the admin HTTP server (`/metrics`, `/healthz`, `/livez`, `/readyz`).

pub mod admin;
pub(crate) mod debug;
mod export_watch;
pub(crate) mod logging;
pub mod metrics;
pub mod otel;
mod probes;

pub use logging::{
    LogLevelError, flush_logs, init, init_logging, log_level_reloadable, set_log_level,
};
