//! The PROXY protocol (HAProxy's v1 text and v2 binary headers) from trusted load balancers
//! (`server.proxy_protocol.trusted_proxies`): a connection from such a peer must start with a
//! header, and the client address it names becomes the connection's remote address for
//! everything after (access log, IP filter, rate limits, `Request::remote_addr()`). Headers
//! are parsed by the `ppp` crate. Connections from other peers are never read for a header.

use std::net::SocketAddr;

use ppp::{HeaderResult, PartialResult, v1, v2};
use tokio::io::{AsyncRead, AsyncReadExt};

/// A v2 header with its TLVs may be long; anything past this is refused.
const MAX_HEADER: usize = 4096;

/// Why a connection from a trusted proxy was closed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyHeaderError {
    /// The connection closed, or an IO error, before the header was complete.
    #[error("connection closed before its PROXY protocol header")]
    Closed,
    /// The bytes are not a PROXY protocol header.
    #[error("invalid PROXY protocol header: {0}")]
    Invalid(String),
}

/// The header's client address (`None` for `LOCAL` / `UNKNOWN` headers: the proxy's own
/// connection, e.g. its health checks; the peer address stays) and the bytes read after it.
pub(crate) async fn read_header<IO: AsyncRead + Unpin>(
    io: &mut IO,
) -> Result<(Option<SocketAddr>, Vec<u8>), ProxyHeaderError> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    loop {
        let n = io
            .read(&mut chunk)
            .await
            .map_err(|_| ProxyHeaderError::Closed)?;
        if n == 0 {
            return Err(ProxyHeaderError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(done) = parse(&buf)? {
            return Ok(done);
        }
        if buf.len() > MAX_HEADER {
            return Err(ProxyHeaderError::Invalid("header too long".into()));
        }
    }
}

/// `Ok(None)` while the header is incomplete.
#[allow(clippy::type_complexity)]
fn parse(buf: &[u8]) -> Result<Option<(Option<SocketAddr>, Vec<u8>)>, ProxyHeaderError> {
    let header = HeaderResult::parse(buf);
    if header.is_incomplete() {
        return Ok(None);
    }
    let (len, addr) = match header {
        HeaderResult::V1(Ok(h)) => {
            let addr = match h.addresses {
                v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
                v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
                v1::Addresses::Unknown => None,
            };
            (h.header.len(), addr)
        }
        HeaderResult::V2(Ok(h)) => {
            let addr = match (h.command, h.addresses) {
                (v2::Command::Proxy, v2::Addresses::IPv4(a)) => {
                    Some(SocketAddr::from((a.source_address, a.source_port)))
                }
                (v2::Command::Proxy, v2::Addresses::IPv6(a)) => {
                    Some(SocketAddr::from((a.source_address, a.source_port)))
                }
                _ => None,
            };
            (h.len(), addr)
        }
        HeaderResult::V1(Err(e)) => return Err(ProxyHeaderError::Invalid(e.to_string())),
        HeaderResult::V2(Err(e)) => return Err(ProxyHeaderError::Invalid(e.to_string())),
    };
    Ok(Some((addr, buf[len..].to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_names_the_client_and_keeps_what_follows() {
        let input = b"PROXY TCP4 203.0.113.7 10.0.0.1 51234 9090\r\nPRI * HTTP/2.0";
        let (addr, rest) = parse(input).unwrap().unwrap();
        assert_eq!(addr, Some("203.0.113.7:51234".parse().unwrap()));
        assert_eq!(rest, b"PRI * HTTP/2.0");
        let v6 = b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 9090\r\n";
        let (addr, rest) = parse(v6).unwrap().unwrap();
        assert_eq!(addr, Some("[2001:db8::7]:4000".parse().unwrap()));
        assert!(rest.is_empty());
        let (addr, _) = parse(b"PROXY UNKNOWN\r\n").unwrap().unwrap();
        assert_eq!(addr, None);
    }

    #[test]
    fn v2_proxy_and_local_commands() {
        let src: SocketAddr = "198.51.100.9:6000".parse().unwrap();
        let dst: SocketAddr = "10.0.0.1:9090".parse().unwrap();
        let mut header = v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Stream,
            (src, dst),
        )
        .build()
        .unwrap();
        header.extend_from_slice(b"rest");
        let (addr, rest) = parse(&header).unwrap().unwrap();
        assert_eq!(addr, Some(src));
        assert_eq!(rest, b"rest");
        let local = v2::Builder::new(
            v2::Version::Two | v2::Command::Local,
            v2::AddressFamily::Unspecified | v2::Protocol::Unspecified,
        )
        .build()
        .unwrap();
        assert_eq!(parse(&local).unwrap().unwrap().0, None);
    }

    #[test]
    fn partial_headers_wait_and_garbage_is_refused() {
        assert!(parse(b"PROXY TCP4 203.0.").unwrap().is_none());
        assert!(parse(b"\r\n\r\n\0\r\nQUIT").unwrap().is_none());
        assert!(parse(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").is_err());
        assert!(parse(b"GET / HTTP/1.1\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn reads_a_header_split_across_writes() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { read_header(&mut server).await });
        use tokio::io::AsyncWriteExt;
        client.write_all(b"PROXY TCP4 203.0.113.7 ").await.unwrap();
        tokio::task::yield_now().await;
        client.write_all(b"10.0.0.1 5 9090\r\nxyz").await.unwrap();
        let (addr, rest) = task.await.unwrap().unwrap();
        assert_eq!(addr, Some("203.0.113.7:5".parse().unwrap()));
        assert_eq!(rest, b"xyz");
        drop(client);
    }
}
