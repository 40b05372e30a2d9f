//! The access line written straight into the log batch, for the JSON format installed by
//! [`crate::telemetry::init`]: the same fields and layout as the `tracing` event it replaces,
//! about a fifth of the cost (no visitor, no per-field allocation). With any other subscriber
//! (a library user's own, a test's) the access line stays a `tracing` event.

use std::{
    cell::RefCell,
    io::Write,
    net::SocketAddr,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::middleware::auth::Principal;

/// One access line's fields.
pub(crate) struct AccessLine<'a> {
    /// `INFO` when true, `DEBUG` otherwise.
    pub(crate) info: bool,
    /// A successful call over the slow threshold (`"slow":true`).
    pub(crate) slow: bool,
    /// When the call ended (the line's timestamp).
    pub(crate) at: Instant,
    pub(crate) method: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) code: &'a str,
    pub(crate) duration_us: u64,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) principal: Option<&'a Principal>,
    pub(crate) request_id: &'a str,
    pub(crate) msgs_in: Option<u32>,
    pub(crate) msgs_out: u32,
}

fn raw(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

fn string(out: &mut Vec<u8>, s: &str) {
    // Plain text (generated request ids, most callers' ids) is copied as is; anything
    // else gets serde_json's escaping, so the line stays valid JSON whatever a caller put
    // in a header.
    if s.bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        raw(out, s);
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

impl AccessLine<'_> {
    /// Writes the line: straight into the log batch under grpckit's JSON logging, as a
    /// `tracing` event under any other subscriber.
    pub(crate) fn emit(&self) {
        if crate::telemetry::logging::json_lines() {
            self.write();
            return;
        }
        macro_rules! event {
            ($lvl:expr) => {
                tracing::event!(
                    target: "grpckit::access",
                    $lvl,
                    method = self.method,
                    kind = self.kind,
                    code = self.code,
                    duration_us = self.duration_us,
                    peer = self.peer.map(tracing::field::display),
                    principal = self.principal.map(Principal::subject),
                    request_id = self.request_id,
                    msgs_in = self.msgs_in,
                    msgs_out = self.msgs_out,
                    slow = self.slow.then_some(true),
                    "call"
                )
            };
        }
        if self.info {
            event!(tracing::Level::INFO);
        } else {
            event!(tracing::Level::DEBUG);
        }
    }

    /// Formats the line and hands it to the log writer.
    fn write(&self) {
        thread_local! {
            static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
        }
        BUF.with_borrow_mut(|out| {
            out.clear();
            self.format(out);
            crate::telemetry::logging::write_line(out);
        });
    }

    fn format(&self, out: &mut Vec<u8>) {
        // Written without `core::fmt` (it was most of the line's cost): a cached timestamp
        // prefix, `itoa` for numbers, and JSON escaping only for text a caller controls.
        out.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(out, crate::clock::wall_time(self.at));
        let level: &[u8] = if self.info {
            b"\",\"level\":\"INFO\",\"method\":"
        } else {
            b"\",\"level\":\"DEBUG\",\"method\":"
        };
        out.extend_from_slice(level);
        // Method names come from the service descriptors: identifiers and dots only.
        raw(out, self.method);
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(self.kind.as_bytes());
        out.extend_from_slice(b"\",\"code\":\"");
        out.extend_from_slice(self.code.as_bytes());
        out.extend_from_slice(b"\",\"duration_us\":");
        int(out, self.duration_us);
        if let Some(p) = self.peer {
            out.extend_from_slice(b",\"peer\":\"");
            peer(out, p);
            out.push(b'"');
        }
        if let Some(p) = self.principal {
            out.extend_from_slice(b",\"principal\":");
            out.extend_from_slice(p.subject_json().as_bytes());
        }
        out.extend_from_slice(b",\"request_id\":");
        string(out, self.request_id);
        if let Some(n) = self.msgs_in {
            out.extend_from_slice(b",\"msgs_in\":");
            int(out, n);
        }
        out.extend_from_slice(b",\"msgs_out\":");
        int(out, self.msgs_out);
        if self.slow {
            out.extend_from_slice(b",\"slow\":true");
        }
        if crate::telemetry::otel::enabled() {
            let cx = tracing::Span::current().context();
            let span = opentelemetry::trace::TraceContextExt::span(&cx);
            let sc = span.span_context();
            if sc.is_valid() {
                let _ = write!(
                    out,
                    ",\"trace_id\":\"{}\",\"span_id\":\"{}\"",
                    sc.trace_id(),
                    sc.span_id()
                );
            }
        }
        out.extend_from_slice(b",\"message\":\"call\",\"target\":\"grpckit::access\"}\n");
    }
}

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `a.b.c.d:port` / `[v6]:port`.
fn peer(out: &mut Vec<u8>, p: SocketAddr) {
    match p {
        SocketAddr::V4(a) => {
            for (i, o) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                int(out, o);
            }
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "[{}]", p.ip());
        }
    }
    out.push(b':');
    int(out, p.port());
}

/// RFC 3339 UTC with microseconds, as `humantime` writes it; the part up to the seconds
/// is formatted once per second per thread.
fn timestamp(out: &mut Vec<u8>, now: SystemTime) {
    thread_local! {
        static PREFIX: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
    }
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    PREFIX.with_borrow_mut(|(at, prefix)| {
        if *at != secs {
            prefix.clear();
            let whole = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let _ = write!(prefix, "{}", humantime::format_rfc3339_seconds(whole));
            prefix.pop(); // the trailing 'Z'
            *at = secs;
        }
        out.extend_from_slice(prefix);
    });
    let micros = since.subsec_micros();
    out.push(b'.');
    let mut digits = [b'0'; 6];
    let mut m = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (m % 10) as u8;
        m /= 10;
    }
    out.extend_from_slice(&digits);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::auth::AuthMethod;

    #[test]
    fn is_one_json_object_per_line_with_escaped_input() {
        let line = AccessLine {
            info: true,
            slow: true,
            at: Instant::now(),
            method: "user.v1.UserService/GetUser",
            kind: "unary",
            code: "OK",
            duration_us: 42,
            peer: Some("127.0.0.1:5000".parse().unwrap()),
            principal: Some(&Principal::new("u\"1", vec![], AuthMethod::Jwt)),
            request_id: "a\"b\\c",
            msgs_in: None,
            msgs_out: 1,
        };
        let mut out = Vec::new();
        line.format(&mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["request_id"], "a\"b\\c");
        assert_eq!(v["principal"], "u\"1");
        assert_eq!(v["method"], "user.v1.UserService/GetUser");
        assert_eq!(v["duration_us"], 42);
        assert_eq!(v["peer"], "127.0.0.1:5000");
        assert_eq!(v["message"], "call");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(v.get("msgs_in").is_none());
        assert_eq!(v["slow"], true);
    }

    #[test]
    fn timestamp_and_peer_match_the_std_formatting() {
        for t in [
            0u64,
            1,
            999_999,
            1_764_115_265_123_456,
            1_764_115_265_000_007,
        ] {
            let at = UNIX_EPOCH + std::time::Duration::from_micros(t);
            let mut out = Vec::new();
            timestamp(&mut out, at);
            timestamp(&mut out, at); // second call uses the cached prefix
            let one = humantime::format_rfc3339_micros(at).to_string();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{one}{one}"));
        }
        for p in ["10.0.255.7:9090", "[::1]:443", "[2001:db8::5]:1"] {
            let mut out = Vec::new();
            peer(&mut out, p.parse().unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), p);
        }
        let mut out = Vec::new();
        string(&mut out, "plain-id.1");
        string(&mut out, "sp ace");
        assert_eq!(String::from_utf8(out).unwrap(), r#""plain-id.1""sp ace""#);
    }
}
