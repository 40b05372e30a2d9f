//! Shared by `metrics.rs` and `metrics_without_stack.rs` (each its own test binary, so each
//! its own process-wide metrics registry): known traffic of every call kind, then the exact
//! go-grpc-prometheus counts.

use std::time::Duration;

use grpckit_app_test::{TestServer, http_get};
use grpckit_services::proto::{
    order::v1::{ChatMessage, order_service_client::OrderServiceClient},
    user::v1::{
        CreateUserRequest, GetUserRequest, StreamUserActivityRequest,
        user_service_client::UserServiceClient,
    },
};
use prometheus_parse::{Scrape, Value};
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::Code;

async fn scrape(srv: &TestServer) -> Scrape {
    let text = http_get(srv.admin_addr, "/metrics")
        .await
        .expect("GET /metrics");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parse /metrics")
}

/// The value of the one sample named `name` whose labels include `labels`; 0 when absent.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let hits: Vec<f64> = s
        .samples
        .iter()
        .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => f64::NAN,
        })
        .collect();
    assert!(
        hits.len() <= 1,
        "{name} {labels:?} matches {} samples",
        hits.len()
    );
    hits.first().copied().unwrap_or(0.0)
}

#[derive(Clone, Copy)]
struct M(&'static str, &'static str, &'static str);

fn l(m: M) -> [(&'static str, &'static str); 3] {
    [
        ("grpc_type", m.0),
        ("grpc_service", m.1),
        ("grpc_method", m.2),
    ]
}

fn handled(s: &Scrape, side: &str, m: M, code: &str) -> f64 {
    let [a, b, c] = l(m);
    value(
        s,
        &format!("grpc_{side}_handled_total"),
        &[a, b, c, ("grpc_code", code)],
    )
}

const CREATE: M = M("unary", "user.v1.UserService", "CreateUser");
const GET: M = M("unary", "user.v1.UserService", "GetUser");
const BATCH: M = M("client_stream", "user.v1.UserService", "BatchCreateUsers");
const ACTIVITY: M = M("server_stream", "user.v1.UserService", "StreamUserActivity");
const CHAT: M = M("bidi_stream", "order.v1.OrderService", "Chat");

fn user(name: &str, email: String) -> CreateUserRequest {
    CreateUserRequest {
        name: name.into(),
        email,
        password: "password-123".into(),
    }
}

/// Drives every call kind through `srv` and checks the exact go-grpc-prometheus series.
pub async fn count_every_call_kind(srv: TestServer) -> anyhow::Result<()> {
    let ch = grpckit::client::instrument(srv.channel().await);
    let mut users = UserServiceClient::new(ch.clone());
    let mut orders = OrderServiceClient::new(ch);
    let tag = uuid::Uuid::new_v4().simple().to_string();

    // Unary: one OK and one AlreadyExists; one OK and one NotFound.
    let a = users
        .create_user(user("Metrics A", format!("a-{tag}@example.com")))
        .await?
        .into_inner()
        .user
        .expect("user");
    let dup = users
        .create_user(user("Metrics A", format!("a-{tag}@example.com")))
        .await
        .expect_err("duplicate");
    assert_eq!(dup.code(), Code::AlreadyExists);
    users.get_user(GetUserRequest { id: a.id.clone() }).await?;
    let missing = users
        .get_user(GetUserRequest {
            id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), Code::NotFound);

    // Client streaming: three messages in, one out.
    let batch = vec![
        user("Batch A", format!("ba-{tag}@example.com")),
        user("Batch Dup", format!("a-{tag}@example.com")),
        user("Batch C", format!("bc-{tag}@example.com")),
    ];
    let r = users
        .batch_create_users(tokio_stream::iter(batch))
        .await?
        .into_inner();
    assert_eq!((r.created_count, r.failed_count), (2, 1));

    // Server streaming, abandoned by the client after the one replayed event: Canceled.
    let mut feed = users
        .stream_user_activity(StreamUserActivityRequest {
            user_id: a.id.clone(),
            replay_last: 10,
        })
        .await?
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await?
        .expect("an event")?;
    assert!(first.replayed);
    drop(feed);

    // Bidi, ended by the server with an error: the first message names no order.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(ChatMessage {
        order_id: String::new(),
        sender: "x".into(),
        text: String::new(),
    })
    .await?;
    let chat_code = match orders.chat(ReceiverStream::new(rx)).await {
        Err(s) => s.code(),
        Ok(resp) => {
            let mut st = resp.into_inner();
            match st.message().await {
                Ok(Some(e)) => panic!("no event expected, got {e:?}"),
                Ok(None) => Code::Ok,
                Err(s) => s.code(),
            }
        }
    };
    assert_eq!(chat_code, Code::InvalidArgument);
    drop(tx);

    // The server notices the cancelled stream asynchronously: wait for it (bounded).
    let mut s = scrape(&srv).await;
    for _ in 0..100 {
        if handled(&s, "server", ACTIVITY, "Canceled") == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        s = scrape(&srv).await;
    }

    for side in ["server", "client"] {
        let started = format!("grpc_{side}_started_total");
        let (req_msgs, resp_msgs) = if side == "server" {
            (
                "grpc_server_msg_received_total",
                "grpc_server_msg_sent_total",
            )
        } else {
            (
                "grpc_client_msg_sent_total",
                "grpc_client_msg_received_total",
            )
        };
        let hist = format!("grpc_{side}_handling_seconds_count");
        // (method, started, [(code, n)], request messages, response messages)
        #[allow(clippy::type_complexity)]
        let expect: [(M, f64, &[(&str, f64)], f64, f64); 5] = [
            (
                CREATE,
                2.0,
                &[("OK", 1.0), ("AlreadyExists", 1.0)],
                2.0,
                1.0,
            ),
            (GET, 2.0, &[("OK", 1.0), ("NotFound", 1.0)], 2.0, 1.0),
            (BATCH, 1.0, &[("OK", 1.0)], 3.0, 1.0),
            (ACTIVITY, 1.0, &[("Canceled", 1.0)], 1.0, 1.0),
            (CHAT, 1.0, &[("InvalidArgument", 1.0)], 1.0, 0.0),
        ];
        for (m, n_started, codes, n_req, n_resp) in expect {
            let ctx = format!("{side} {}/{}", m.1, m.2);
            assert_eq!(value(&s, &started, &l(m)), n_started, "{ctx} started");
            for (code, n) in codes {
                assert_eq!(handled(&s, side, m, code), *n, "{ctx} handled {code}");
            }
            let total_handled: f64 = s
                .samples
                .iter()
                .filter(|x| {
                    x.metric == format!("grpc_{side}_handled_total")
                        && x.labels.get("grpc_method") == Some(m.2)
                })
                .map(|x| {
                    if let Value::Counter(v) = x.value {
                        v
                    } else {
                        0.0
                    }
                })
                .sum();
            assert_eq!(
                total_handled, n_started,
                "{ctx}: every started call handled once"
            );
            assert_eq!(value(&s, req_msgs, &l(m)), n_req, "{ctx} {req_msgs}");
            assert_eq!(value(&s, resp_msgs, &l(m)), n_resp, "{ctx} {resp_msgs}");
            assert_eq!(value(&s, &hist, &l(m)), n_started, "{ctx} {hist}");
        }
    }

    // Label hygiene: only the go-grpc-prometheus labels and type values.
    for x in s.samples.iter().filter(|x| x.metric.starts_with("grpc_")) {
        let t = x.labels.get("grpc_type").expect("grpc_type");
        assert!(
            ["unary", "client_stream", "server_stream", "bidi_stream"].contains(&t),
            "{t}"
        );
        assert!(x.labels.get("grpc_service").is_some() && x.labels.get("grpc_method").is_some());
    }
    // Everything finished: nothing in flight. The other series are there.
    assert_eq!(value(&s, "grpckit_server_in_flight_calls", &[]), 0.0);
    assert_eq!(value(&s, "grpckit_build_info", &[]), 1.0);
    assert!(value(&s, "grpckit_db_pool_connections", &[("pool", "main")]) >= 1.0);
    assert_eq!(
        value(&s, "grpckit_db_pool_max_connections", &[("pool", "main")]),
        10.0
    );
    assert!(value(&s, "process_resident_memory_bytes", &[]) > 0.0);
    assert!(value(&s, "process_open_fds", &[]) > 0.0);

    // The rejection API other middleware calls.
    grpckit::telemetry::metrics::auth_rejected("invalid_token");
    grpckit::telemetry::metrics::rate_limited("per_client");
    grpckit::telemetry::metrics::rate_limited("per_client");
    let s = scrape(&srv).await;
    assert_eq!(
        value(
            &s,
            "grpckit_auth_rejected_total",
            &[("reason", "invalid_token")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "grpckit_rate_limited_total",
            &[("reason", "per_client")]
        ),
        2.0
    );
    srv.stop().await?;
    Ok(())
}
