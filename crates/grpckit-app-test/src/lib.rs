//! Test helpers of the reference services (`user.v1`, `order.v1`): start the real server
//! (the same code path as `grpckit server`) on `127.0.0.1:0` with its own SQLite file or its
//! own PostgreSQL database, sign up and log in, run the binary as a process, and clean up.
//!
//! The framework's own harness, for any service, is [`grpckit_test`]; its tool checks are
//! re-exported here so a suite needs one import.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod auth;
mod fixtures;
mod postgres;
mod process;
mod server;

pub use auth::{TEST_PASSWORD, TestUser, authed, login, sign_up};
pub use fixtures::{FIXTURE_PASSWORD, create_user_request, order_request};
pub use grpckit_test::{TestPki, TokenMinter, http_get, require_tool, under_ci};
pub use postgres::{PgDatabase, postgres_or_skip};
pub use process::ServerProcess;
pub use server::{TestServer, roomy_rate_rules, roomy_rate_rules_yaml, test_config};
