//! `grpckit stream`: exercises server streaming (activity feed, order tracking), client
//! streaming (batch sign-up, order upload) and bidirectional chat, with a readable report.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::StreamExt;
use grpckit_services::proto::{order::v1 as orderpb, user::v1 as userpb};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::{args::ClientArgs, session::Session};

/// Outcome of one scenario.
#[derive(Debug)]
pub struct Check {
    /// Name.
    pub name: &'static str,
    /// Error, if it failed.
    pub error: Option<String>,
    /// Duration.
    pub took: Duration,
}

/// Runs every scenario; returns the checks (the caller decides the exit code).
pub async fn run(args: &ClientArgs) -> anyhow::Result<Vec<Check>> {
    let mut s = Session::connect(&args.addr, args.timeout).await?;
    let account = s.sign_up_and_login("stream").await?;
    let mut checks = Vec::new();
    macro_rules! check {
        ($name:literal, $fut:expr) => {{
            let t = Instant::now();
            let res: anyhow::Result<String> = $fut.await;
            let took = t.elapsed();
            match &res {
                Ok(detail) => println!(
                    "ok   {:<44} {:>8.1} ms  {}",
                    $name,
                    took.as_secs_f64() * 1e3,
                    detail
                ),
                Err(e) => println!(
                    "FAIL {:<44} {:>8.1} ms  {}",
                    $name,
                    took.as_secs_f64() * 1e3,
                    grpckit::ErrorChain(e.as_ref())
                ),
            }
            checks.push(Check {
                name: $name,
                error: res
                    .err()
                    .map(|e| grpckit::ErrorChain(e.as_ref()).to_string()),
                took,
            });
        }};
    }
    check!(
        "server streaming: StreamUserActivity",
        activity(&s, &account.id)
    );
    check!("client streaming: BatchCreateUsers", batch(&s));
    check!("client streaming: UploadOrders", upload(&s, &account.id));
    check!(
        "server streaming: TrackOrder (to DELIVERED)",
        track(&s, &account.id, args.timeout)
    );
    check!(
        "bidirectional: Chat (two participants)",
        chat(&s, &account.id)
    );
    let failed = checks.iter().filter(|c| c.error.is_some()).count();
    println!(
        "{}/{} stream checks passed",
        checks.len() - failed,
        checks.len()
    );
    Ok(checks)
}

async fn activity(s: &Session, user_id: &str) -> anyhow::Result<String> {
    let mut users = s.users.clone();
    let mut feed = users
        .stream_user_activity(s.req(userpb::StreamUserActivityRequest {
            user_id: user_id.into(),
            replay_last: 10,
        }))
        .await?
        .into_inner();
    let mut replayed = 0;
    // Replay: account created + login.
    while replayed < 2 {
        let e = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .context("no replayed event")?;
        let e = e.context("feed ended")??;
        ensure!(e.replayed, "expected a replayed event first, got {e:?}");
        replayed += 1;
    }
    users
        .update_user(s.req(userpb::UpdateUserRequest {
            id: user_id.into(),
            name: Some("Stream Tester".into()),
            ..Default::default()
        }))
        .await?;
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .context("no live event")?;
        let e = e.context("feed ended")??;
        if e.kind == userpb::ActivityKind::ProfileUpdated as i32 && !e.replayed {
            return Ok(format!("{replayed} replayed + live '{}'", e.description));
        }
    }
}

async fn batch(s: &Session) -> anyhow::Result<String> {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let items = vec![
        userpb::CreateUserRequest {
            name: "Batch A".into(),
            email: format!("a-{tag}@example.com"),
            password: "password-a1".into(),
        },
        // Schema-valid but a duplicate: reported per item (schema violations end the stream
        // with INVALID_ARGUMENT before the handler sees the message).
        userpb::CreateUserRequest {
            name: "Batch Dup".into(),
            email: format!("a-{tag}@example.com"),
            password: "password-b1".into(),
        },
        userpb::CreateUserRequest {
            name: "Batch C".into(),
            email: format!("c-{tag}@example.com"),
            password: "password-c1".into(),
        },
    ];
    let mut users = s.users.clone();
    let r = users
        .batch_create_users(s.req(futures::stream::iter(items)))
        .await?
        .into_inner();
    ensure!(
        r.created_count == 2 && r.failed_count == 1,
        "expected 2 created / 1 failed, got {r:?}"
    );
    ensure!(
        r.errors.first().map(|e| e.index) == Some(1),
        "the bad item should be #1: {:?}",
        r.errors
    );
    Ok(format!("2 created, 1 rejected ({})", r.errors[0].message))
}

fn order_req(user_id: &str, qty: u32) -> orderpb::CreateOrderRequest {
    orderpb::CreateOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.into(),
        items: vec![orderpb::OrderItem {
            sku: "SKU-STREAM".into(),
            quantity: qty,
            unit_price_minor: 999,
        }],
        currency: "USD".into(),
    }
}

async fn upload(s: &Session, user_id: &str) -> anyhow::Result<String> {
    // Item #1 names a user that is not the caller (PERMISSION_DENIED with auth on, NOT_FOUND
    // without): reported per item.
    let items = vec![
        order_req(user_id, 1),
        order_req("does-not-exist", 2),
        order_req(user_id, 3),
    ];
    let mut orders = s.orders.clone();
    let r = orders
        .upload_orders(s.req(futures::stream::iter(items)))
        .await?
        .into_inner();
    ensure!(
        r.created_count == 2 && r.failed_count == 1,
        "expected 2 created / 1 failed, got {r:?}"
    );
    Ok(format!("2 created, 1 rejected ({})", r.errors[0].message))
}

async fn track(s: &Session, user_id: &str, timeout: Duration) -> anyhow::Result<String> {
    let mut orders = s.orders.clone();
    let order = orders
        .create_order(s.req(order_req(user_id, 1)))
        .await?
        .into_inner()
        .order
        .context("no order")?;
    let mut feed = orders
        .track_order(s.req(orderpb::TrackOrderRequest {
            order_id: order.id.clone(),
        }))
        .await?
        .into_inner();
    let first = feed.next().await.context("no current state")??;
    ensure!(
        first.status == orderpb::OrderStatus::Created as i32,
        "first event should be CREATED: {first:?}"
    );
    orders
        .pay_order(s.req(orderpb::PayOrderRequest {
            id: order.id.clone(),
            amount_minor: 0,
            payment_method: "card".into(),
        }))
        .await?;
    let mut seen = vec![first.status];
    let deadline = tokio::time::Instant::now() + timeout;
    while let Some(ev) = tokio::time::timeout_at(deadline, feed.next())
        .await
        .context("order not delivered in time (is the logistics simulator on?)")?
    {
        seen.push(ev?.status);
    }
    let names: Vec<_> = seen
        .iter()
        .map(|s| {
            orderpb::OrderStatus::try_from(*s)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("ORDER_STATUS_")
                        .to_owned()
                })
                .unwrap_or_default()
        })
        .collect();
    ensure!(
        names == ["CREATED", "PAID", "SHIPPED", "DELIVERED"],
        "unexpected sequence {names:?}"
    );
    Ok(names.join(" -> "))
}

async fn next_message(
    st: &mut tonic::Streaming<orderpb::ChatEvent>,
) -> anyhow::Result<orderpb::ChatEvent> {
    Ok(tokio::time::timeout(Duration::from_secs(10), st.next())
        .await
        .context("timed out")?
        .context("chat ended")??)
}

async fn chat(s: &Session, user_id: &str) -> anyhow::Result<String> {
    let mut orders = s.orders.clone();
    let order = orders
        .create_order(s.req(order_req(user_id, 1)))
        .await?
        .into_inner()
        .order
        .context("no order")?;
    let join = |sender: &str| orderpb::ChatMessage {
        order_id: order.id.clone(),
        sender: sender.into(),
        text: String::new(),
    };
    let (tx_a, rx_a) = mpsc::channel(16);
    let (tx_b, rx_b) = mpsc::channel(16);
    tx_a.send(join("customer")).await?;
    let mut a = orders
        .chat(s.req(ReceiverStream::new(rx_a)))
        .await?
        .into_inner();
    tx_b.send(join("support")).await?;
    let mut b = orders
        .clone()
        .chat(s.req(ReceiverStream::new(rx_b)))
        .await?
        .into_inner();
    // A sees B join.
    let e = next_message(&mut a).await?;
    ensure!(
        e.kind == orderpb::ChatEventKind::Joined as i32 && e.sender == "support",
        "expected support to join: {e:?}"
    );
    tx_a.send(orderpb::ChatMessage {
        order_id: String::new(),
        sender: String::new(),
        text: "hello, where is my parcel?".into(),
    })
    .await?;
    let e = next_message(&mut b).await?;
    ensure!(
        e.text == "hello, where is my parcel?" && e.sender == "customer",
        "support got {e:?}"
    );
    tx_b.send(orderpb::ChatMessage {
        order_id: String::new(),
        sender: String::new(),
        text: "on its way!".into(),
    })
    .await?;
    let e = next_message(&mut a).await?;
    ensure!(
        e.text == "on its way!" && e.sender == "support",
        "customer got {e:?}"
    );
    drop(tx_a);
    let e = next_message(&mut b).await?;
    ensure!(
        e.kind == orderpb::ChatEventKind::Left as i32,
        "expected a LEFT notice: {e:?}"
    );
    drop(tx_b);
    if b.next().await.transpose()?.is_some() {
        bail!("chat should end after the participant leaves");
    }
    Ok("2 participants, messages fanned out, leave noticed".into())
}
