//! Connect unary calls: `POST` with the message as the body, or `GET` with the message in
//! the query. The answer is the response message (`200`), or the error as Connect's JSON
//! error with the HTTP status of its code; the response metadata are headers, the trailing
//! metadata headers prefixed `trailer-`.

use std::{borrow::Cow, sync::Arc};

use base64::{
    Engine,
    alphabet::URL_SAFE,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use tonic::{Status, body::Body};

use super::{check_identity, timeout};
use crate::bridge::{
    Ctx, Protocol,
    call::{self, CallRequest},
    catalog::Method,
    status,
    web::{
        codec::Format,
        flow::{self, Outcome},
    },
};

/// Base64url with or without padding, as `GET` messages come.
const BASE64_URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Serves a unary `POST`.
pub(super) async fn serve_post(
    req: Request<Body>,
    ctx: &Ctx,
    method: Arc<Method>,
    format: Format,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let outcome = Outcome::new(Protocol::Connect, Some(method.clone()));
    let message = async {
        check_identity(&parts.headers, "content-encoding")?;
        let bytes = ctx.read_body(body).await?;
        format.request(&method, bytes)
    }
    .await;
    match message {
        Ok(message) => call(ctx, &mut parts, method, format, message, outcome).await,
        Err(status) => error(ctx, &status, &HeaderMap::new(), outcome),
    }
}

/// Serves a unary `GET` (the caller checked the method has no side effects).
pub(super) async fn serve_get(
    req: Request<Body>,
    ctx: &Ctx,
    method: Arc<Method>,
) -> Response<Body> {
    let (mut parts, _body) = req.into_parts();
    let outcome = Outcome::new(Protocol::Connect, Some(method.clone()));
    let query = GetQuery::parse(parts.uri.query().unwrap_or_default());
    let Some(format) = query.format else {
        drop(outcome);
        return crate::bridge::plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a Connect GET needs encoding=json or encoding=proto",
        );
    };
    let message = query.message().and_then(|m| format.request(&method, m));
    match message {
        Ok(message) => call(ctx, &mut parts, method, format, message, outcome).await,
        Err(status) => error(ctx, &status, &HeaderMap::new(), outcome),
    }
}

/// The query of a Connect `GET`.
#[derive(Debug, Default)]
struct GetQuery {
    /// `message`, URL-decoded.
    message: Option<Vec<u8>>,
    /// `encoding`: `None` when missing or neither `json` nor `proto`.
    format: Option<Format>,
    /// `base64=1`.
    base64: bool,
    /// `compression`, unless `identity`.
    compression: Option<String>,
}

impl GetQuery {
    fn parse(query: &str) -> Self {
        let mut out = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = form_decode(v);
            match k {
                "message" => out.message = Some(v.into_owned()),
                "encoding" => {
                    out.format = match v.as_ref() {
                        b"json" => Some(Format::Json),
                        b"proto" => Some(Format::Proto),
                        _ => None,
                    }
                }
                "base64" => out.base64 = v.as_ref() == b"1",
                "compression" if v.as_ref() != b"identity" => {
                    out.compression = Some(String::from_utf8_lossy(&v).into_owned());
                }
                _ => {}
            }
        }
        out
    }

    /// The message's bytes in `format` (empty when absent).
    fn message(&self) -> Result<Bytes, Status> {
        if let Some(c) = &self.compression {
            return Err(Status::unimplemented(format!(
                "compression {c} is not supported; send identity"
            )));
        }
        let raw = self.message.as_deref().unwrap_or_default();
        if self.base64 {
            BASE64_URL
                .decode(raw)
                .map(Bytes::from)
                .map_err(|e| Status::invalid_argument(format!("message is not base64url: {e}")))
        } else {
            Ok(Bytes::copy_from_slice(raw))
        }
    }
}

/// A query value as form encoding has it: `+` is a space, then percent-decoding.
fn form_decode(v: &str) -> Cow<'_, [u8]> {
    if v.contains('+') {
        let spaced = v.replace('+', " ");
        Cow::Owned(percent_encoding::percent_decode_str(&spaced).collect())
    } else {
        percent_encoding::percent_decode_str(v).into()
    }
}

/// Makes the call and answers it.
async fn call(
    ctx: &Ctx,
    parts: &mut http::request::Parts,
    method: Arc<Method>,
    format: Format,
    message: Bytes,
    outcome: Outcome,
) -> Response<Body> {
    let deadline = match timeout(&parts.headers) {
        Ok(t) => t,
        Err(status) => return error(ctx, &status, &HeaderMap::new(), outcome),
    };
    let mut req = CallRequest::from_parts(&method.path, parts);
    if deadline.is_some() {
        req.timeout = deadline;
    }
    req.metadata.remove("grpc-accept-encoding");
    let (result, headers, trailers) = call::call_one(&ctx.inner, req, message).await.unary().await;
    let meta = response_metadata(&headers, &trailers);
    match result.and_then(|m| format.response(&method, m)) {
        Ok(body) => {
            let mut outcome = outcome;
            outcome.finish(tonic::Code::Ok);
            let mut res = Response::new(call::full_body(body));
            *res.headers_mut() = meta;
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(match format {
                    Format::Json => "application/json",
                    Format::Proto => "application/proto",
                }),
            );
            res
        }
        Err(status) => error(ctx, &status, &meta, outcome),
    }
}

/// The headers of a unary answer: the response metadata as they are, the trailing
/// metadata prefixed `trailer-`.
fn response_metadata(headers: &HeaderMap, trailers: &HeaderMap) -> HeaderMap {
    let mut meta = HeaderMap::with_capacity(headers.len() + trailers.len() + 1);
    flow::copy_metadata(headers, &mut meta);
    for (name, value) in trailers {
        if flow::is_metadata(name)
            && let Ok(n) = HeaderName::try_from(format!("trailer-{name}"))
        {
            meta.append(n, value.clone());
        }
    }
    meta
}

/// Connect's error answer: the HTTP status of the code, the JSON error as the body, the
/// metadata `meta` as headers.
fn error(ctx: &Ctx, status: &Status, meta: &HeaderMap, mut outcome: Outcome) -> Response<Body> {
    outcome.finish(status.code());
    let json = status::connect_error_json(status, ctx.shared.catalog.pool());
    let body = serde_json::to_vec(&json).unwrap_or_default();
    let mut res = Response::new(call::full_body(body));
    *res.status_mut() = status::http_status(status.code());
    *res.headers_mut() = meta.clone();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_metadata_becomes_trailer_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        headers.insert("x-request-id", HeaderValue::from_static("r1"));
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("x-cost", HeaderValue::from_static("3"));
        trailers.insert("x-bin-bin", HeaderValue::from_static("AAE"));
        let meta = response_metadata(&headers, &trailers);
        assert_eq!(meta["x-request-id"], "r1");
        assert_eq!(meta["trailer-x-cost"], "3");
        assert_eq!(meta["trailer-x-bin-bin"], "AAE");
        assert!(meta.get("content-type").is_none());
        assert!(meta.get("trailer-grpc-status").is_none());
        assert_eq!(meta.len(), 3);
    }

    #[test]
    fn get_query_reads_message_encoding_and_base64() {
        let q = GetQuery::parse("connect=v1&encoding=json&message=%7B%22id%22%3A%22a+b%22%7D");
        assert_eq!(q.format, Some(Format::Json));
        assert_eq!(q.message().unwrap(), Bytes::from_static(br#"{"id":"a b"}"#));
        let q = GetQuery::parse("encoding=proto&base64=1&message=CgFh");
        assert_eq!(q.format, Some(Format::Proto));
        assert_eq!(q.message().unwrap(), Bytes::from_static(b"\n\x01a"));
        let q = GetQuery::parse("encoding=xml&message=x");
        assert_eq!(q.format, None);
        let q = GetQuery::parse("encoding=json&compression=gzip&message=x");
        assert_eq!(q.message().unwrap_err().code(), tonic::Code::Unimplemented);
        let q = GetQuery::parse("encoding=json&compression=identity");
        assert_eq!(q.message().unwrap(), Bytes::new());
    }
}
