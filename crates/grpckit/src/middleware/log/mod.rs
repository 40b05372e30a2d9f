//! Request ids and the access log: one structured line per call (method, call kind, gRPC
//! code, duration, peer, principal, request id, message counts) under the target
//! `grpckit::access`. `x-request-id` is taken from the caller (when sane) or generated,
//! and returned in the response headers. Health checks log at `debug`.

mod layer;
mod line;

pub(crate) use line::AccessLine;

use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderValue};
pub use layer::LogLayer;

use crate::{
    config::{AccessLevel, AccessLogConfig},
    middleware::method::MethodPattern,
};

/// The request id, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// As text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("")
    }
}

/// The swappable part of the access log config.
#[derive(Debug, Clone)]
pub struct LogPolicy {
    /// Level of successful calls.
    pub level: AccessLevel,
    /// Methods logged at debug.
    pub quiet: Vec<MethodPattern>,
}

impl LogPolicy {
    /// From config.
    pub fn new(cfg: &AccessLogConfig) -> Self {
        Self {
            level: cfg.level,
            quiet: cfg
                .quiet_methods
                .iter()
                .map(|p| MethodPattern::new(p))
                .collect(),
        }
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);
static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// The caller's `x-request-id` when it is 1..=128 visible ASCII chars, else a new id.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(crate::headers::X_REQUEST_ID) {
        let b = v.as_bytes();
        if !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic()) {
            return v.clone();
        }
    }
    // `<8 hex digits, random per process>-<call counter in hex, no leading zeros>`: unique per
    // process and short, because it is sent back on every response and HPACK Huffman-codes
    // it byte by byte (a never-indexed header).
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u128() as u32);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let digits = (16 - n.leading_zeros() as usize / 4).max(1);
    let mut buf = [0u8; 25];
    write_hex(&mut buf[..8], u64::from(prefix));
    buf[8] = b'-';
    write_hex(&mut buf[9..9 + digits], n);
    HeaderValue::from_bytes(&buf[..9 + digits]).unwrap_or(HeaderValue::from_static("unknown"))
}

fn write_hex(out: &mut [u8], mut v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for slot in out.iter_mut().rev() {
        *slot = HEX[(v & 15) as usize];
        v >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_or_generates() {
        let mut h = HeaderMap::new();
        let a = request_id(&h);
        let b = request_id(&h);
        assert_ne!(a, b);
        for id in [&a, &b] {
            let (prefix, count) = id.to_str().unwrap().split_once('-').unwrap();
            assert_eq!(prefix.len(), 8);
            assert!(!count.is_empty() && count.len() <= 16);
            assert!(count.len() == 1 || !count.starts_with('0'), "{count}");
            assert!(
                id.as_bytes()
                    .iter()
                    .all(|c| c.is_ascii_hexdigit() || *c == b'-')
            );
        }
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("has space"));
        assert_ne!(request_id(&h), "has space");
    }
}
