//! [`H2Guard`]: an IO wrapper around every accepted connection (plaintext or TLS) that
//! polices what h2 does not: inbound PINGs (`server.keep_alive.min_time`), floods of
//! control frames h2 answers or ignores without a bound (SETTINGS, PRIORITY;
//! `server.http2.max_control_frames_per_second`), and the deadline of the handshake
//! (`server.handshake_timeout`, slowloris).
//!
//! It reads the first bytes a client sends: the HTTP/2 connection preface
//! (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) switches it to frame mode; anything else is HTTP/1.1,
//! which passes through untouched (hyper's own header read timeout covers it). In frame
//! mode it parses the 9-byte header of every frame in both directions (length, type, flags,
//! stream id) and skips payloads by counting: no buffering, no allocation per frame, and the
//! clock is read for PINGs only (and once per `max_control_frames_per_second` control
//! frames).
//!
//! PINGs follow grpc-go's enforcement (`internal/transport/http2_server.go`, `handlePing`):
//! a non-ACK PING sooner than `min_time` after the previous one is a strike, the strikes
//! reset when the server sends HEADERS or DATA (a client's BDP pings follow the data it
//! receives), and more than 2 strikes end the connection. Ending means: a GOAWAY frame
//! (last stream id = the highest the client opened, `ENHANCE_YOUR_CALM`, debug data naming
//! the reason) is written at an outbound frame boundary, never inside a frame hyper is
//! writing, then flushed; the write side is shut down and reads return EOF, so hyper drops
//! the connection.

pub(crate) mod frame;
#[cfg(test)]
mod tests;

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll, ready},
    time::Duration,
};

use prometheus::IntCounterVec;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

use frame::{Cursor, END_HEADERS, FrameHeader, GoAway, PREFACE, Reason, kind};

/// Strikes a client may collect before GOAWAY (grpc-go's `maxPingStrikes`).
const MAX_PING_STRIKES: u8 = 2;

/// GOAWAYs sent by the guard, by reason; registered with the metrics registry on first use.
fn goaway_counter() -> &'static IntCounterVec {
    static C: OnceLock<IntCounterVec> = OnceLock::new();
    C.get_or_init(|| {
        let c = IntCounterVec::new(
            prometheus::Opts::new(
                "grpckit_http2_goaway_total",
                "HTTP/2 connections ended with GOAWAY ENHANCE_YOUR_CALM by the server's \
                 connection guard, by reason (too_many_pings, too_many_control_frames).",
            ),
            &["reason"],
        )
        .expect("static metric definition is valid");
        if let Err(e) = crate::telemetry::metrics::global()
            .registry()
            .register(Box::new(c.clone()))
        {
            tracing::warn!(error = %e, "metrics: cannot register grpckit_http2_goaway_total");
        }
        for reason in [Reason::TooManyPings, Reason::TooManyControlFrames] {
            let _ = c.with_label_values(&[reason.as_str()]);
        }
        c
    })
}

/// What the guard enforces, from `server:` (one per server, copied into every connection).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardConfig {
    /// `server.keep_alive.min_time`.
    pub(crate) ping_min_time: Duration,
    /// `server.http2.max_control_frames_per_second`; 0: no limit.
    pub(crate) max_control_frames_per_second: u32,
    /// `server.handshake_timeout`: a header block (HEADERS without END_HEADERS, then
    /// CONTINUATION frames) must be complete within it, else the connection is closed.
    pub(crate) header_block_timeout: Duration,
}

impl GuardConfig {
    /// Registers the GOAWAY counter so that it reads 0 on `/metrics` from the start.
    pub(crate) fn register_metrics() {
        let _ = goaway_counter();
    }
}

/// Which protocol the connection speaks, as far as the guard knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Still reading the preface: this many of its bytes matched so far.
    Detect(u8),
    /// HTTP/2: frames are parsed both ways.
    H2,
    /// HTTP/1.1 (or anything not HTTP/2): untouched.
    Passthrough,
    /// GOAWAY sent: reads return EOF, writes fail.
    Closed,
}

/// The policy state of one HTTP/2 connection: pure logic, fed with frame headers.
#[derive(Debug)]
pub(crate) struct Police {
    cfg: GuardConfig,
    last_ping: Option<Instant>,
    strikes: u8,
    /// The server sent HEADERS or DATA since the last PING.
    reset_strikes: bool,
    control_frames: u32,
    control_window: Instant,
    /// Highest stream id the client opened.
    last_stream_id: u32,
}

impl Police {
    pub(crate) fn new(cfg: GuardConfig) -> Self {
        Self {
            cfg,
            last_ping: None,
            strikes: 0,
            reset_strikes: false,
            control_frames: 0,
            control_window: Instant::now(),
            last_stream_id: 0,
        }
    }

    /// A frame header the client sent; `Some` when the connection must end.
    fn inbound(&mut self, h: FrameHeader) -> Option<Reason> {
        match h.kind {
            kind::HEADERS => {
                if h.stream_id & 1 == 1 && h.stream_id > self.last_stream_id {
                    self.last_stream_id = h.stream_id;
                }
                None
            }
            // PING ACKs answer the server's own PINGs (keep-alive, BDP): not counted.
            kind::PING if !h.is_ack() => self.ping(),
            kind::SETTINGS if !h.is_ack() => self.control_frame(),
            kind::PRIORITY => self.control_frame(),
            _ => None,
        }
    }

    /// A frame header the server writes.
    fn outbound(&mut self, h: FrameHeader) {
        if h.kind == kind::DATA || h.kind == kind::HEADERS {
            self.reset_strikes = true;
        }
    }

    fn ping(&mut self) -> Option<Reason> {
        let now = Instant::now();
        if std::mem::take(&mut self.reset_strikes) {
            self.strikes = 0;
            self.last_ping = Some(now);
            return None;
        }
        let last = self.last_ping.replace(now)?;
        if now.saturating_duration_since(last) < self.cfg.ping_min_time {
            self.strikes += 1;
            if self.strikes > MAX_PING_STRIKES {
                return Some(Reason::TooManyPings);
            }
        }
        None
    }

    /// Counts a control frame; the clock is read once per `max_control_frames_per_second`.
    fn control_frame(&mut self) -> Option<Reason> {
        let limit = self.cfg.max_control_frames_per_second;
        if limit == 0 {
            return None;
        }
        self.control_frames += 1;
        if self.control_frames < limit {
            return None;
        }
        let now = Instant::now();
        if now.saturating_duration_since(self.control_window) < Duration::from_secs(1) {
            return Some(Reason::TooManyControlFrames);
        }
        self.control_frames = 0;
        self.control_window = now;
        None
    }
}

/// Wraps a connection's IO (see the module doc).
#[derive(Debug)]
pub(crate) struct H2Guard<T> {
    inner: T,
    mode: Mode,
    police: Police,
    inbound: Cursor,
    outbound: Cursor,
    /// The handshake deadline, until the client's first HTTP/2 frame (its SETTINGS) is in
    /// or the connection turned out to be HTTP/1.1; later, while a header block is open,
    /// the time it has left to finish.
    deadline: Option<Pin<Box<Sleep>>>,
    handshake_done: bool,
    /// A HEADERS frame without END_HEADERS came and its last CONTINUATION did not yet.
    header_block: bool,
    /// The GOAWAY waiting for an outbound frame boundary, then being written (boxed: rare,
    /// and every connection's task carries this struct).
    goaway: Option<Box<GoAway>>,
    peer: Option<SocketAddr>,
}

impl<T> H2Guard<T> {
    /// Guards `inner`; the connection is closed unless its handshake is done by `deadline`.
    pub(crate) fn new(
        inner: T,
        cfg: GuardConfig,
        deadline: Instant,
        peer: Option<SocketAddr>,
    ) -> Self {
        Self {
            inner,
            mode: Mode::Detect(0),
            police: Police::new(cfg),
            inbound: Cursor::default(),
            outbound: Cursor::default(),
            deadline: Some(Box::pin(tokio::time::sleep_until(deadline))),
            handshake_done: false,
            header_block: false,
            goaway: None,
            peer,
        }
    }

    /// Feeds bytes the client sent (`buf`, just read) to the detector and the frame parser.
    fn on_read(&mut self, mut buf: &[u8]) {
        if let Mode::Detect(matched) = self.mode {
            let mut matched = usize::from(matched);
            let n = buf.len().min(PREFACE.len() - matched);
            if buf[..n] != PREFACE[matched..matched + n] {
                self.mode = Mode::Passthrough;
                self.deadline = None;
                return;
            }
            matched += n;
            buf = &buf[n..];
            if matched < PREFACE.len() {
                self.mode = Mode::Detect(matched as u8);
                return;
            }
            self.mode = Mode::H2;
        }
        if self.mode != Mode::H2 || self.goaway.is_some() {
            return;
        }
        let police = &mut self.police;
        let mut verdict = None;
        let mut block = self.header_block;
        self.inbound.feed(buf, |h| {
            if verdict.is_none() {
                verdict = police.inbound(h);
            }
            if h.kind == kind::HEADERS || h.kind == kind::CONTINUATION {
                block = h.flags & END_HEADERS == 0;
            }
        });
        if !self.handshake_done && self.inbound.frames_done() {
            self.handshake_done = true;
            self.deadline = None;
        }
        if block != self.header_block {
            self.header_block = block;
            // Read the clock only when a header block opens (rare: h2 clients send
            // CONTINUATION only for header lists larger than a frame).
            self.deadline = block.then(|| {
                let at = Instant::now() + self.police.cfg.header_block_timeout;
                Box::pin(tokio::time::sleep_until(at))
            });
        }
        if let Some(reason) = verdict {
            self.start_goaway(reason);
        }
    }

    fn on_write(&mut self, buf: &[u8]) {
        let police = &mut self.police;
        self.outbound.feed(buf, |h| police.outbound(h));
    }

    fn start_goaway(&mut self, reason: Reason) {
        tracing::debug!(
            peer = ?self.peer,
            reason = reason.as_str(),
            "HTTP/2 client misbehaves: GOAWAY ENHANCE_YOUR_CALM, connection closed"
        );
        goaway_counter().with_label_values(&[reason.as_str()]).inc();
        self.goaway = Some(Box::new(GoAway::new(self.police.last_stream_id, reason)));
    }
}

impl<T: AsyncWrite + Unpin> H2Guard<T> {
    /// Writes the pending GOAWAY when the outbound stream is at a frame boundary, flushes
    /// and shuts the write side down. `Ready(true)`: done, the connection is closed;
    /// `Ready(false)`: not at a boundary yet.
    fn poll_goaway(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let Some(goaway) = &mut self.goaway else {
            return Poll::Ready(Ok(false));
        };
        if !self.outbound.at_boundary() {
            return Poll::Ready(Ok(false));
        }
        while !goaway.remaining().is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, goaway.remaining()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            goaway.advance(n);
        }
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        // Best effort: the peer has the GOAWAY; the FIN tells it no more comes.
        let _ = ready!(Pin::new(&mut self.inner).poll_shutdown(cx));
        self.goaway = None;
        self.mode = Mode::Closed;
        Poll::Ready(Ok(true))
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "connection closed after GOAWAY ENHANCE_YOUR_CALM",
    )
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for H2Guard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.mode == Mode::Closed {
            return Poll::Ready(Ok(()));
        }
        if this.goaway.is_some() && ready!(this.poll_goaway(cx))? {
            return Poll::Ready(Ok(()));
        }
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            let what = if this.header_block {
                "header block"
            } else {
                "handshake"
            };
            tracing::debug!(
                peer = ?this.peer,
                "{what} not done within server.handshake_timeout: connection closed"
            );
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} not done within server.handshake_timeout"),
            )));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if this.mode != Mode::Passthrough {
            this.on_read(&buf.filled()[before..]);
            if this.goaway.is_some() {
                match this.poll_goaway(cx) {
                    // Not at an outbound boundary yet: hyper gets the bytes and finishes
                    // the frame it is writing; the GOAWAY follows it.
                    Poll::Ready(Ok(false)) => {}
                    // What was just read is dropped: the connection ends here.
                    Poll::Ready(Ok(true)) => buf.set_filled(before),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        buf.set_filled(before);
                        return Poll::Pending;
                    }
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for H2Guard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.mode {
            Mode::Closed => return Poll::Ready(Err(closed())),
            Mode::H2 => {}
            Mode::Detect(_) | Mode::Passthrough => {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            }
        }
        let mut buf = buf;
        if this.goaway.is_some() {
            if ready!(this.poll_goaway(cx))? {
                return Poll::Ready(Err(closed()));
            }
            // Not at a boundary: write no further than the end of the current frame.
            buf = &buf[..this.outbound.to_boundary(buf)];
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.on_write(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.mode, Mode::Detect(_) | Mode::Passthrough) {
            return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        }
        if this.mode != Mode::H2 || this.goaway.is_some() {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &**b);
            return Pin::new(this).poll_write(cx, first);
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        let mut left = n;
        for b in bufs {
            if left == 0 {
                break;
            }
            let take = left.min(b.len());
            this.on_write(&b[..take]);
            left -= take;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.mode == Mode::Closed
            || (this.mode == Mode::H2 && this.goaway.is_some() && ready!(this.poll_goaway(cx))?)
        {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.mode == Mode::Closed {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
