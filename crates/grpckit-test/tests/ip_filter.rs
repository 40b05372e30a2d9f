//! The IP filter on a real server: clients connect from chosen loopback source addresses
//! (`127.0.0.1`, `127.0.0.2`), so the server sees a different peer address for each.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use grpckit::{
    config::{MiddlewareConfig, ServerConfig},
    middleware::auth::AuthSecrets,
    server::ServerBuilder,
};
use grpckit_test::TestServer;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tonic::{
    Code, Request, Status,
    transport::{Channel, Endpoint, Uri},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_types::StatusExt;
use tower::service_fn;

const ALLOWED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const DENIED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The default stack (health is public) with `ip_filter` (YAML of `middleware.ip_filter`).
async fn server(ip_filter: &str) -> TestServer {
    let mw = MiddlewareConfig {
        ip_filter: serde_norway::from_str(ip_filter).expect("ip_filter yaml"),
        ..MiddlewareConfig::default()
    };
    mw.validate().expect("valid middleware config");
    let builder = ServerBuilder::new(ServerConfig::default())
        .middleware(&mw, &AuthSecrets::default())
        .expect("stack");
    TestServer::start(builder).await.expect("start")
}

/// A health client whose connections come from `source` (port chosen by the system).
async fn health_from(server: &TestServer, source: Ipv4Addr) -> HealthClient<Channel> {
    let target = server.addr();
    let channel = Endpoint::from_shared(server.url())
        .expect("url")
        .connect_with_connector(service_fn(move |_: Uri| async move {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
            let stream = socket.connect(target).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }))
        .await
        .expect("connect");
    HealthClient::new(channel)
}

fn check() -> Request<HealthCheckRequest> {
    Request::new(HealthCheckRequest::default())
}

/// `check()` with `X-Forwarded-For: value`.
fn forwarded(value: &str) -> Request<HealthCheckRequest> {
    let mut req = check();
    req.metadata_mut()
        .insert("x-forwarded-for", value.parse().expect("metadata value"));
    req
}

fn assert_ip_denied(status: &Status) {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("IP_DENIED", "grpckit")
    );
}

/// The value of `grpckit_ip_rejected_total{reason}` in the process's metrics.
fn rejected(reason: &str) -> f64 {
    let text = grpckit::telemetry::metrics::global().render();
    let series = format!("grpckit_ip_rejected_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

#[tokio::test]
async fn a_denied_source_address_gets_permission_denied_and_an_allowed_one_passes() {
    let srv = server("{deny: [127.0.0.2]}").await;
    let before = rejected("denied");

    let denied = health_from(&srv, DENIED)
        .await
        .check(check())
        .await
        .expect_err("127.0.0.2 is denied");
    assert_ip_denied(&denied);
    assert!(rejected("denied") > before, "the rejection is counted");

    let ok = health_from(&srv, ALLOWED)
        .await
        .check(check())
        .await
        .expect("127.0.0.1 passes");
    assert_eq!(ok.into_inner().status, 1, "SERVING");
    srv.stop().await.expect("stop");
}

#[tokio::test]
async fn an_allow_list_refuses_every_other_address() {
    let srv = server("{allow: [127.0.0.1]}").await;
    let denied = health_from(&srv, DENIED)
        .await
        .check(check())
        .await
        .expect_err("127.0.0.2 is not in the allow list");
    assert_ip_denied(&denied);
    health_from(&srv, ALLOWED)
        .await
        .check(check())
        .await
        .expect("127.0.0.1 is in the allow list");
    srv.stop().await.expect("stop");
}

#[tokio::test]
async fn a_rule_denies_one_method_only() {
    let srv =
        server("{rules: [{methods: \"grpc.health.v1.Health/Watch\", deny: [127.0.0.0/8]}]}").await;
    let mut health = health_from(&srv, ALLOWED).await;
    health
        .check(check())
        .await
        .expect("Check is not covered by the rule");
    // Watch is server-streaming: the refusal ends the call before any message.
    let watch = health
        .watch(HealthCheckRequest::default())
        .await
        .expect_err("Watch is denied");
    assert_ip_denied(&watch);
    srv.stop().await.expect("stop");
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let srv = server("{deny: [127.0.0.2, 192.0.2.0/24], trusted_proxies: [127.0.0.1]}").await;
    let mut proxy = health_from(&srv, ALLOWED).await;
    proxy
        .check(check())
        .await
        .expect("the proxy's own call (no header) is its own address");
    proxy
        .check(forwarded("198.51.100.7"))
        .await
        .expect("an allowed client behind the proxy");
    assert_ip_denied(
        &proxy
            .check(forwarded("127.0.0.2"))
            .await
            .expect_err("a denied client behind the proxy"),
    );
    // The client's own claim left of the proxy's entry is not believed.
    assert_ip_denied(
        &proxy
            .check(forwarded("198.51.100.7, 192.0.2.9"))
            .await
            .expect_err("the proxy saw 192.0.2.9"),
    );
    // From an untrusted peer the header is ignored: a denied client cannot hide behind it.
    assert_ip_denied(
        &health_from(&srv, DENIED)
            .await
            .check(forwarded("198.51.100.7"))
            .await
            .expect_err("127.0.0.2 is not a trusted proxy"),
    );
    srv.stop().await.expect("stop");
}
