//! Shared test harness: start a real grpckit server on `127.0.0.1:0` with its own SQLite
//! file (or its own PostgreSQL database), connect typed clients, and clean up.
#![forbid(unsafe_code)]

mod auth;
mod fixtures;
mod http;
mod postgres;
mod process;
mod server;

pub use auth::{TEST_PASSWORD, TestUser, authed, login, sign_up};
pub use fixtures::{FIXTURE_PASSWORD, create_user_request, order_request};
pub use http::http_get;
pub use postgres::{PgDatabase, postgres_or_skip};
pub use process::ServerProcess;
pub use server::{TestServer, roomy_rate_rules, roomy_rate_rules_yaml, test_config};

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
