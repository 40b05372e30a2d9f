//! Request ids and the access log: a structured line per logged call (method, call kind, gRPC
//! code, duration, peer, principal, request id, message counts) under the target
//! `grpckit::access`. `x-request-id` is taken from the caller (when sane) or generated,
//! and returned in the response headers.
//!
//! Which calls get an `info` line (see [`LogPolicy`]): every error, every call slower
//! than `slow_threshold` (`"slow": true`), and a sampled share (`success_sample`) of the
//! successful rest; the others log at `debug`, so every call can still be seen with
//! `--log-level debug` or `success_sample: 1.0`. Health checks log at `debug`.

mod line;

pub(crate) use line::AccessLine;

use std::{
    cell::Cell,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use http::{HeaderMap, HeaderValue};
use tonic::Code;

use crate::{
    config::{AccessLevel, AccessLogConfig, SampleRate},
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
    /// Level of sampled successful calls.
    pub level: AccessLevel,
    /// Share of successful calls logged at `level`.
    pub success_sample: SampleRate,
    /// Successful calls at least this long are logged at `info` (`None`: off).
    pub slow_threshold: Option<Duration>,
    /// Methods logged at debug.
    pub quiet: Vec<MethodPattern>,
}

/// How one finished call is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// At `info`; `slow` marks a successful call over the threshold.
    Info {
        /// Over the slow threshold.
        slow: bool,
    },
    /// At `debug`, when that level is on.
    Debug,
    /// No line.
    Skip,
}

impl LogPolicy {
    /// From config.
    pub fn new(cfg: &AccessLogConfig) -> Self {
        Self {
            level: cfg.level,
            success_sample: cfg.success_sample,
            slow_threshold: (!cfg.slow_threshold.is_zero()).then_some(cfg.slow_threshold),
            quiet: cfg.quiet_methods.clone(),
        }
    }

    /// The line of a call of `method` that ended with `code` after `elapsed`: errors and
    /// slow calls at `info`, a sampled share of the rest at `level`, the others at `debug`
    /// (quiet methods always at `debug`).
    pub(crate) fn verdict(&self, method: &str, code: Code, elapsed: Duration) -> Verdict {
        if MethodPattern::any_matches(&self.quiet, method) {
            return Verdict::Debug;
        }
        if code != Code::Ok {
            return Verdict::Info { slow: false };
        }
        if self.slow_threshold.is_some_and(|t| elapsed >= t) {
            return Verdict::Info { slow: true };
        }
        match self.level {
            AccessLevel::Info if self.sampled() => Verdict::Info { slow: false },
            AccessLevel::Off => Verdict::Skip,
            AccessLevel::Info | AccessLevel::Debug => Verdict::Debug,
        }
    }

    /// Systematic sampling per thread: each call adds the rate to the thread's share and is
    /// logged when the share reaches one (at `0.01`, the 100th, 200th, ... call of each
    /// thread). Exact over time, no random draw or shared counter, and predictable in tests.
    fn sampled(&self) -> bool {
        thread_local! {
            static SHARE: Cell<f64> = const { Cell::new(0.0) };
        }
        let rate = self.success_sample.get();
        SHARE.with(|share| {
            let v = share.get() + rate;
            let hit = v >= 1.0;
            share.set(if hit { v - 1.0 } else { v });
            hit
        })
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

    fn policy(f: impl FnOnce(&mut AccessLogConfig)) -> LogPolicy {
        let mut cfg = AccessLogConfig::default();
        f(&mut cfg);
        LogPolicy::new(&cfg)
    }

    #[test]
    fn errors_and_slow_calls_always_successes_sampled() {
        let fast = Duration::from_millis(1);
        let slow = Duration::from_secs(1);
        let m = "a.S/Get";
        let p = policy(|c| c.success_sample = SampleRate::NONE);
        assert_eq!(p.verdict(m, Code::Ok, fast), Verdict::Debug);
        assert_eq!(
            p.verdict(m, Code::NotFound, fast),
            Verdict::Info { slow: false }
        );
        assert_eq!(p.verdict(m, Code::Ok, slow), Verdict::Info { slow: true });
        let p = policy(|c| c.success_sample = SampleRate::ALL);
        assert_eq!(p.verdict(m, Code::Ok, fast), Verdict::Info { slow: false });
        // The default logs 1 in 100, and not the first.
        let p = policy(|_| {});
        assert_eq!(p.verdict(m, Code::Ok, fast), Verdict::Debug);
        let logged = (1..10_000)
            .filter(|_| p.verdict(m, Code::Ok, fast) != Verdict::Debug)
            .count();
        assert!((99..=100).contains(&logged), "{logged}");
        // Slow detection off, level off, quiet methods.
        let p = policy(|c| {
            c.slow_threshold = Duration::ZERO;
            c.level = AccessLevel::Off;
        });
        assert_eq!(p.verdict(m, Code::Ok, slow), Verdict::Skip);
        assert_eq!(
            p.verdict("grpc.health.v1.Health/Check", Code::Unavailable, slow),
            Verdict::Debug
        );
    }

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
