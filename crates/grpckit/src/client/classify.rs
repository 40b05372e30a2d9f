//! Reading outcomes: `grpc-status` in headers/trailers, `grpc-timeout`, and whether a
//! transport error means the request surely never reached the server.

use std::time::Duration;

use tonic::Code;

/// How a transport error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportFailure {
    /// Connecting failed: nothing was sent. The endpoint is down.
    Connect,
    /// The server refused the stream or was going away (GOAWAY): not processed.
    Refused,
    /// The request may have reached the server (reset, broken pipe, ...).
    MaybeSent,
}

/// Walks the error's source chain.
pub(crate) fn transport_failure(err: &(dyn std::error::Error + 'static)) -> TransportFailure {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<tonic::ConnectError>() {
            return TransportFailure::Connect;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && h.is_canceled()
        {
            return TransportFailure::Refused;
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            let refused = h2.reason() == Some(h2::Reason::REFUSED_STREAM)
                || (h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR));
            if refused {
                return TransportFailure::Refused;
            }
        }
        cur = e.source();
    }
    TransportFailure::MaybeSent
}

/// `grpc-status` from a header map (trailers, or the headers of a trailers-only response).
pub(crate) fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    let v = headers.get(crate::headers::GRPC_STATUS)?;
    let n: i32 = v.to_str().ok()?.trim().parse().ok()?;
    Some(Code::from_i32(n))
}

/// Parses `grpc-timeout` (`<digits><H|M|S|m|u|n>`).
pub(crate) fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(crate::headers::GRPC_TIMEOUT)?.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Formats a `grpc-timeout` value (at most 8 digits, as the spec requires).
pub(crate) fn format_grpc_timeout(d: Duration) -> String {
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

/// Whether a status counts against an endpoint's health (outlier detection, breakers).
pub(crate) fn is_failure(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::Internal | Code::Unknown | Code::DataLoss
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_round_trip() {
        let mut h = http::HeaderMap::new();
        for d in [
            Duration::from_millis(1500),
            Duration::from_secs(1000),
            Duration::from_secs(500_000),
        ] {
            h.insert(
                "grpc-timeout",
                format_grpc_timeout(d).parse().expect("value"),
            );
            let back = grpc_timeout(&h).expect("parse");
            assert!(
                back <= d && d - back < Duration::from_secs(1),
                "{d:?} -> {back:?}"
            );
        }
        h.insert("grpc-timeout", "12x".parse().expect("value"));
        assert_eq!(grpc_timeout(&h), None);
    }

    #[test]
    fn status_parse() {
        let mut h = http::HeaderMap::new();
        assert_eq!(grpc_status(&h), None);
        h.insert("grpc-status", "14".parse().expect("value"));
        assert_eq!(grpc_status(&h), Some(Code::Unavailable));
    }

    #[test]
    fn connect_error_is_recognised_through_the_chain() {
        let inner = tonic::ConnectError(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] tonic::ConnectError);
        assert_eq!(transport_failure(&Outer(inner)), TransportFailure::Connect);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(transport_failure(&reset), TransportFailure::MaybeSent);
    }
}
