//! The gRPC headers the framework reads and writes: names as constants (`HeaderMap::get("name")`
//! parses and classifies the name each time, a `HeaderName` does not) and the one reader or
//! writer of each value (`grpc-status`, `grpc-message`, `grpc-timeout`), used by the server
//! stack, the tracing layer, the client and the CLI alike.

use std::time::Duration;

use http::{HeaderMap, HeaderName};
use tonic::Code;

/// `grpc-status`.
pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`.
pub const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// `grpc-timeout`.
pub const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
/// `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `x-api-key`.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
/// `x-forwarded-for` (read only from trusted proxies: `middleware::ip_filter`).
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The final code in `grpc-status` (trailers, or the headers of a trailers-only response);
/// `None` when the header is absent. A value that is not a known code's number is
/// `UNKNOWN`, as in grpc-go and tonic.
#[inline]
pub fn grpc_status(h: &HeaderMap) -> Option<Code> {
    h.get(GRPC_STATUS).map(|v| Code::from_bytes(v.as_bytes()))
}

/// The percent-decoded `grpc-message`, if present (bytes that are not UTF-8 after decoding
/// are replaced, never an error).
pub fn grpc_message(h: &HeaderMap) -> Option<String> {
    let raw = h.get(GRPC_MESSAGE)?.as_bytes();
    Some(
        percent_encoding::percent_decode(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Parses a `grpc-timeout` value: 1 to 8 ASCII digits and a unit `H|M|S|m|u|n`; anything
/// else is `None` (the call then has no caller deadline).
pub fn parse_grpc_timeout(v: &[u8]) -> Option<Duration> {
    let (&unit, digits) = v.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The `grpc-timeout` of a request's headers ([`parse_grpc_timeout`]).
pub fn grpc_timeout(h: &HeaderMap) -> Option<Duration> {
    h.get(GRPC_TIMEOUT)
        .and_then(|v| parse_grpc_timeout(v.as_bytes()))
}

/// Formats a `grpc-timeout` value: at most 8 digits, as the spec requires, in the finest
/// unit that fits (microseconds up to 100 s, then milliseconds, then seconds); never `0`.
pub fn format_grpc_timeout(d: Duration) -> String {
    let us = d.as_micros();
    if us < 100_000_000 {
        return format!("{}u", us.max(1));
    }
    let ms = d.as_millis();
    if ms < 100_000_000 {
        return format!("{ms}m");
    }
    format!("{}S", d.as_secs().min(99_999_999))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, http::HeaderValue::from_static(value));
        h
    }

    #[test]
    fn parses_grpc_timeout() {
        assert_eq!(
            parse_grpc_timeout(b"100m"),
            Some(Duration::from_millis(100))
        );
        assert_eq!(parse_grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout(b"3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout(b"7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout(b"5n"), Some(Duration::from_nanos(5)));
        assert_eq!(
            parse_grpc_timeout(b"99999999H"),
            Some(Duration::from_secs(99_999_999 * 3600))
        );
        for bad in [
            &b"123456789S"[..],
            b"S",
            b"1x",
            b"",
            b"+5S",
            b" 5S",
            b"-1m",
            b"5",
        ] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timeout_round_trips() {
        for d in [
            Duration::from_nanos(1),
            Duration::from_millis(1500),
            Duration::from_secs(1000),
            Duration::from_secs(500_000),
        ] {
            let text = format_grpc_timeout(d);
            let mut h = HeaderMap::new();
            h.insert(GRPC_TIMEOUT, text.parse().expect("a header value"));
            let back = grpc_timeout(&h).expect("parses");
            let d = d.max(Duration::from_micros(1));
            assert!(back <= d && d - back < Duration::from_secs(1), "{text}");
            assert!(text.len() <= 9, "{text}");
        }
        assert_eq!(format_grpc_timeout(Duration::MAX), "99999999S");
        assert_eq!(grpc_timeout(&with(GRPC_TIMEOUT, "soon")), None);
        assert_eq!(grpc_timeout(&HeaderMap::new()), None);
    }

    #[test]
    fn reads_status_and_message() {
        assert_eq!(grpc_status(&HeaderMap::new()), None);
        assert_eq!(
            grpc_status(&with(GRPC_STATUS, "14")),
            Some(Code::Unavailable)
        );
        assert_eq!(grpc_status(&with(GRPC_STATUS, "0")), Some(Code::Ok));
        assert_eq!(grpc_status(&with(GRPC_STATUS, "99")), Some(Code::Unknown));
        assert_eq!(grpc_status(&with(GRPC_STATUS, "x")), Some(Code::Unknown));
        assert_eq!(
            grpc_message(&with(GRPC_MESSAGE, "caf%C3%A9%20closed")).as_deref(),
            Some("café closed")
        );
        assert_eq!(
            grpc_message(&with(GRPC_MESSAGE, "50%")).as_deref(),
            Some("50%")
        );
        assert_eq!(
            grpc_message(&with(GRPC_MESSAGE, "%FF")).as_deref(),
            Some("\u{FFFD}")
        );
        assert_eq!(grpc_message(&HeaderMap::new()), None);
    }
}
