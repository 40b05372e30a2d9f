//! Shared test harness: start a real grpckit server on `127.0.0.1:0` with its own SQLite
//! file (or its own PostgreSQL database), connect typed clients, and clean up.
#![forbid(unsafe_code)]

mod http;
mod postgres;
mod server;

pub use http::http_get;
pub use postgres::{PgDatabase, postgres_or_skip};
pub use server::{TestServer, test_config};
