//! The Connect protocol (<https://connectrpc.com/docs/protocol/>) on the gRPC paths
//! `/package.Service/Method`:
//!
//! - unary: `POST` with `application/json` or `application/proto`, and `GET` with
//!   `?message=...&encoding=json|proto[&base64=1][&compression=identity][&connect=v1]` for
//!   methods marked `idempotency_level = NO_SIDE_EFFECTS` ([`unary`]);
//! - streams: `POST` with `application/connect+json` or `application/connect+proto`,
//!   client, server and bidirectional (the last over HTTP/2) ([`stream`]).
//!
//! `Connect-Timeout-Ms` is the call's deadline; `Connect-Protocol-Version: 1` is accepted,
//! not required. Every call goes through the stack once ([`crate::bridge::call`]).

mod stream;
mod unary;

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method as HttpMethod, Request, Response, StatusCode, header};
use tonic::{Status, body::Body};

use super::{Catalog, Ctx, web::codec::Format};

/// `Connect-Timeout-Ms`.
const CONNECT_TIMEOUT_MS: &str = "connect-timeout-ms";

/// The content types a Connect endpoint accepts, for `Accept-Post`.
const ACCEPT_POST: &str =
    "application/json, application/proto, application/connect+json, application/connect+proto";

/// What a Connect `POST` carries, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One message as the body.
    Unary(Format),
    /// Enveloped messages.
    Stream(Format),
}

impl Kind {
    /// The kind of a content type (parameters such as `charset` ignored, any case).
    fn of(ct: &[u8]) -> Option<Self> {
        let ct = ct.split(|b| *b == b';').next().unwrap_or_default();
        Some(match ct.trim_ascii().to_ascii_lowercase().as_slice() {
            b"application/json" => Self::Unary(Format::Json),
            b"application/proto" => Self::Unary(Format::Proto),
            b"application/connect+json" => Self::Stream(Format::Json),
            b"application/connect+proto" => Self::Stream(Format::Proto),
            _ => return None,
        })
    }
}

/// Whether a request is a Connect call: a `POST` or `GET` on the gRPC path of a served
/// method (a `POST` of another content type is answered `415` here, a `GET` of a method
/// with side effects `405`).
pub(crate) fn is_connect(req: &Request<Body>, _ct: &[u8], catalog: &Catalog) -> bool {
    (req.method() == HttpMethod::POST || req.method() == HttpMethod::GET)
        && catalog.method(req.uri().path()).is_some()
}

/// Serves a Connect request.
pub(crate) async fn serve(req: Request<Body>, ctx: &Ctx) -> Response<Body> {
    let Some(method) = ctx.shared.catalog.method(req.uri().path()).cloned() else {
        return super::plain(StatusCode::NOT_FOUND, "no such method");
    };
    if req.method() == HttpMethod::GET {
        if !method.no_side_effects {
            let mut res = super::plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET is only for methods with idempotency_level = NO_SIDE_EFFECTS; use POST",
            );
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return res;
        }
        return unary::serve_get(req, ctx, method).await;
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    match Kind::of(ct) {
        Some(Kind::Unary(format)) if !method.client_streaming() && !method.server_streaming() => {
            unary::serve_post(req, ctx, method, format).await
        }
        Some(Kind::Stream(format)) => stream::serve(req, ctx, method, format).await,
        _ => {
            let mut res = super::plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported content type for this Connect method",
            );
            res.headers_mut()
                .insert("accept-post", HeaderValue::from_static(ACCEPT_POST));
            res
        }
    }
}

/// The deadline in `Connect-Timeout-Ms` (1 to 10 digits): `Ok(None)` without it,
/// `INVALID_ARGUMENT` when malformed.
fn timeout(headers: &HeaderMap) -> Result<Option<Duration>, Status> {
    let Some(v) = headers.get(CONNECT_TIMEOUT_MS) else {
        return Ok(None);
    };
    let v = v.as_bytes();
    if v.is_empty() || v.len() > 10 || !v.iter().all(u8::is_ascii_digit) {
        return Err(Status::invalid_argument(
            "connect-timeout-ms must be 1 to 10 digits",
        ));
    }
    let ms = v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Ok(Some(Duration::from_millis(ms)))
}

/// The compression a request declares in `header` unless it is `identity`:
/// `UNIMPLEMENTED` (the bridge reads uncompressed messages only).
fn check_identity(headers: &HeaderMap, name: &str) -> Result<(), Status> {
    match headers.get(name).map(HeaderValue::as_bytes) {
        None => Ok(()),
        Some(v) if v.eq_ignore_ascii_case(b"identity") => Ok(()),
        Some(v) => Err(Status::unimplemented(format!(
            "{name} {} is not supported; send identity",
            String::from_utf8_lossy(v)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_tell_unary_from_streams() {
        assert_eq!(
            Kind::of(b"application/json; charset=utf-8"),
            Some(Kind::Unary(Format::Json))
        );
        assert_eq!(
            Kind::of(b"application/proto"),
            Some(Kind::Unary(Format::Proto))
        );
        assert_eq!(
            Kind::of(b"Application/Connect+JSON"),
            Some(Kind::Stream(Format::Json))
        );
        assert_eq!(
            Kind::of(b"application/connect+proto"),
            Some(Kind::Stream(Format::Proto))
        );
        assert_eq!(Kind::of(b"text/plain"), None);
    }

    #[test]
    fn connect_calls_are_posts_and_gets_on_served_grpc_paths() {
        let catalog = Catalog::new(&[tonic_health::pb::FILE_DESCRIPTOR_SET]);
        let req = |method: &str, path: &str| {
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap()
        };
        let served = "/grpc.health.v1.Health/Check";
        assert!(is_connect(
            &req("POST", served),
            b"application/json",
            &catalog
        ));
        assert!(is_connect(&req("GET", served), b"", &catalog));
        assert!(!is_connect(
            &req("PUT", served),
            b"application/json",
            &catalog
        ));
        assert!(!is_connect(
            &req("POST", "/grpc.health.v1.Health/Nope"),
            b"application/json",
            &catalog
        ));
        assert!(!is_connect(
            &req("POST", "/v1/users"),
            b"application/json",
            &catalog
        ));
    }

    #[test]
    fn connect_timeout_is_milliseconds_of_up_to_ten_digits() {
        let mut h = HeaderMap::new();
        assert_eq!(timeout(&h).unwrap(), None);
        h.insert(CONNECT_TIMEOUT_MS, HeaderValue::from_static("1500"));
        assert_eq!(timeout(&h).unwrap(), Some(Duration::from_millis(1500)));
        h.insert(CONNECT_TIMEOUT_MS, HeaderValue::from_static("12345678901"));
        assert!(timeout(&h).is_err());
        h.insert(CONNECT_TIMEOUT_MS, HeaderValue::from_static("-1"));
        assert!(timeout(&h).is_err());
    }
}
