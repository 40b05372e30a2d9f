//! Reading outcomes: `grpc-status` in headers/trailers, `grpc-timeout`, and whether a
//! transport error means the request surely never reached the server.

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

pub(crate) use crate::headers::{format_grpc_timeout, grpc_status, grpc_timeout};

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
