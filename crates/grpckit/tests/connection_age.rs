//! `server.max_connection_age`: a connection older than it gets GOAWAY and is closed (a raw
//! HTTP/2 client sees its connection end); without it a connection stays open.
//! `server.max_connections`: one connection beyond the cap is closed as soon as accepted.

use std::time::{Duration, Instant};

use grpckit::{
    config::ServerConfig,
    server::{ServerBuilder, Shutdown},
};
use tokio::net::{TcpListener, TcpStream};

/// Serves `cfg` and opens one idle HTTP/2 connection to it; returns how long the
/// connection lived (`None`: still open after `wait`).
async fn connection_lifetime(cfg: ServerConfig, wait: Duration) -> Option<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(ServerBuilder::new(cfg).serve(listener, shutdown.clone()));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let (_client, conn) = h2::client::handshake(tcp).await.unwrap();
    let lived = tokio::time::timeout(wait, conn)
        .await
        .ok()
        .map(|_| started.elapsed());
    shutdown.trigger();
    server.await.unwrap().unwrap();
    lived
}

#[tokio::test]
async fn a_connection_past_its_age_gets_goaway_and_is_closed() {
    let aged = ServerConfig {
        max_connection_age: Some(Duration::from_millis(300)),
        max_connection_age_grace: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let lived = connection_lifetime(aged, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(lived >= Duration::from_millis(250), "{lived:?}");

    let ageless = ServerConfig {
        shutdown_grace: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    assert_eq!(
        connection_lifetime(ageless, Duration::from_secs(1)).await,
        None,
        "without max_connection_age the connection stays"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed() {
    use tokio::io::AsyncReadExt;
    let cfg = ServerConfig {
        max_connections: 1,
        shutdown_grace: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(ServerBuilder::new(cfg).serve(listener, shutdown.clone()));
    let first = TcpStream::connect(addr).await.unwrap();
    let (_client, conn) = h2::client::handshake(first).await.unwrap();
    let first_conn = tokio::spawn(conn);
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("the second connection is closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without a word");
    assert!(!first_conn.is_finished(), "the first connection is served");
    shutdown.trigger();
    server.await.unwrap().unwrap();
}
