//! HTTP/2 frame headers (RFC 9113 §4.1) as a byte stream passes: [`Cursor`] finds each
//! 9-byte header and skips the payload by counting; [`GoAway`] is the one frame the guard
//! writes itself. The preface, frame kinds and [`FrameHeader`] also serve `server::park`.

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types the guard and the parking look at (RFC 9113 §6).
pub(crate) mod kind {
    pub(crate) const DATA: u8 = 0x0;
    pub(crate) const HEADERS: u8 = 0x1;
    pub(crate) const PRIORITY: u8 = 0x2;
    pub(crate) const SETTINGS: u8 = 0x4;
    pub(crate) const PING: u8 = 0x6;
    pub(crate) const GOAWAY: u8 = 0x7;
    pub(crate) const CONTINUATION: u8 = 0x9;
}

/// The END_HEADERS flag of HEADERS and CONTINUATION.
pub(super) const END_HEADERS: u8 = 0x4;

/// The ACK flag of SETTINGS and PING.
pub(crate) const ACK: u8 = 0x1;
/// `ENHANCE_YOUR_CALM` (RFC 9113 §7).
pub(super) const ENHANCE_YOUR_CALM: u32 = 0xb;
pub(crate) const HEADER_LEN: usize = 9;

/// One frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) len: u32,
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) stream_id: u32,
}

impl FrameHeader {
    pub(crate) fn parse(b: &[u8; HEADER_LEN]) -> Self {
        Self {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream_id: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }

    pub(crate) fn is_ack(&self) -> bool {
        self.flags & ACK != 0
    }
}

/// Where a byte stream of frames is: inside a header (`have` of its 9 bytes seen) or
/// inside a payload (`skip` bytes to go).
#[derive(Debug, Default)]
pub(super) struct Cursor {
    header: [u8; HEADER_LEN],
    have: u8,
    skip: u32,
    /// At least one whole frame went by.
    done_one: bool,
}

impl Cursor {
    /// Moves over `buf`, calling `on_header` for each frame header completed in it.
    pub(super) fn feed(&mut self, mut buf: &[u8], mut on_header: impl FnMut(FrameHeader)) {
        while !buf.is_empty() {
            if self.skip > 0 {
                let n = buf.len().min(self.skip as usize);
                self.skip -= n as u32;
                buf = &buf[n..];
                self.done_one |= self.skip == 0;
                continue;
            }
            let have = usize::from(self.have);
            let n = buf.len().min(HEADER_LEN - have);
            self.header[have..have + n].copy_from_slice(&buf[..n]);
            buf = &buf[n..];
            if have + n < HEADER_LEN {
                self.have = (have + n) as u8;
                return;
            }
            self.have = 0;
            let h = FrameHeader::parse(&self.header);
            self.skip = h.len;
            self.done_one |= h.len == 0;
            on_header(h);
        }
    }

    /// Between two frames.
    pub(super) fn at_boundary(&self) -> bool {
        self.have == 0 && self.skip == 0
    }

    /// Whether a whole frame (header and payload) went by.
    pub(super) fn frames_done(&self) -> bool {
        self.done_one
    }

    /// How many bytes of `buf`, the next bytes of the stream, finish the current frame
    /// (all of `buf` when it does not).
    pub(super) fn to_boundary(&self, buf: &[u8]) -> usize {
        if self.skip > 0 {
            return buf.len().min(self.skip as usize);
        }
        let have = usize::from(self.have);
        let missing = HEADER_LEN - have;
        if have == 0 || buf.len() < missing {
            // At a boundary (nothing to finish) or the header does not complete in `buf`.
            return if have == 0 { 0 } else { buf.len() };
        }
        let mut header = self.header;
        header[have..].copy_from_slice(&buf[..missing]);
        let len = FrameHeader::parse(&header).len as usize;
        buf.len().min(missing + len)
    }
}

/// Why the guard ends a connection; the GOAWAY's debug data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    /// PINGs faster than `server.keep_alive.min_time`.
    TooManyPings,
    /// More than `server.http2.max_control_frames_per_second`.
    TooManyControlFrames,
}

impl Reason {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Reason::TooManyPings => "too_many_pings",
            Reason::TooManyControlFrames => "too_many_control_frames",
        }
    }
}

/// The largest GOAWAY the guard writes: header, last stream id, error code, debug data.
const GOAWAY_MAX: usize = HEADER_LEN + 8 + 23;

/// A GOAWAY frame being written.
#[derive(Debug)]
pub(super) struct GoAway {
    bytes: [u8; GOAWAY_MAX],
    len: usize,
    pos: usize,
}

impl GoAway {
    pub(super) fn new(last_stream_id: u32, reason: Reason) -> Self {
        let debug = reason.as_str().as_bytes();
        let payload = 8 + debug.len();
        let mut bytes = [0u8; GOAWAY_MAX];
        bytes[..3].copy_from_slice(&(payload as u32).to_be_bytes()[1..]);
        bytes[3] = kind::GOAWAY;
        // flags 0, stream 0
        bytes[9..13].copy_from_slice(&(last_stream_id & 0x7fff_ffff).to_be_bytes());
        bytes[13..17].copy_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
        bytes[17..17 + debug.len()].copy_from_slice(debug);
        Self {
            bytes,
            len: HEADER_LEN + payload,
            pos: 0,
        }
    }

    pub(super) fn remaining(&self) -> &[u8] {
        &self.bytes[self.pos..self.len]
    }

    pub(super) fn advance(&mut self, n: usize) {
        self.pos += n;
    }
}
