//! In-process bus: one bounded `tokio::sync::broadcast` channel per topic. A subscriber
//! that falls more than `buffer` events behind skips ahead (and a warning is logged), so a
//! slow reader never blocks publishers or other readers.

use std::{collections::VecDeque, sync::Arc};

use async_trait::async_trait;
use dashmap::DashMap;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::{Event, EventBus, Subscription};

#[derive(Debug)]
struct Topic {
    tx: broadcast::Sender<Event>,
    history: std::sync::Mutex<VecDeque<Event>>,
}

/// The in-process bus.
#[derive(Debug, Clone)]
pub struct MemoryBus {
    topics: Arc<DashMap<String, Arc<Topic>>>,
    history: usize,
    buffer: usize,
}

impl MemoryBus {
    /// Keeps `history` events per topic for replay; `buffer` events per subscriber.
    pub fn new(history: usize, buffer: usize) -> Self {
        Self {
            topics: Arc::default(),
            history,
            buffer: buffer.max(1),
        }
    }

    fn topic(&self, name: &str) -> Arc<Topic> {
        if let Some(t) = self.topics.get(name) {
            return t.clone();
        }
        self.topics
            .entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(Topic {
                    tx: broadcast::channel(self.buffer).0,
                    history: std::sync::Mutex::new(VecDeque::new()),
                })
            })
            .clone()
    }

    /// Number of live subscribers of `topic` (for tests and gauges).
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.topics.get(topic).map_or(0, |t| t.tx.receiver_count())
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, topic: &str, event: Event) {
        let t = self.topic(topic);
        if self.history > 0 {
            let mut h = t.history.lock().unwrap_or_else(|p| p.into_inner());
            if h.len() == self.history {
                h.pop_front();
            }
            h.push_back(event.clone());
        }
        // No subscribers is fine: the event is kept in history only.
        let _ = t.tx.send(event);
    }

    async fn subscribe(&self, topic: &str) -> Subscription {
        let rx = self.topic(topic).tx.subscribe();
        let topic = topic.to_owned();
        BroadcastStream::new(rx)
            .filter_map(move |r| {
                let out = match r {
                    Ok(e) => Some(e),
                    Err(BroadcastStreamRecvError::Lagged(n)) => {
                        tracing::warn!(topic = %topic, skipped = n, "slow subscriber skipped events");
                        None
                    }
                };
                std::future::ready(out)
            })
            .boxed()
    }

    async fn recent(&self, topic: &str, n: usize) -> Vec<Event> {
        let Some(t) = self.topics.get(topic).map(|t| t.clone()) else {
            return Vec::new();
        };
        let h = t.history.lock().unwrap_or_else(|p| p.into_inner());
        h.iter().skip(h.len().saturating_sub(n)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventBody, event};

    fn ev(i: usize) -> Event {
        event(EventBody::Tracking {
            order_id: "o".into(),
            status: "PAID".into(),
            description: i.to_string(),
        })
    }

    #[tokio::test]
    async fn fan_out_history_and_slow_reader() {
        let bus = MemoryBus::new(3, 4);
        let mut fast = bus.subscribe("t").await;
        let slow = bus.subscribe("t").await;
        for i in 0..10 {
            bus.publish("t", ev(i)).await;
            assert!(fast.next().await.is_some());
        }
        assert_eq!(bus.recent("t", 10).await.len(), 3);
        // The slow reader lost the oldest events but is not stuck.
        let got: Vec<_> = slow.take(4).collect().await;
        assert_eq!(got.len(), 4);
        assert_eq!(bus.subscriber_count("t"), 1);
    }
}
