//! The `grpckit` command line: `server`, `client`, `stream`, `perf`, `call`, `openapi`,
//! `health`, `certs`, `admin`, `config`. Commands live
//! in this library so tests can call them; `main.rs` only parses and dispatches.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod args;
pub mod call;
pub mod certs;
pub mod client;
pub mod config_default;
pub mod config_print;
pub mod conn;
pub mod go_flags;
pub mod health;
pub mod layers;
pub mod openapi;
pub mod perf;
pub mod reflect;
pub mod server;
pub mod session;
pub mod stream;

pub use args::{Cli, Command};
