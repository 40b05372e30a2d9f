//! Logging setup and the admin HTTP server (`/metrics`, `/healthz`).

pub mod admin;
mod logging;

pub use logging::init_logging;
