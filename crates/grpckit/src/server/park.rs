//! Parking idle HTTP/2 connections: a connection that has sent only the client preface and
//! its SETTINGS costs a few hundred bytes until it sends anything else, instead of the
//! ~12 KiB of a live hyper/h2 connection (h2's 8 KiB read and 16 KiB write buffers, its
//! stream store and HPACK state).
//!
//! How: [`park`] reads the preface and the client's first SETTINGS frame itself, answers with
//! hyper's own first SETTINGS frame (learnt once per server by [`learn_server_settings`], so
//! the bytes are exactly what hyper would send) and a SETTINGS ACK, absorbs the client's ACK,
//! then waits for the socket to become readable. When the client sends anything else (a
//! request, a PING, ...) the connection is handed to hyper through [`Replay`], which replays
//! every byte read so far and drops, from what hyper writes, the two frames the client has
//! already received (hyper's first SETTINGS and its first SETTINGS ACK). A client that sends
//! more than a bare preface + SETTINGS in its first flight (gRPC clients usually add a
//! WINDOW_UPDATE or a request) is handed over at once, with nothing written or dropped.
//! Connections that do not start with the HTTP/2 preface (HTTP/1.1) are handed over at once.
//!
//! The preface and the first SETTINGS frame must arrive within `server.handshake_timeout`
//! (a slowloris connection that never finishes them is closed). A parked connection is closed
//! with GOAWAY(NO_ERROR) when the server drains or the connection reaches its maximum age.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::h2_guard::frame::{ACK, FrameHeader, HEADER_LEN as FRAME_HEADER, PREFACE, kind};

/// A SETTINGS frame with the ACK flag (empty payload, stream 0).
const SETTINGS_ACK: [u8; FRAME_HEADER] = [0, 0, 0, kind::SETTINGS, ACK, 0, 0, 0, 0];
/// A first SETTINGS frame larger than this (more than 42 settings) is not parked.
const MAX_PARKED_SETTINGS: usize = 256;

/// hyper's first frame on a new HTTP/2 connection (its SETTINGS), as bytes.
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings(Bytes);

/// Runs `http` on an in-memory connection once and keeps the first frame it writes (its
/// SETTINGS frame). `None` (parking then stays off) when hyper does not answer as expected.
pub(crate) async fn learn_server_settings(
    http: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
) -> Option<ServerSettings> {
    use http_body_util::Empty;
    use hyper::{Response, service::service_fn};
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let svc = service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(Response::new(Empty::<Bytes>::new()))
    });
    let conn = http.serve_connection(hyper_util::rt::TokioIo::new(server), svc);
    let learn = async move {
        client.write_all(PREFACE).await.ok()?;
        client
            .write_all(&[0, 0, 0, kind::SETTINGS, 0, 0, 0, 0, 0])
            .await
            .ok()?;
        let mut head = [0u8; FRAME_HEADER];
        client.read_exact(&mut head).await.ok()?;
        let h = FrameHeader::parse(&head);
        if !first_settings(&h) {
            return None;
        }
        let len = h.len as usize;
        let mut frame = head.to_vec();
        frame.resize(FRAME_HEADER + len, 0);
        client.read_exact(&mut frame[FRAME_HEADER..]).await.ok()?;
        Some(ServerSettings(Bytes::from(frame)))
    };
    tokio::select! {
        res = tokio::time::timeout(Duration::from_secs(5), learn) => res.ok().flatten(),
        _ = conn => None,
    }
}

/// Why a connection ends while parked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParkEnd {
    /// The peer closed, or an IO error.
    Closed,
    /// The preface or the first SETTINGS frame did not arrive within the handshake timeout.
    TimedOut,
}

/// Reads the start of a connection and parks it while it only holds the HTTP/2 handshake
/// (see the module doc). Returns the connection for hyper once it has more to say, or how
/// it ended. `close` resolves when the server drains or the connection reached its age:
/// a parked connection then gets GOAWAY(NO_ERROR) and is closed.
pub(crate) async fn park<IO>(
    mut io: IO,
    settings: &ServerSettings,
    handshake_timeout: Duration,
    close: impl std::future::Future<Output = ()>,
) -> Result<Replay<IO>, ParkEnd>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut seen = Vec::with_capacity(PREFACE.len() + FRAME_HEADER + 36);
    let start = tokio::time::timeout(handshake_timeout, read_start(&mut io, &mut seen)).await;
    match start {
        Err(_) => return Err(ParkEnd::TimedOut),
        Ok(Err(_)) => return Err(ParkEnd::Closed),
        Ok(Ok(false)) => return Ok(Replay::new(io, seen, false)),
        Ok(Ok(true)) => {}
    }
    // Exactly the preface and a SETTINGS frame: answer them the way hyper would, and wait.
    let mut answer = Vec::with_capacity(settings.0.len() + FRAME_HEADER);
    answer.extend_from_slice(&settings.0);
    answer.extend_from_slice(&SETTINGS_ACK);
    if io.write_all(&answer).await.is_err() || io.flush().await.is_err() {
        return Err(ParkEnd::Closed);
    }
    drop(answer);
    seen.shrink_to_fit();
    tokio::pin!(close);
    // Bytes after the absorbed ones; handed over as soon as they are not just an ACK.
    let mut absorbed = seen.len();
    let mut chunk = [0u8; 64];
    loop {
        let n = tokio::select! {
            read = io.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return Err(ParkEnd::Closed),
                Ok(n) => n,
            },
            () = &mut close => {
                let _ = io.write_all(&goaway_no_error()).await;
                let _ = io.shutdown().await;
                return Err(ParkEnd::Closed);
            }
        };
        seen.extend_from_slice(&chunk[..n]);
        let fresh = &seen[absorbed..];
        if fresh.len() < FRAME_HEADER && SETTINGS_ACK.starts_with(fresh) {
            continue;
        }
        if fresh.starts_with(&SETTINGS_ACK) && fresh.len() == FRAME_HEADER {
            absorbed = seen.len();
            continue;
        }
        return Ok(Replay::new(io, seen, true));
    }
}

/// Reads the preface and the first frame into `seen`. `true` when they are exactly the
/// preface and one SETTINGS frame (parkable); `false` when the connection is not HTTP/2 with
/// prior knowledge or the client already sent more (hand it over now).
async fn read_start<IO: AsyncRead + Unpin>(io: &mut IO, seen: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 128];
    loop {
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        seen.extend_from_slice(&chunk[..n]);
        let head = seen.len().min(PREFACE.len());
        if seen[..head] != PREFACE[..head] {
            return Ok(false);
        }
        let rest = &seen[head..];
        if rest.len() < FRAME_HEADER {
            continue;
        }
        let mut head = [0u8; FRAME_HEADER];
        head.copy_from_slice(&rest[..FRAME_HEADER]);
        let h = FrameHeader::parse(&head);
        if !first_settings(&h) {
            return Ok(false);
        }
        let whole = FRAME_HEADER + h.len as usize;
        if rest.len() < whole {
            continue;
        }
        return Ok(rest.len() == whole);
    }
}

/// A client's (or hyper's) first SETTINGS frame, small enough to park.
fn first_settings(h: &FrameHeader) -> bool {
    h.kind == kind::SETTINGS
        && !h.is_ack()
        && h.stream_id == 0
        && h.len as usize <= MAX_PARKED_SETTINGS
}

/// GOAWAY(last stream 0, NO_ERROR): no stream was ever processed on a parked connection.
fn goaway_no_error() -> [u8; FRAME_HEADER + 8] {
    let mut f = [0u8; FRAME_HEADER + 8];
    f[2] = 8;
    f[3] = kind::GOAWAY;
    f
}

/// A connection handed to hyper: reads replay the bytes read while parked, then the socket;
/// writes drop hyper's first SETTINGS frame and first SETTINGS ACK when the parked
/// connection already sent its own (the client must not see them twice).
#[derive(Debug)]
pub(crate) struct Replay<IO> {
    io: IO,
    replay: Vec<u8>,
    pos: usize,
    drop: Option<Box<DropFrames>>,
}

impl<IO> Replay<IO> {
    /// The connection with `prefix` (bytes already read from it) to replay first.
    pub(crate) fn with_prefix(io: IO, prefix: Vec<u8>) -> Self {
        Self::new(io, prefix, false)
    }

    fn new(io: IO, replay: Vec<u8>, answered: bool) -> Self {
        Self {
            io,
            replay,
            pos: 0,
            drop: answered.then(|| Box::new(DropFrames::default())),
        }
    }
}

/// Tracks hyper's outgoing frames until the two already-sent ones have been dropped.
#[derive(Debug, Default)]
struct DropFrames {
    settings_dropped: bool,
    ack_dropped: bool,
    /// A frame header being collected (hyper wrote fewer than 9 bytes of it so far).
    head: [u8; FRAME_HEADER],
    head_len: usize,
    /// Bytes of the current frame still to skip (dropped frame) or to pass (kept frame).
    skip: usize,
    pass: usize,
    /// Header bytes of a kept frame, consumed from hyper but not yet written to the socket.
    owed: usize,
    owed_from: usize,
}

impl DropFrames {
    fn done(&self) -> bool {
        self.settings_dropped && self.ack_dropped && self.skip == 0 && self.owed == 0
    }
}

impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected for Replay<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Replay<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.replay.len() {
            let n = buf.remaining().min(this.replay.len() - this.pos);
            buf.put_slice(&this.replay[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.replay.len() {
                this.replay = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> Replay<IO> {
    /// Writes the owed header bytes of a kept frame.
    fn poll_owed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(d) = self.drop.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        while d.owed > 0 {
            let from = d.owed_from;
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &d.head[from..from + d.owed]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            d.owed -= n;
            d.owed_from += n;
        }
        Poll::Ready(Ok(()))
    }

    /// `poll_write` while frames may still be dropped: consumes `buf` frame by frame.
    fn poll_write_dropping(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_owed(cx))?;
        let mut used = 0;
        while let Some(d) = self.drop.as_mut() {
            if d.done() {
                self.drop = None;
                break;
            }
            let rest = &buf[used..];
            if rest.is_empty() {
                return Poll::Ready(Ok(used));
            }
            if d.skip > 0 {
                let n = d.skip.min(rest.len());
                d.skip -= n;
                used += n;
                continue;
            }
            if d.pass > 0 {
                let n = d.pass.min(rest.len());
                return match Pin::new(&mut self.io).poll_write(cx, &rest[..n]) {
                    Poll::Ready(Ok(w)) => {
                        d.pass -= w;
                        Poll::Ready(Ok(used + w))
                    }
                    Poll::Ready(Err(e)) if used == 0 => Poll::Ready(Err(e)),
                    Poll::Pending if used == 0 => Poll::Pending,
                    _ => Poll::Ready(Ok(used)),
                };
            }
            // At a frame boundary: collect the header.
            let n = (FRAME_HEADER - d.head_len).min(rest.len());
            d.head[d.head_len..d.head_len + n].copy_from_slice(&rest[..n]);
            d.head_len += n;
            used += n;
            if d.head_len < FRAME_HEADER {
                return Poll::Ready(Ok(used));
            }
            d.head_len = 0;
            let h = FrameHeader::parse(&d.head);
            let len = h.len as usize;
            if h.kind == kind::SETTINGS && !h.is_ack() && !d.settings_dropped {
                d.settings_dropped = true;
                d.skip = len;
            } else if h.kind == kind::SETTINGS && h.is_ack() && !d.ack_dropped {
                d.ack_dropped = true;
                d.skip = len;
            } else {
                d.pass = len;
                d.owed = FRAME_HEADER;
                d.owed_from = 0;
                // The header goes out before anything else of this frame.
                if let Poll::Ready(Err(e)) = self.poll_owed(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(used));
            }
        }
        let rest = &buf[used..];
        if used == 0 {
            return Pin::new(&mut self.io).poll_write(cx, rest);
        }
        Poll::Ready(Ok(used))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Replay<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.drop.is_none() {
            return Pin::new(&mut self.io).poll_write(cx, buf);
        }
        self.poll_write_dropping(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.drop.is_none() {
            return Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        }
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.poll_write_dropping(cx, first)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_owed(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_owed(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
