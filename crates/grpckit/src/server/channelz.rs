//! The gRPC port's open connections, for `GET /debug/connections` on the admin port
//! (`server.debug`), in the spirit of gRPC's channelz: each connection's peer, protocol,
//! age, streams started and bytes read and written (after TLS).
//!
//! Off unless `server.debug.enabled`: then every accepted connection registers an entry
//! (removed when the connection ends), its IO is counted by [`Counted`] and its service
//! counts the streams. Off, a connection carries `None` and pays one branch per read,
//! write and request.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    task::{Context, Poll, ready},
    time::{Instant, SystemTime},
};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The process's registry (every `thread_per_core` thread registers here).
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// The open connections.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    next_id: AtomicU64,
    open: Mutex<Vec<Arc<Entry>>>,
}

impl Registry {
    /// Registers a connection; it is listed until the returned [`Registered`] drops.
    pub(crate) fn register(
        &'static self,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
        tls: bool,
    ) -> Registered {
        let entry = Arc::new(Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            peer,
            local,
            tls,
            opened: Instant::now(),
            opened_at: SystemTime::now(),
            protocol: AtomicU8::new(PROTO_UNKNOWN),
            streams: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
        });
        self.lock().push(entry.clone());
        Registered {
            registry: self,
            entry,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Entry>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open connections, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<ConnectionView> {
        let now = Instant::now();
        self.lock().iter().map(|e| e.view(now)).collect()
    }
}

/// A registered connection; dropping it removes the entry.
#[derive(Debug)]
pub(crate) struct Registered {
    registry: &'static Registry,
    entry: Arc<Entry>,
}

impl Registered {
    /// The entry the connection's IO and service count into.
    pub(crate) fn entry(&self) -> Arc<Entry> {
        self.entry.clone()
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry
            .lock()
            .retain(|e| !Arc::ptr_eq(e, &self.entry));
    }
}

const PROTO_UNKNOWN: u8 = 0;
const PROTO_H1: u8 = 1;
const PROTO_H2: u8 = 2;

/// One connection's counters.
#[derive(Debug)]
pub(crate) struct Entry {
    id: u64,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    tls: bool,
    opened: Instant,
    opened_at: SystemTime,
    protocol: AtomicU8,
    streams: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

impl Entry {
    /// A request (HTTP/2 stream or HTTP/1.1 request) started on the connection.
    pub(crate) fn on_request(&self, version: http::Version) {
        let proto = if version == http::Version::HTTP_2 {
            PROTO_H2
        } else {
            PROTO_H1
        };
        self.protocol.store(proto, Ordering::Relaxed);
        self.streams.fetch_add(1, Ordering::Relaxed);
    }

    fn view(&self, now: Instant) -> ConnectionView {
        let protocol = match self.protocol.load(Ordering::Relaxed) {
            PROTO_H2 => "h2",
            PROTO_H1 => "http/1.1",
            _ => "unknown",
        };
        ConnectionView {
            id: self.id,
            peer: self.peer.map(|a| a.to_string()),
            local: self.local.map(|a| a.to_string()),
            protocol,
            tls: self.tls,
            opened_at: humantime::format_rfc3339_seconds(self.opened_at).to_string(),
            age_seconds: now.duration_since(self.opened).as_secs_f64(),
            streams_started: self.streams.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }
}

/// A connection as `GET /debug/connections` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConnectionView {
    /// Its number, in accept order (per process).
    pub id: u64,
    /// The client's address (from the PROXY protocol header behind a trusted proxy).
    pub peer: Option<String>,
    /// The server's address.
    pub local: Option<String>,
    /// `h2`, `http/1.1`, or `unknown` before its first request.
    pub protocol: &'static str,
    /// Whether TLS protects it.
    pub tls: bool,
    /// When it was accepted (RFC 3339).
    pub opened_at: String,
    /// Seconds since it was accepted.
    pub age_seconds: f64,
    /// Requests (HTTP/2 streams) started on it.
    pub streams_started: u64,
    /// Bytes read from the client (after TLS).
    pub bytes_read: u64,
    /// Bytes written to the client (before TLS).
    pub bytes_written: u64,
}

pin_project_lite::pin_project! {
    /// A connection's IO, counting the bytes into its entry when it has one.
    #[derive(Debug)]
    pub(crate) struct Counted<T> {
        #[pin]
        inner: T,
        entry: Option<Arc<Entry>>,
    }
}

impl<T> Counted<T> {
    pub(crate) fn new(inner: T, entry: Option<Arc<Entry>>) -> Self {
        Self { inner, entry }
    }
}

impl<T: AsyncRead> AsyncRead for Counted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        ready!(this.inner.poll_read(cx, buf))?;
        if let Some(e) = this.entry {
            let n = (buf.filled().len() - before) as u64;
            e.bytes_read.fetch_add(n, Ordering::Relaxed);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> AsyncWrite for Counted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let n = ready!(this.inner.poll_write(cx, buf))?;
        if let Some(e) = this.entry {
            e.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let n = ready!(this.inner.poll_write_vectored(cx, bufs))?;
        if let Some(e) = this.entry {
            e.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn entries_count_bytes_and_streams_and_leave_when_dropped() {
        let reg: &'static Registry = Box::leak(Box::default());
        let peer = Some(SocketAddr::from(([127, 0, 0, 1], 5000)));
        let conn = reg.register(peer, None, false);
        let (a, mut b) = tokio::io::duplex(64);
        let mut io = Counted::new(a, Some(conn.entry()));
        io.write_all(b"hello").await.unwrap();
        b.write_all(b"hi").await.unwrap();
        let mut got = [0u8; 2];
        io.read_exact(&mut got).await.unwrap();
        conn.entry().on_request(http::Version::HTTP_2);
        let list = reg.snapshot();
        assert_eq!(list.len(), 1);
        let v = &list[0];
        assert_eq!(
            (v.bytes_written, v.bytes_read, v.streams_started),
            (5, 2, 1)
        );
        assert_eq!(
            (v.protocol, v.peer.as_deref()),
            ("h2", Some("127.0.0.1:5000"))
        );
        drop(conn);
        assert!(reg.snapshot().is_empty());
    }
}
