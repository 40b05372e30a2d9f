use std::time::Duration;

use crate::config::EventsConfig;
use futures::StreamExt;

use super::*;
use crate::events::{EventBody, event};

fn ev(i: usize) -> Event {
    event(EventBody::Tracking {
        order_id: "o".into(),
        status: "PAID".into(),
        description: i.to_string(),
    })
}

fn config(history: usize, buffer: usize) -> EventsConfig {
    EventsConfig {
        history,
        buffer,
        ..EventsConfig::default()
    }
}

fn descriptions(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.body {
            EventBody::Tracking { description, .. } => description.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn fan_out_history_and_slow_reader() {
    let bus = MemoryBus::new(&config(3, 4));
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

#[tokio::test]
async fn history_is_evicted_by_count() {
    let bus = MemoryBus::new(&config(3, 4));
    for i in 0..10 {
        bus.publish("t", ev(i)).await;
    }
    assert_eq!(descriptions(&bus.recent("t", 10).await), ["7", "8", "9"]);
    assert_eq!(bus.recent("t", 2).await.len(), 2);
    assert_eq!(bus.stats().retained_bytes, 3 * ev(0).approx_bytes());
}

#[tokio::test]
async fn history_is_evicted_by_bytes() {
    let size = ev(0).approx_bytes();
    let bus = MemoryBus::new(&EventsConfig {
        history_bytes: 2 * size + size / 2,
        ..EventsConfig::default()
    });
    for i in 0..5 {
        bus.publish("t", ev(i)).await;
    }
    assert_eq!(descriptions(&bus.recent("t", 10).await), ["3", "4"]);
    assert_eq!(bus.stats().retained_bytes, 2 * size);
    // An event larger than a topic's budget is delivered but never kept.
    let big = event(EventBody::Tracking {
        order_id: "o".into(),
        status: "PAID".into(),
        description: "x".repeat(4 * size),
    });
    let mut sub = bus.subscribe("u").await;
    bus.publish("u", big).await;
    assert!(sub.next().await.is_some());
    assert!(bus.recent("u", 10).await.is_empty());
}

#[tokio::test]
async fn process_budget_caps_retained_bytes() {
    let size = ev(0).approx_bytes();
    let bus = MemoryBus::new(&EventsConfig {
        max_retained_bytes: 3 * size,
        ..EventsConfig::default()
    });
    for i in 0..10 {
        bus.publish(&format!("t{i}"), ev(i)).await;
    }
    assert_eq!(bus.stats().retained_bytes, 3 * size);
    assert_eq!(
        bus.stats().topics,
        3,
        "events past the budget create no topic"
    );
}

/// Publishes as if at `at` (the clock is not paused: these tests pass times explicitly).
fn publish_at(bus: &MemoryBus, topic: &str, e: Event, at: Instant) {
    if let Some(tx) = bus.inner.retain(topic, &e, at) {
        let _ = tx.send(e);
    }
}

fn recent_at(bus: &MemoryBus, topic: &str, at: Instant) -> Vec<String> {
    bus.inner.topics.get(topic).map_or_else(Vec::new, |t| {
        descriptions(&t.history.recent(10, at, bus.inner.bounds.window))
    })
}

#[tokio::test]
async fn history_expires_after_the_window_and_the_sweep_removes_the_topic() {
    let bus = MemoryBus::new(&EventsConfig {
        replay_window: Duration::from_secs(10),
        ..EventsConfig::default()
    });
    let t0 = Instant::now();
    let secs = |n| t0 + Duration::from_secs(n);
    publish_at(&bus, "t", ev(0), t0);
    publish_at(&bus, "t", ev(1), secs(6));
    assert_eq!(recent_at(&bus, "t", secs(12)), ["1"]);
    bus.inner.sweep(secs(12));
    assert_eq!(bus.stats().topics, 1, "the newer event is still replayable");
    assert_eq!(bus.stats().retained_bytes, ev(1).approx_bytes());
    assert!(recent_at(&bus, "t", secs(16)).is_empty());
    bus.inner.sweep(secs(16));
    assert_eq!(bus.stats(), BusStats::default());
}

#[tokio::test]
async fn publishing_expires_old_history_of_its_topic() {
    let bus = MemoryBus::new(&EventsConfig {
        replay_window: Duration::from_secs(10),
        ..EventsConfig::default()
    });
    let t0 = Instant::now();
    publish_at(&bus, "t", ev(0), t0);
    publish_at(&bus, "t", ev(1), t0 + Duration::from_secs(11));
    assert_eq!(bus.stats().retained_bytes, ev(1).approx_bytes());
}

#[tokio::test]
async fn the_sweeper_task_runs_until_shutdown() {
    let bus = MemoryBus::new(&EventsConfig {
        replay_window: Duration::from_millis(50),
        ..EventsConfig::default()
    });
    let shutdown = Shutdown::new();
    let sweeper = bus.spawn_sweeper(shutdown.clone());
    bus.publish("t", ev(0)).await;
    let mut gone = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if bus.stats() == BusStats::default() {
            gone = true;
            break;
        }
    }
    assert!(gone, "the sweeper removed the expired topic");
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(5), sweeper)
        .await
        .expect("sweeper stops on shutdown")
        .expect("sweeper did not panic");
}

#[tokio::test]
async fn without_history_publishing_creates_no_topic() {
    let bus = MemoryBus::new(&config(0, 4));
    for i in 0..100 {
        bus.publish(&format!("t{i}"), ev(i)).await;
    }
    assert_eq!(bus.stats(), BusStats::default());
    let no_window = MemoryBus::new(&EventsConfig {
        replay_window: Duration::ZERO,
        ..EventsConfig::default()
    });
    no_window.publish("t", ev(0)).await;
    assert_eq!(no_window.stats().topics, 0);
}

#[tokio::test]
async fn the_last_subscription_dropped_removes_its_topic() {
    let bus = MemoryBus::new(&config(0, 4));
    let a = bus.subscribe("t").await;
    let mut b = bus.subscribe("t").await;
    bus.publish("t", ev(0)).await;
    assert!(b.next().await.is_some());
    assert_eq!(bus.stats().topics, 1);
    drop(a);
    assert_eq!(bus.stats().topics, 1, "b still listens");
    drop(b);
    assert_eq!(bus.stats().topics, 0);
}

#[tokio::test]
async fn a_topic_with_replayable_history_outlives_its_subscribers_until_the_window_ends() {
    let bus = MemoryBus::new(&EventsConfig {
        replay_window: Duration::from_secs(5),
        ..EventsConfig::default()
    });
    let sub = bus.subscribe("t").await;
    bus.publish("t", ev(0)).await;
    drop(sub);
    assert_eq!(bus.stats().topics, 1);
    assert_eq!(bus.subscriber_count("t"), 0);
    bus.inner.sweep(Instant::now() + Duration::from_secs(5));
    assert_eq!(bus.stats(), BusStats::default());
}
