//! The four communication modes over the network, cancellation and leak checks.

use std::time::Duration;

use futures::StreamExt;
use grpckit_app_test::{TestServer, order_request};
use grpckit_services::{
    events::{chat_topic, order_topic, user_topic},
    proto::{
        order::v1::{self as pb, ChatEventKind, OrderStatus},
        user::v1::{self as userpb, ActivityKind},
    },
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(10);

async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn activity_feed_replays_then_goes_live() {
    let srv = TestServer::start_open().await.unwrap();
    let uid = srv.create_user("feed@example.com").await;
    let mut users = srv.users().await;
    users
        .login(userpb::LoginRequest {
            email: "feed@example.com".into(),
            password: "password-123".into(),
        })
        .await
        .unwrap();
    let mut feed = users
        .stream_user_activity(userpb::StreamUserActivityRequest {
            user_id: uid.clone(),
            replay_last: 10,
        })
        .await
        .unwrap()
        .into_inner();
    let a = tokio::time::timeout(WAIT, feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let b = tokio::time::timeout(WAIT, feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.kind, a.replayed),
        (ActivityKind::UserCreated as i32, true)
    );
    assert_eq!((b.kind, b.replayed), (ActivityKind::Login as i32, true));

    // Live: profile change and an order event.
    users
        .update_user(userpb::UpdateUserRequest {
            id: uid.clone(),
            name: Some("New".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let o = srv
        .orders()
        .await
        .create_order(order_request(&uid, "feed-1", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let c = tokio::time::timeout(WAIT, feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let d = tokio::time::timeout(WAIT, feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.kind, c.replayed),
        (ActivityKind::ProfileUpdated as i32, false)
    );
    assert_eq!(
        (d.kind, d.order_id.as_str()),
        (ActivityKind::OrderCreated as i32, o.id.as_str())
    );

    // Unknown user.
    let e = users
        .stream_user_activity(userpb::StreamUserActivityRequest {
            user_id: "ghost".into(),
            replay_last: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn cancelled_streams_release_server_resources() {
    let srv = TestServer::start_open().await.unwrap();
    let uid = srv.create_user("cancel@example.com").await;
    let bus = srv.server.as_ref().unwrap().app.bus();
    let topic = user_topic(&uid);
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let mut users = srv.users().await;
    let mut feeds = Vec::new();
    for _ in 0..20 {
        feeds.push(
            users
                .stream_user_activity(userpb::StreamUserActivityRequest {
                    user_id: uid.clone(),
                    replay_last: 0,
                })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    assert!(eventually(|| bus.subscriber_count(&topic) == 20).await);
    drop(feeds); // the client cancels every stream (RST_STREAM)
    assert!(
        eventually(|| bus.subscriber_count(&topic) == 0).await,
        "server still holds subscriptions"
    );
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert!(
        alive <= tasks_before + 2,
        "tasks leaked: {tasks_before} before, {alive} after"
    );
}

#[tokio::test]
async fn batch_create_users_reports_per_item() {
    let srv = TestServer::start_open_with(|c| {
        // The handler's own per-item checks; with the validate layer on, a schema-invalid
        // item ends the stream first (middleware_chain tests that).
        c.middleware.validate.enabled = false;
    })
    .await
    .unwrap();
    srv.create_user("taken@example.com").await;
    let items = vec![
        userpb::CreateUserRequest {
            name: "A".into(),
            email: "a1@example.com".into(),
            password: "password-1".into(),
        },
        userpb::CreateUserRequest {
            name: "B".into(),
            email: "taken@example.com".into(),
            password: "password-1".into(),
        },
        userpb::CreateUserRequest {
            name: "".into(),
            email: "bad".into(),
            password: "x".into(),
        },
        userpb::CreateUserRequest {
            name: "D".into(),
            email: "d1@example.com".into(),
            password: "password-1".into(),
        },
    ];
    let r = srv
        .users()
        .await
        .batch_create_users(futures::stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.created_count, r.failed_count), (2, 2));
    assert_eq!(r.created.len(), 2);
    let errs: Vec<_> = r
        .errors
        .iter()
        .map(|e| {
            (
                e.index,
                e.code.as_str(),
                e.reason.as_str(),
                e.domain.as_str(),
            )
        })
        .collect();
    assert_eq!(
        errs,
        [
            (1, "ALREADY_EXISTS", "EMAIL_TAKEN", "user.v1"),
            (2, "INVALID_ARGUMENT", "INVALID_FIELDS", "grpckit")
        ]
    );
    // Empty stream is fine.
    let r = srv
        .users()
        .await
        .batch_create_users(futures::stream::iter(Vec::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.created_count, r.failed_count), (0, 0));
}

#[tokio::test]
async fn upload_orders_reports_per_item() {
    let srv = TestServer::start_open_with(|c| c.middleware.validate.enabled = false)
        .await
        .unwrap();
    let uid = srv.create_user("up@example.com").await;
    let items = vec![
        order_request(&uid, "u-1", 1),
        order_request(&uid, "u-2", 0),
        order_request("ghost", "u-3", 1),
        order_request(&uid, "u-1", 1),
        order_request(&uid, "u-4", 2),
    ];
    let r = srv
        .orders()
        .await
        .upload_orders(futures::stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    // u-1 twice is idempotent: counted as created twice but stored once.
    assert_eq!((r.created_count, r.failed_count), (3, 2));
    assert_eq!(r.created[0].id, r.created[1].id);
    let codes: Vec<_> = r
        .errors
        .iter()
        .map(|e| (e.index, e.request_id.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [(1, "u-2", "INVALID_ARGUMENT"), (2, "u-3", "NOT_FOUND")]
    );
}

#[tokio::test]
async fn track_order_follows_to_a_terminal_state_and_ends() {
    let srv = TestServer::start_open().await.unwrap();
    let uid = srv.create_user("track@example.com").await;
    let mut c = srv.orders().await;
    let o = c
        .create_order(order_request(&uid, "t-1", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let mut feed = c
        .track_order(pb::TrackOrderRequest {
            order_id: o.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(WAIT, feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.status, OrderStatus::Created as i32);
    c.pay_order(pb::PayOrderRequest {
        id: o.id.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut seen = vec![first.status];
    while let Some(ev) = tokio::time::timeout(WAIT, feed.next())
        .await
        .expect("stream must end after DELIVERED")
    {
        seen.push(ev.unwrap().status);
    }
    assert_eq!(
        seen,
        [1, 2, 3, 4],
        "CREATED, PAID, SHIPPED, DELIVERED then end"
    );

    // A cancelled order: current state, then the end.
    let o2 = c
        .create_order(order_request(&uid, "t-2", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let mut feed = c
        .track_order(pb::TrackOrderRequest {
            order_id: o2.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    feed.next().await.unwrap().unwrap();
    c.cancel_order(pb::CancelOrderRequest {
        id: o2.id.clone(),
        reason: String::new(),
    })
    .await
    .unwrap();
    let ev = tokio::time::timeout(WAIT, feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.status, OrderStatus::Cancelled as i32);
    assert!(
        tokio::time::timeout(WAIT, feed.next())
            .await
            .unwrap()
            .is_none()
    );
    let mut feed = c
        .track_order(pb::TrackOrderRequest {
            order_id: o2.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        feed.next().await.unwrap().unwrap().status,
        OrderStatus::Cancelled as i32
    );
    assert!(
        feed.next().await.is_none(),
        "terminal orders: one event then end"
    );
    // Not found.
    assert_eq!(
        c.track_order(pb::TrackOrderRequest {
            order_id: "nope".into()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    assert!(
        srv.server
            .as_ref()
            .unwrap()
            .app
            .bus()
            .subscriber_count(&order_topic(&o.id))
            == 0
    );
}

fn msg(order_id: &str, sender: &str, text: &str) -> pb::ChatMessage {
    pb::ChatMessage {
        order_id: order_id.into(),
        sender: sender.into(),
        text: text.into(),
    }
}

#[tokio::test]
async fn chat_fans_out_to_every_other_participant() {
    let srv = TestServer::start_open().await.unwrap();
    let uid = srv.create_user("chat@example.com").await;
    let mut c = srv.orders().await;
    let o = c
        .create_order(order_request(&uid, "c-1", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let bus = srv.server.as_ref().unwrap().app.bus();

    let mut people = Vec::new();
    for name in ["customer", "support", "observer"] {
        let (tx, rx) = mpsc::channel(8);
        tx.send(msg(&o.id, name, "")).await.unwrap();
        let rx_stream = c.chat(ReceiverStream::new(rx)).await.unwrap().into_inner();
        people.push((tx, rx_stream));
        assert!(eventually(|| bus.subscriber_count(&chat_topic(&o.id)) == people.len()).await);
    }
    // Drain join notices.
    for (i, (_, s)) in people.iter_mut().enumerate() {
        for _ in 0..(2 - i) {
            let e = tokio::time::timeout(WAIT, s.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(e.kind, ChatEventKind::Joined as i32);
        }
    }
    people[0].0.send(msg("", "", "hi all")).await.unwrap();
    for (_, s) in people.iter_mut().skip(1) {
        let e = tokio::time::timeout(WAIT, s.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.sender.as_str(), e.text.as_str(), e.kind),
            ("customer", "hi all", ChatEventKind::Message as i32)
        );
    }
    // The observer leaves; the others are not disturbed.
    let (obs_tx, _obs_rx) = people.pop().unwrap();
    drop(obs_tx);
    for (_, s) in people.iter_mut() {
        let e = tokio::time::timeout(WAIT, s.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.kind, e.sender.as_str()),
            (ChatEventKind::Left as i32, "observer")
        );
    }
    people[1].0.send(msg("", "", "still here")).await.unwrap();
    let e = tokio::time::timeout(WAIT, people[0].1.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.text, "still here");

    // Bad rooms: the call itself fails (the room is joined before the response starts).
    let (tx, rx) = mpsc::channel(1);
    tx.send(msg("", "x", "no room")).await.unwrap();
    let e = c.chat(ReceiverStream::new(rx)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let (tx, rx) = mpsc::channel(1);
    tx.send(msg("ghost-order", "x", "")).await.unwrap();
    let e = c.chat(ReceiverStream::new(rx)).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn slow_chat_reader_does_not_block_fast_ones() {
    let srv = TestServer::start_open_with(|c| c.events.buffer = 8)
        .await
        .unwrap();
    let uid = srv.create_user("slow@example.com").await;
    let mut c = srv.orders().await;
    let o = c
        .create_order(order_request(&uid, "s-1", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let (tx_slow, rx) = mpsc::channel(8);
    tx_slow.send(msg(&o.id, "slow", "")).await.unwrap();
    let _slow = c.chat(ReceiverStream::new(rx)).await.unwrap().into_inner(); // never read
    let (tx_fast, rx) = mpsc::channel(8);
    tx_fast.send(msg(&o.id, "fast", "")).await.unwrap();
    let mut fast = c.chat(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let (tx_talk, rx) = mpsc::channel(8);
    tx_talk.send(msg(&o.id, "talker", "")).await.unwrap();
    let _talker = c.chat(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let mut got = 0;
    let sender = tokio::spawn(async move {
        for i in 0..500 {
            tx_talk.send(msg("", "", &format!("m{i}"))).await.unwrap();
        }
        tx_talk
    });
    while got < 500 {
        let e = tokio::time::timeout(WAIT, fast.next())
            .await
            .expect("fast reader stalled")
            .unwrap()
            .unwrap();
        if e.text == "m499" {
            got = 500;
        } else if e.kind == ChatEventKind::Message as i32 {
            got += 1;
        }
    }
    drop(sender.await.unwrap());
    drop(tx_slow);
}
