//! The grpckit reference services: `user.v1.UserService` and `order.v1.OrderService`.
//!
//! Layers: handlers (proto <-> domain) -> domain (rules, state machine) -> ports
//! (`UserStore`, `OrderStore`, `EventBus`, `UserDirectory`) -> adapters (sqlx SQLite or
//! PostgreSQL, in-process bus, in-process or gRPC directory). [`app::App`] wires them.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod app;
pub mod config;
pub mod directory;
pub mod domain;
pub mod error;
pub mod events;
pub mod limits;
pub mod live;
pub mod order;
pub mod proto;
pub mod reasons;
pub mod security;
pub mod store;
mod time;
pub mod user;

pub use error::ServiceError;
