//! Distributed tracing across two processes: UserService and OrderService run as separate
//! `grpckit server` processes (split mode) exporting over OTLP/gRPC to a receiver started
//! in this test. One CreateOrder (carrying the test's own `traceparent`) must produce
//! order server span -> client span (GetUser) -> user server span, all in one trace.

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use grpckit_services::proto::{
    order::v1::{CreateOrderRequest, OrderItem, order_service_client::OrderServiceClient},
    user::v1::{CreateUserRequest, user_service_client::UserServiceClient},
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value,
    trace::v1::{Span, span::SpanKind},
};
use tokio::process::{Child, Command};
use tonic::{Request, Response, Status};

/// (service.name, span)
type Received = Arc<Mutex<Vec<(String, Span)>>>;

#[derive(Clone)]
struct Collector(Received);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut got = self.0.lock().expect("lock");
        for rs in req.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    got.push((service.clone(), span));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn spawn(dir: &std::path::Path, name: &str, otlp: SocketAddr, args: &[&str]) -> Child {
    let cfg = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &cfg,
        format!(
            "telemetry:\n  tracing:\n    enabled: true\n    endpoint: http://{otlp}\n    sample_ratio: 1.0\n    service_name: {name}\n    batch_delay: 100ms\nlogistics:\n  enabled: false\nmiddleware:\n  log:\n    success_sample: 1.0\n"
        ),
    )
    .expect("write config");
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .arg("server")
        .arg("--config")
        .arg(&cfg)
        .args([
            "--no-auth",
            "--metrics-listen",
            "127.0.0.1:0",
            "--database-url",
        ])
        .arg(format!(
            "sqlite://{}",
            dir.join(format!("{name}.db")).display()
        ))
        .args(args)
        // Split mode needs a shared token secret.
        .env("GRPCKIT_JWT_SECRET", "otlp-split-secret-otlp-split-secret")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn grpckit")
}

async fn wait_listening(addr: &str) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{addr} never listened");
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_order_is_one_trace_across_two_processes() -> anyhow::Result<()> {
    let received: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let otlp = listener.local_addr()?;
    let collector = TraceServiceServer::new(Collector(received.clone()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(collector)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir()?;
    let (user_port, order_port) = (free_port(), free_port());
    let user_addr = format!("127.0.0.1:{user_port}");
    let order_addr = format!("127.0.0.1:{order_port}");
    let _user = spawn(
        dir.path(),
        "user-svc",
        otlp,
        &["--services", "user", "--listen", &user_addr],
    );
    let _order = spawn(
        dir.path(),
        "order-svc",
        otlp,
        &[
            "--services",
            "order",
            "--listen",
            &order_addr,
            "--user-service",
            &format!("http://{user_addr}"),
        ],
    );
    wait_listening(&user_addr).await;
    wait_listening(&order_addr).await;

    let mut users = UserServiceClient::connect(format!("http://{user_addr}")).await?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let user = users
        .create_user(CreateUserRequest {
            name: "Trace Me".into(),
            email: format!("trace-{tag}@example.com"),
            password: "password-123".into(),
        })
        .await?
        .into_inner()
        .user
        .expect("user");

    // The test is the root: its traceparent must be continued by the order server.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let root_span = "00f067aa0ba902b7";
    let mut orders = OrderServiceClient::connect(format!("http://{order_addr}")).await?;
    let mut req = Request::new(CreateOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        items: vec![OrderItem {
            sku: "SKU-TRACE".into(),
            quantity: 1,
            unit_price_minor: 100,
        }],
        currency: "USD".into(),
    });
    req.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{root_span}-01").parse()?,
    );
    req.metadata_mut().insert("baggage", "tenant=acme".parse()?);
    orders.create_order(req).await?;

    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let find = |got: &[(String, Span)], svc: &str, name: &str, kind: SpanKind| {
        got.iter()
            .find(|(s, sp)| {
                s == svc
                    && sp.name == name
                    && sp.kind == kind as i32
                    && hex(&sp.trace_id) == trace_id
            })
            .map(|(_, sp)| sp.clone())
    };
    let mut spans = None;
    for _ in 0..200 {
        {
            let got = received.lock().expect("lock");
            let o = find(
                &got,
                "order-svc",
                "order.v1.OrderService/CreateOrder",
                SpanKind::Server,
            );
            let c = find(
                &got,
                "order-svc",
                "user.v1.UserService/GetUser",
                SpanKind::Client,
            );
            let u = find(
                &got,
                "user-svc",
                "user.v1.UserService/GetUser",
                SpanKind::Server,
            );
            if let (Some(o), Some(c), Some(u)) = (o, c, u) {
                spans = Some((o, c, u));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some((order_srv, client, user_srv)) = spans else {
        let got = received.lock().expect("lock");
        let names: Vec<_> = got
            .iter()
            .map(|(s, sp)| format!("{s}:{}:{}:{}", sp.name, sp.kind, hex(&sp.trace_id)))
            .collect();
        let log = std::fs::read_to_string(dir.path().join("order-svc.log")).unwrap_or_default();
        panic!("spans missing; received {names:#?}\norder log:\n{log}");
    };
    // Log lines inside the call carry its ids: the access line of CreateOrder in particular.
    let ids_of = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .or_else(|| v.get("span").and_then(|s| s.get(key)))
            .and_then(|x| x.as_str())
            .map(str::to_owned)
    };
    let mut access = None;
    for _ in 0..50 {
        let log = std::fs::read_to_string(dir.path().join("order-svc.log")).unwrap_or_default();
        access = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["method"] == "order.v1.OrderService/CreateOrder" && v["message"] == "call");
        if access.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let access = access.expect("an access log line for CreateOrder");
    assert_eq!(
        ids_of(&access, "trace_id").as_deref(),
        Some(trace_id),
        "{access}"
    );
    assert_eq!(
        ids_of(&access, "span_id"),
        Some(hex(&order_srv.span_id)),
        "{access}"
    );
    assert_eq!(
        hex(&order_srv.parent_span_id),
        root_span,
        "order server span continues the caller's trace"
    );
    assert_eq!(
        client.parent_span_id, order_srv.span_id,
        "client span is a child of the order server span"
    );
    assert_eq!(
        user_srv.parent_span_id, client.span_id,
        "user server span is a child of the client span"
    );
    for sp in [&order_srv, &client, &user_srv] {
        assert_eq!(
            attr(sp, "rpc.system"),
            Some(&any_value::Value::StringValue("grpc".into())),
            "{}",
            sp.name
        );
        assert_eq!(
            attr(sp, "rpc.grpc.status_code"),
            Some(&any_value::Value::IntValue(0)),
            "{}",
            sp.name
        );
    }
    assert_eq!(
        attr(&user_srv, "rpc.method"),
        Some(&any_value::Value::StringValue("GetUser".into()))
    );
    assert_eq!(
        attr(&order_srv, "rpc.service"),
        Some(&any_value::Value::StringValue(
            "order.v1.OrderService".into()
        ))
    );
    Ok(())
}

/// The value of an unlabelled counter in Prometheus text.
fn counter(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_down_is_logged_once_counted_and_its_recovery_logged() -> anyhow::Result<()> {
    use grpckit_services::proto::user::v1::ListUsersRequest;

    // Nothing listens on the collector's port until later in the test.
    let otlp: SocketAddr = format!("127.0.0.1:{}", free_port()).parse()?;
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("c.yaml");
    std::fs::write(
        &cfg,
        format!(
            "telemetry:\n  tracing:\n    enabled: true\n    endpoint: http://{otlp}\n    sample_ratio: 1.0\n    batch_delay: 100ms\n    export_timeout: 2s\nlogistics:\n  enabled: false\n"
        ),
    )?;
    let p = grpckit_app_test::ServerProcess::spawn(
        env!("CARGO_BIN_EXE_grpckit").as_ref(),
        &["--config", cfg.to_str().expect("utf-8 path"), "--no-auth"],
        &[],
        dir.path(),
    )?;
    let mut users = UserServiceClient::connect(p.url()).await?;
    let mut lines = Vec::new();
    let mut dropped = 0.0;
    for _ in 0..100 {
        users.list_users(ListUsersRequest::default()).await?;
        lines.extend(p.logs.try_iter());
        let metrics = grpckit_app_test::http_get(p.admin_addr, "/metrics").await?;
        dropped = counter(&metrics, "grpckit_otlp_spans_dropped_total").unwrap_or(0.0);
        if dropped > 0.0 && lines.iter().any(|l| l.contains("OTLP span export failing")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        dropped > 0.0,
        "spans lost to the dead collector are counted"
    );
    let failing = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("OTLP span export failing"))
            .count()
    };
    assert_eq!(failing(&lines), 1, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("OTLP span export failing") && l.contains(&otlp.to_string())),
        "the warning names the endpoint: {lines:#?}"
    );

    // The collector comes up on that port: one "recovered" line, and no new warning.
    let received: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind(otlp).await?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(received.clone())))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut recovered = false;
    for _ in 0..150 {
        users.list_users(ListUsersRequest::default()).await?;
        lines.extend(p.logs.try_iter());
        if lines
            .iter()
            .any(|l| l.contains("OTLP span export recovered"))
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "{lines:#?}");
    assert_eq!(failing(&lines), 1, "{lines:#?}");
    assert!(
        !received.lock().expect("lock").is_empty(),
        "spans arrive again"
    );
    Ok(())
}

/// Sends one HTTP/1.1 request and returns the status line.
async fn http1(addr: &str, head: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{head}\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browsers_traceparent_continues_over_rest_connect_and_grpc_web() -> anyhow::Result<()> {
    let received: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let otlp = listener.local_addr()?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(received.clone())))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let dir = tempfile::tempdir()?;
    let addr = format!("127.0.0.1:{}", free_port());
    let _srv = spawn(dir.path(), "web-svc", otlp, &["--listen", &addr]);
    wait_listening(&addr).await;

    let tag = uuid::Uuid::new_v4().simple().to_string();
    let body = |p: &str| {
        format!(r#"{{"name":"Browser","email":"{p}-{tag}@example.com","password":"password-123"}}"#)
    };
    // (protocol, trace id, parent span id, status line)
    let mut calls = Vec::new();
    let cases: [(&str, &str, &str); 3] = [
        ("rest", "POST /v1/users HTTP/1.1", "application/json"),
        (
            "connect",
            "POST /user.v1.UserService/CreateUser HTTP/1.1",
            "application/json",
        ),
        (
            "grpc_web",
            "POST /user.v1.UserService/CreateUser HTTP/1.1",
            "application/grpc-web+json",
        ),
    ];
    for (i, (protocol, line, ct)) in cases.into_iter().enumerate() {
        let trace_id = format!("4bf92f3577b34da6a3ce929d0e0e47{i:02x}");
        let parent = format!("00f067aa0ba902{i:02x}");
        let mut payload = body(protocol).into_bytes();
        if protocol == "grpc_web" {
            let mut framed = vec![0];
            framed.extend_from_slice(&u32::try_from(payload.len())?.to_be_bytes());
            framed.extend_from_slice(&payload);
            payload = framed;
        }
        let head = format!(
            "{line}\r\ncontent-type: {ct}\r\ntraceparent: 00-{trace_id}-{parent}-01\r\norigin: http://app.example"
        );
        let status = http1(&addr, &head, &payload).await;
        calls.push((protocol, trace_id, parent, status));
    }
    for (protocol, trace_id, parent, status) in &calls {
        assert!(status.contains(" 200 "), "{protocol}: {status}");
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut found = None;
        for _ in 0..200 {
            found = received
                .lock()
                .expect("lock")
                .iter()
                .find(|(_, sp)| {
                    sp.name == "user.v1.UserService/CreateUser"
                        && sp.kind == SpanKind::Server as i32
                        && hex(&sp.trace_id) == *trace_id
                })
                .map(|(_, sp)| sp.clone());
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let span =
            found.unwrap_or_else(|| panic!("{protocol}: no server span in trace {trace_id}"));
        assert_eq!(
            hex(&span.parent_span_id),
            *parent,
            "{protocol}: the server span is the browser span's child"
        );
    }
    Ok(())
}
