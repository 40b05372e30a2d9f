//! Accepting connections: sets TCP_NODELAY (and TCP keep-alive when configured) and survives
//! transient accept errors (EMFILE etc.).

use std::{net::SocketAddr, time::Duration};

use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpStream};

use crate::config::{KeepAliveProbe, ServerKeepAlive};

/// The TCP keep-alive for `server.keep_alive` (`None` when idle connections are probed
/// with HTTP/2 PINGs instead): probe after `time` idle, every `timeout`, give up after one.
pub(crate) fn tcp_keepalive(cfg: &ServerKeepAlive) -> Option<TcpKeepalive> {
    (cfg.probe == KeepAliveProbe::Tcp).then(|| {
        TcpKeepalive::new()
            .with_time(cfg.time)
            .with_interval(cfg.timeout)
            .with_retries(1)
    })
}

/// Sets TCP_NODELAY and, when configured, TCP keep-alive on an accepted socket.
pub(crate) fn prepare_socket(stream: &TcpStream, keepalive: Option<&TcpKeepalive>) {
    let _ = stream.set_nodelay(true);
    if let Some(ka) = keepalive
        && let Err(e) = SockRef::from(stream).set_tcp_keepalive(ka)
    {
        tracing::debug!(error = %e, "TCP keep-alive not set");
    }
}

/// The next connection of `listener`, prepared ([`prepare_socket`]); transient accept
/// errors (out of file descriptors, a connection reset before accept) are logged and
/// retried after 50 ms, so the server keeps serving the connections it has.
pub(crate) async fn accept(
    listener: &TcpListener,
    keepalive: Option<&TcpKeepalive>,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                prepare_socket(&stream, keepalive);
                return (stream, remote);
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_get_the_configured_tcp_keepalive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cfg = ServerKeepAlive {
            time: Duration::from_secs(42),
            timeout: Duration::from_secs(7),
            ..ServerKeepAlive::default()
        };
        let _client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = accept(&listener, tcp_keepalive(&cfg).as_ref()).await;
        let sock = SockRef::from(&server);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(42));
        assert_eq!(
            sock.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(7)
        );
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), 1);
        assert!(server.nodelay().unwrap());
    }

    #[tokio::test]
    async fn http2_probing_leaves_tcp_keepalive_off() {
        let cfg = ServerKeepAlive {
            probe: KeepAliveProbe::Http2,
            ..ServerKeepAlive::default()
        };
        assert!(tcp_keepalive(&cfg).is_none());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = accept(&listener, tcp_keepalive(&cfg).as_ref()).await;
        assert!(!SockRef::from(&server).keepalive().unwrap());
    }
}
