//! `server.proxy_protocol` on a real server: a trusted load balancer (the client connecting
//! from 127.0.0.1) sends a PROXY protocol header (v1 or v2) and the address it names is the
//! client the IP filter judges; from an untrusted peer (127.0.0.2) a header is not believed;
//! a trusted peer that sends no header is cut off.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use grpckit::{
    config::{MiddlewareConfig, ServerConfig},
    middleware::auth::AuthSecrets,
    server::ServerBuilder,
};
use grpckit_test::TestServer;
use hyper_util::rt::TokioIo;
use tokio::{io::AsyncWriteExt, net::TcpSocket};
use tonic::{
    Code, Request,
    transport::{Endpoint, Uri},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tower::service_fn;

const PROXY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Health is public; 203.0.113.0/24 is denied; 127.0.0.1 sends PROXY headers.
async fn server() -> TestServer {
    let mw = MiddlewareConfig {
        ip_filter: serde_norway::from_str("deny: [203.0.113.0/24]").expect("yaml"),
        ..MiddlewareConfig::default()
    };
    let cfg = ServerConfig {
        proxy_protocol: serde_norway::from_str("trusted_proxies: [127.0.0.1/32]")
            .expect("proxy_protocol yaml"),
        ..ServerConfig::default()
    };
    let builder = ServerBuilder::new(cfg)
        .middleware(&mw, &AuthSecrets::default())
        .expect("stack");
    TestServer::start(builder).await.expect("start")
}

/// A health check over a connection from `source` that first writes `header`.
async fn check(
    server: &TestServer,
    source: Ipv4Addr,
    header: Vec<u8>,
) -> Result<(), tonic::Status> {
    let target = server.addr();
    let channel = Endpoint::from_shared(server.url())
        .expect("url")
        .timeout(Duration::from_secs(5))
        .connect_with_connector(service_fn(move |_: Uri| {
            let header = header.clone();
            async move {
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
                let mut stream = socket.connect(target).await?;
                stream.write_all(&header).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    HealthClient::new(channel)
        .check(Request::new(HealthCheckRequest::default()))
        .await
        .map(|_| ())
}

fn v1(client: &str) -> Vec<u8> {
    format!("PROXY TCP4 {client} 127.0.0.1 40000 9090\r\n").into_bytes()
}

fn v2(client: &str) -> Vec<u8> {
    let src: SocketAddr = format!("{client}:40000").parse().expect("addr");
    let dst: SocketAddr = "127.0.0.1:9090".parse().expect("addr");
    ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (src, dst),
    )
    .build()
    .expect("v2 header")
}

#[tokio::test]
async fn the_client_a_trusted_proxy_names_is_the_one_the_ip_filter_judges() {
    let server = server().await;
    for header in [v1("198.51.100.7"), v2("198.51.100.7")] {
        check(&server, PROXY, header)
            .await
            .expect("allowed client passes");
    }
    for header in [v1("203.0.113.9"), v2("203.0.113.9")] {
        let status = check(&server, PROXY, header)
            .await
            .expect_err("denied client");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    // LOCAL (the balancer's own health check): the proxy's address stays, and passes.
    let local = ppp::v2::Builder::new(
        ppp::v2::Version::Two | ppp::v2::Command::Local,
        ppp::v2::AddressFamily::Unspecified | ppp::v2::Protocol::Unspecified,
    )
    .build()
    .expect("local header");
    check(&server, PROXY, local).await.expect("LOCAL passes");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn headers_from_untrusted_peers_are_not_believed_and_trusted_peers_must_send_one() {
    let server = server().await;
    // From 127.0.0.2 the header is just bytes before the HTTP/2 preface: no call succeeds,
    // and certainly not as 198.51.100.7.
    let err = check(&server, OTHER, v1("198.51.100.7"))
        .await
        .expect_err("not believed");
    assert_ne!(err.code(), Code::Ok);
    // Without a header the untrusted peer is served as itself.
    check(&server, OTHER, Vec::new())
        .await
        .expect("plain connection from 127.0.0.2");
    // The trusted proxy without a header: its preface is not a PROXY header, closed.
    let err = check(&server, PROXY, Vec::new())
        .await
        .expect_err("header required");
    assert!(
        matches!(err.code(), Code::Unavailable | Code::Unknown),
        "a connection error: {err:?}"
    );
    server.stop().await.expect("stop");
}
