//! Test harness for services built on grpckit: serve a [`grpckit::server::ServerBuilder`]
//! (your services, your stack) on `127.0.0.1:0` ([`TestServer`]), mint bearer tokens its
//! auth part accepts ([`TokenMinter`]), issue TLS certificates ([`TestPki`]), connect
//! clients, and skip or fail tests that need an outside tool ([`require_tool`]).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use grpckit::{config::ServerConfig, server::ServerBuilder};
//! use grpckit_test::TestServer;
//!
//! let server = TestServer::start(ServerBuilder::new(ServerConfig::default())).await?;
//! let channel = server.channel().await?; // give it to your generated client
//! # drop(channel);
//! server.stop().await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod http;
mod pki;
mod server;
mod token;

pub use http::http_get;
pub use pki::TestPki;
pub use server::TestServer;
pub use token::{TokenMinter, with_bearer};

/// Whether the suite runs under CI (`CI=true`): missing outside tools then fail loudly.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (outside CI) or fails (under CI) a test that needs an outside tool.
pub fn require_tool(test: &str, ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    assert!(
        !under_ci(),
        "{test}: {what} is required under CI=true but missing"
    );
    eprintln!("SKIPPED {test}: {what} not available");
    false
}
