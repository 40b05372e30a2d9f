//! `order.v1.OrderService`: orders, payment, tracking, batch upload and chat rooms.

mod chat;
mod convert;
pub mod logistics;
mod service;
mod tracking;

pub use service::OrderApi;
