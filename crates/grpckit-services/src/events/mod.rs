//! The event bus behind the activity feed, order tracking and chat rooms.
//!
//! Topics: `user.{id}` (activity), `order.{id}` (tracking), `chat.{order_id}` (chat). The
//! in-process [`MemoryBus`] is the default; a NATS adapter implements the same trait.

mod memory;

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};

pub use memory::{BusStats, MemoryBus};

/// An event on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UUIDv7, unique.
    pub id: String,
    /// Unix micros.
    pub at: i64,
    /// What happened.
    pub body: EventBody,
}

impl Event {
    /// Approximate heap and inline bytes held by the event (for the bus's memory bounds).
    pub fn approx_bytes(&self) -> usize {
        let body = match &self.body {
            EventBody::Activity {
                user_id,
                description,
                order_id,
                ..
            } => user_id.len() + description.len() + order_id.len(),
            EventBody::Tracking {
                order_id,
                status,
                description,
            } => order_id.len() + status.len() + description.len(),
            EventBody::Chat {
                order_id,
                participant,
                sender,
                text,
                ..
            } => order_id.len() + participant.len() + sender.len() + text.len(),
        };
        std::mem::size_of::<Self>() + self.id.len() + body
    }
}

/// Event payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// Something in a user's activity feed.
    Activity {
        /// The user.
        user_id: String,
        /// `ActivityKind` value of `user.v1`.
        kind: i32,
        /// Human-readable.
        description: String,
        /// Set for order events.
        order_id: String,
    },
    /// An order changed state.
    Tracking {
        /// The order.
        order_id: String,
        /// Stored status name.
        status: String,
        /// Human-readable.
        description: String,
    },
    /// A chat event.
    Chat {
        /// Room.
        order_id: String,
        /// Unique id of the participant (stream) that sent it.
        participant: String,
        /// Display name.
        sender: String,
        /// Text.
        text: String,
        /// `ChatEventKind` value of `order.v1`.
        kind: i32,
    },
}

/// A live subscription. Dropping it unsubscribes.
pub type Subscription = Pin<Box<dyn Stream<Item = Event> + Send + 'static>>;

/// Publish/subscribe by topic with a short replayable history (bounded in count, bytes and
/// age: see the `events:` config).
#[async_trait]
pub trait EventBus: Send + Sync + std::fmt::Debug + 'static {
    /// Publishes to every current subscriber of `topic` (never blocks on slow ones).
    async fn publish(&self, topic: &str, event: Event);
    /// Subscribes to events published from now on.
    async fn subscribe(&self, topic: &str) -> Subscription;
    /// Up to `n` most recent events of `topic`, oldest first.
    async fn recent(&self, topic: &str, n: usize) -> Vec<Event>;
    /// Live subscribers of `topic` on this instance (for gauges and leak checks).
    fn subscriber_count(&self, topic: &str) -> usize;
}

/// A new event with a fresh id and the current time.
pub fn event(body: EventBody) -> Event {
    Event {
        id: uuid::Uuid::now_v7().to_string(),
        at: crate::time::now_micros(),
        body,
    }
}

/// Topic of a user's activity feed.
pub fn user_topic(user_id: &str) -> String {
    format!("user.{user_id}")
}

/// Topic of an order's tracking feed.
pub fn order_topic(order_id: &str) -> String {
    format!("order.{order_id}")
}

/// Topic of an order's chat room.
pub fn chat_topic(order_id: &str) -> String {
    format!("chat.{order_id}")
}
