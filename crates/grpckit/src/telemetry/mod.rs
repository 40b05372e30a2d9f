//! Logging setup and the admin HTTP server (`/metrics`, `/healthz`).

pub mod admin;
mod export_watch;
pub(crate) mod logging;
pub mod metrics;
pub mod otel;

pub use logging::{
    LogLevelError, flush_logs, init, init_logging, log_level_reloadable, set_log_level,
};
