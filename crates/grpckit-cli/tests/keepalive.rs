//! `server.keep_alive`: with `probe: http2` an idle connection gets HTTP/2 PINGs and is closed
//! when one goes unanswered; with the default `probe: tcp` no PING frames are sent (the
//! kernel probes instead; the socket options are unit-tested next to the accept loop).

use std::time::Duration;

use grpckit::config::{KeepAliveProbe, ServerKeepAlive};
use grpckit_app_test::TestServer;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout},
};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const ACK: u8 = 1;

/// One frame's type and flags, or `None` at end of stream.
async fn read_frame(s: &mut TcpStream) -> std::io::Result<Option<(u8, u8)>> {
    let mut head = [0u8; 9];
    if let Err(e) = s.read_exact(&mut head).await {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => Ok(None),
            _ => Err(e),
        };
    }
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await?;
    Ok(Some((head[3], head[4])))
}

/// Opens an HTTP/2 connection by hand (preface, empty SETTINGS, SETTINGS ACK to the server's).
async fn connect(srv: &TestServer) -> TcpStream {
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(PREFACE).await.unwrap();
    s.write_all(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    s.write_all(&[0, 0, 0, SETTINGS, ACK, 0, 0, 0, 0])
        .await
        .unwrap();
    s
}

/// Frames (type, flags) read until `until` passes or the server closes; `true` if it closed.
async fn frames_until(s: &mut TcpStream, until: Instant) -> (Vec<(u8, u8)>, bool) {
    let mut seen = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match timeout(left, read_frame(s)).await {
            Err(_) => return (seen, false),
            Ok(Ok(Some(f))) => seen.push(f),
            Ok(Ok(None)) | Ok(Err(_)) => return (seen, true),
        }
    }
}

#[tokio::test]
async fn http2_probe_pings_an_idle_connection_and_closes_it_when_unanswered() {
    let srv = TestServer::start_open_with(|c| {
        c.server.keep_alive.probe = KeepAliveProbe::Http2;
        c.server.keep_alive.time = Duration::from_secs(1);
        c.server.keep_alive.timeout = Duration::from_secs(1);
    })
    .await
    .unwrap();
    let mut s = connect(&srv).await;
    // Never answer: a PING must come, then the connection must be closed.
    let (seen, closed) = frames_until(&mut s, Instant::now() + Duration::from_secs(10)).await;
    assert!(
        seen.contains(&(PING, 0)),
        "no PING on an idle connection: {seen:?}"
    );
    assert!(
        closed,
        "an unanswered PING did not close the connection: {seen:?}"
    );
    let ping_at = seen.iter().position(|f| *f == (PING, 0)).unwrap();
    assert!(
        seen[ping_at..]
            .iter()
            .all(|(t, _)| [PING, GOAWAY].contains(t)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn tcp_probe_sends_no_http2_pings() {
    let srv = TestServer::start_open_with(|c| {
        c.server.keep_alive.time = Duration::from_secs(1);
        c.server.keep_alive.timeout = Duration::from_secs(1);
    })
    .await
    .unwrap();
    assert_eq!(ServerKeepAlive::default().probe, KeepAliveProbe::Tcp);
    let mut s = connect(&srv).await;
    let (seen, closed) = frames_until(&mut s, Instant::now() + Duration::from_secs(3)).await;
    assert!(!seen.iter().any(|(t, _)| *t == PING), "{seen:?}");
    assert!(!closed, "an idle, healthy connection was closed: {seen:?}");
}
