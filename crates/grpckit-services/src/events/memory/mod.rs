//! In-process bus: one bounded `tokio::sync::broadcast` channel per subscribed topic. A
//! subscriber that falls more than `buffer` events behind skips ahead (and a warning is
//! logged), so a slow reader never blocks publishers or other readers.
//!
//! # Memory
//! A topic exists only while it is needed: while it has subscribers, or while it retains
//! replay history. Publishing to a topic nobody subscribes to creates no channel; it only
//! keeps the event for replay, within `events.history` events, `events.history_bytes` bytes
//! and `events.replay_window` per topic and `events.max_retained_bytes` for the process
//! (past the budget events are delivered but not kept). Dropping the last subscription
//! removes its topic at once unless its history is still replayable; a sweeper (see
//! [`MemoryBus::spawn_sweeper`]) removes topics whose history has expired.

mod history;
mod subscription;
#[cfg(test)]
mod tests;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use dashmap::DashMap;
use futures::StreamExt;
use grpckit::server::Shutdown;

use crate::config::EventsConfig;
use tokio::{sync::broadcast, time::Instant};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use self::{
    history::{Bounds, History},
    subscription::Tracked,
};
use super::{Event, EventBus, Subscription};

/// One topic: a channel while someone listens, history while it is replayable.
#[derive(Debug, Default)]
struct Topic {
    tx: Option<broadcast::Sender<Event>>,
    history: History,
}

impl Topic {
    fn receivers(&self) -> usize {
        self.tx
            .as_ref()
            .map_or(0, broadcast::Sender::receiver_count)
    }

    /// Frees what nobody needs any more; returns the history bytes freed.
    fn trim(&mut self, now: Instant, window: Duration) -> usize {
        if self.receivers() == 0 {
            self.tx = None;
        }
        self.history.expire(now, window)
    }

    fn is_idle(&self) -> bool {
        self.tx.is_none() && self.history.is_empty()
    }
}

/// What the bus holds right now (for gauges and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Topics in the map (subscribed or retaining history).
    pub topics: usize,
    /// Approximate bytes of retained replay history.
    pub retained_bytes: usize,
}

#[derive(Debug)]
struct Inner {
    topics: DashMap<String, Topic>,
    retained: AtomicUsize,
    bounds: Bounds,
    max_retained: usize,
    buffer: usize,
}

/// The in-process bus.
#[derive(Debug, Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

impl MemoryBus {
    /// A bus bounded by the `events:` config.
    pub fn new(config: &EventsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                topics: DashMap::new(),
                retained: AtomicUsize::new(0),
                bounds: Bounds {
                    count: config.history,
                    bytes: config.history_bytes,
                    window: config.replay_window,
                },
                max_retained: config.max_retained_bytes,
                buffer: config.buffer.max(1),
            }),
        }
    }

    /// Topic count and retained bytes.
    pub fn stats(&self) -> BusStats {
        self.inner.stats()
    }

    /// A closure reading [`MemoryBus::stats`] that does not keep the bus alive (zero once
    /// it is gone), for metric probes.
    pub fn stats_probe(&self) -> impl Fn() -> BusStats + Send + Sync + 'static {
        let weak = Arc::downgrade(&self.inner);
        move || weak.upgrade().map(|i| i.stats()).unwrap_or_default()
    }

    /// Every so often (a quarter of the replay window, between 10 ms and 5 s) removes expired
    /// history and idle topics, until `shutdown` or until the bus is dropped.
    pub fn spawn_sweeper(&self, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let every =
            (self.inner.bounds.window / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let Some(inner) = weak.upgrade() else { break };
                inner.sweep(Instant::now());
            }
        })
    }
}

// === impl Inner ===

impl Inner {
    fn stats(&self) -> BusStats {
        BusStats {
            topics: self.topics.len(),
            retained_bytes: self.retained.load(Ordering::Relaxed),
        }
    }

    fn retains(&self) -> bool {
        self.bounds.count > 0 && !self.bounds.window.is_zero()
    }

    fn freed(&self, bytes: usize) {
        if bytes > 0 {
            self.retained.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Takes `size` bytes of the process budget, if they fit.
    fn reserve(&self, size: usize) -> bool {
        self.retained
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
                cur.checked_add(size).filter(|n| *n <= self.max_retained)
            })
            .is_ok()
    }

    /// Keeps `event` in the topic's history within every bound; returns the channel to send
    /// on, if anyone listens. Creates the topic only when the event is kept.
    fn retain(&self, name: &str, event: &Event, now: Instant) -> Option<broadcast::Sender<Event>> {
        let size = event.approx_bytes();
        let fits = size <= self.bounds.bytes;
        let mut topic = match self.topics.get_mut(name) {
            Some(t) => t,
            None if fits => self.topics.entry(name.to_owned()).or_default(),
            None => return None,
        };
        let mut freed = topic.history.expire(now, self.bounds.window);
        if fits {
            freed += topic.history.make_room(size, self.bounds);
        }
        self.freed(freed);
        if fits && self.reserve(size) {
            topic.history.push(event.clone(), size, now);
        }
        let tx = topic.tx.clone();
        let idle = topic.is_idle();
        drop(topic);
        if idle {
            self.topics.remove_if(name, |_, t| t.is_idle());
        }
        tx
    }

    /// The last subscription of `name` may be gone: drop the channel, and the topic unless
    /// its history is still replayable.
    fn release(&self, name: &str, now: Instant) {
        let mut freed = 0;
        self.topics.remove_if_mut(name, |_, t| {
            if t.receivers() > 0 {
                return false;
            }
            freed = t.trim(now, self.bounds.window);
            t.is_idle()
        });
        self.freed(freed);
    }

    fn sweep(&self, now: Instant) {
        let mut freed = 0;
        self.topics.retain(|_, t| {
            freed += t.trim(now, self.bounds.window);
            !t.is_idle()
        });
        self.freed(freed);
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, topic: &str, event: Event) {
        let tx = if self.inner.retains() {
            self.inner.retain(topic, &event, Instant::now())
        } else {
            self.inner.topics.get(topic).and_then(|t| t.tx.clone())
        };
        // No subscribers is fine: the event is kept in history only (or dropped).
        if let Some(tx) = tx {
            let _ = tx.send(event);
        }
    }

    async fn subscribe(&self, topic: &str) -> Subscription {
        let rx = {
            let mut t = self.inner.topics.entry(topic.to_owned()).or_default();
            t.tx.get_or_insert_with(|| broadcast::channel(self.inner.buffer).0)
                .subscribe()
        };
        let name = topic.to_owned();
        let events = BroadcastStream::new(rx)
            .filter_map(move |r| {
                let out = match r {
                    Ok(e) => Some(e),
                    Err(BroadcastStreamRecvError::Lagged(n)) => {
                        tracing::warn!(topic = %name, skipped = n, "slow subscriber skipped events");
                        None
                    }
                };
                std::future::ready(out)
            })
            .boxed();
        let inner = Arc::downgrade(&self.inner);
        let topic = topic.to_owned();
        Box::pin(Tracked::new(events, move || {
            if let Some(inner) = inner.upgrade() {
                inner.release(&topic, Instant::now());
            }
        }))
    }

    async fn recent(&self, topic: &str, n: usize) -> Vec<Event> {
        let Some(t) = self.inner.topics.get(topic) else {
            return Vec::new();
        };
        t.history
            .recent(n, Instant::now(), self.inner.bounds.window)
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        self.inner.topics.get(topic).map_or(0, |t| t.receivers())
    }
}
