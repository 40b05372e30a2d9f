//! Plain-Rust business rules, unit-tested without I/O.

pub mod order;
pub mod page;
pub mod user;
