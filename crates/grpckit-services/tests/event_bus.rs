//! The event bus's memory stays bounded: topics exist while subscribed or replayable, and
//! `grpckit_event_bus_topics` on `/metrics` comes back to its baseline.
//!
//! The bus gauges are process-wide (the last server started registers them), so the tests of
//! this file take turns.

use std::time::Duration;

use futures::StreamExt;
use grpckit_app_test::{TestServer, http_get, order_request};
use grpckit_services::proto::{order::v1 as pb, user::v1 as userpb};
use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const USERS: usize = 20;
const ORDERS_PER_USER: usize = 1_000;

async fn gauge(srv: &TestServer, name: &str) -> f64 {
    let text = http_get(srv.admin_addr, "/metrics").await.unwrap();
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{bus=\"memory\"}} ")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

async fn topics(srv: &TestServer) -> f64 {
    gauge(srv, "grpckit_event_bus_topics").await
}

/// Polls the topic gauge until it is `want` (up to 30 s).
async fn topics_become(srv: &TestServer, want: f64) -> f64 {
    let mut now = topics(srv).await;
    for _ in 0..300 {
        if now == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = topics(srv).await;
    }
    now
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_return_to_baseline_after_20000_orders_without_subscribers() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let srv = TestServer::start_open_with(|c| {
        c.events.replay_window = Duration::from_secs(3);
        c.logistics.enabled = false;
    })
    .await
    .unwrap();
    let baseline = topics(&srv).await;
    let mut uploads = Vec::new();
    for u in 0..USERS {
        let uid = srv.create_user(&format!("bus{u}@example.com")).await;
        let mut orders = srv.orders().await;
        uploads.push(tokio::spawn(async move {
            let items =
                (0..ORDERS_PER_USER).map(move |i| order_request(&uid, &format!("bus-{u}-{i}"), 1));
            orders
                .upload_orders(futures::stream::iter(items))
                .await
                .unwrap()
                .into_inner()
                .created_count
        }));
    }
    let mut created = 0;
    for u in uploads {
        created += u.await.unwrap();
    }
    assert_eq!(created as usize, USERS * ORDERS_PER_USER);
    // Recent orders are still replayable: the gauge sees their topics...
    assert!(topics(&srv).await > baseline, "no topic retained");
    assert!(gauge(&srv, "grpckit_event_bus_retained_bytes").await > 0.0);
    // ...until the replay window has passed.
    assert_eq!(topics_become(&srv, baseline).await, baseline);
    assert_eq!(gauge(&srv, "grpckit_event_bus_retained_bytes").await, 0.0);
}

#[tokio::test]
async fn topics_go_away_after_their_subscribers_leave() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let srv = TestServer::start_open_with(|c| {
        c.events.replay_window = Duration::from_millis(200);
        c.logistics.enabled = false;
    })
    .await
    .unwrap();
    let uid = srv.create_user("subs@example.com").await;
    let mut orders = srv.orders().await;
    let o = orders
        .create_order(order_request(&uid, "subs-1", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let baseline = topics_become(&srv, 0.0).await;
    assert_eq!(baseline, 0.0, "sign-up and order events expire");

    let mut tracking = orders
        .track_order(pb::TrackOrderRequest {
            order_id: o.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(tracking.next().await.is_some(), "current state first");
    let feed = srv
        .users()
        .await
        .stream_user_activity(userpb::StreamUserActivityRequest {
            user_id: uid.clone(),
            replay_last: 10,
        })
        .await
        .unwrap()
        .into_inner();
    let (tx, rx) = mpsc::channel(4);
    tx.send(pb::ChatMessage {
        order_id: o.id.clone(),
        sender: "customer".into(),
        text: String::new(),
    })
    .await
    .unwrap();
    let chat = orders
        .chat(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // order.{id}, user.{id} and chat.{id}, held by their subscribers past the window.
    assert_eq!(topics_become(&srv, 3.0).await, 3.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        topics(&srv).await,
        3.0,
        "subscribed topics outlive the window"
    );

    drop((tracking, feed, chat, tx));
    assert_eq!(topics_become(&srv, baseline).await, baseline);
}
