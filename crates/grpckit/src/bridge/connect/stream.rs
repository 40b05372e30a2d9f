//! Connect streams (`application/connect+json|proto`): enveloped messages both ways; the
//! answer is `200` with the response metadata as headers, the messages, then the
//! end-of-stream envelope (flag `0x02`) holding `{"error": {...}, "metadata": {...}}`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, header};
use http_body::Frame;
use prost_reflect::DescriptorPool;
use tonic::{Code, Status, body::Body};

use super::{check_identity, timeout};
use crate::bridge::{
    Ctx, Protocol,
    call::{self, CallRequest, GrpcResponse},
    catalog::Method,
    status,
    web::{
        codec::Format,
        flow::{self, FirstError, Outcome},
        frames::{self, EnvelopeReader},
    },
};

/// The flag of the end-of-stream envelope.
const END_STREAM: u8 = 0x02;

/// Serves a Connect stream of any kind.
pub(super) async fn serve(
    req: Request<Body>,
    ctx: &Ctx,
    method: Arc<Method>,
    format: Format,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let outcome = Outcome::new(Protocol::Connect, Some(method.clone()));
    let deadline = match check_identity(&parts.headers, "connect-content-encoding")
        .and_then(|()| timeout(&parts.headers))
    {
        Ok(t) => t,
        Err(status) => return end_only(ctx, format, &status, outcome),
    };
    let mut req = CallRequest::from_parts(&method.path, &mut parts);
    if deadline.is_some() {
        req.timeout = deadline;
    }
    req.metadata.remove("grpc-accept-encoding");
    let first = FirstError::default();
    let res = if method.client_streaming() {
        let reader = EnvelopeReader::new(body, false, ctx.shared.max_body);
        let messages = flow::request_stream(reader, format, Some(method.clone()), first.clone());
        call::call_stream(&ctx.inner, req, messages).await
    } else {
        match flow::read_all(ctx, body, false, format, Some(&method)).await {
            Ok(mut messages) if messages.len() == 1 => {
                let message = messages.pop().unwrap_or_default();
                call::call_one(&ctx.inner, req, message).await
            }
            Ok(messages) => {
                let messages = futures::stream::iter(messages.into_iter().map(Ok));
                call::call_stream(&ctx.inner, req, messages).await
            }
            Err(status) => return end_only(ctx, format, &status, outcome),
        }
    };
    let mut headers = HeaderMap::with_capacity(res.headers.len() + 1);
    headers.insert(header::CONTENT_TYPE, content_type(format));
    flow::copy_metadata(&res.headers, &mut headers);
    let state = Answer {
        ctx: ctx.clone(),
        format,
        method,
        res,
        first,
        outcome,
        ended: false,
    };
    let body = futures::stream::unfold(state, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, Status>(Frame::data(chunk)), s))
    });
    let mut out = Response::new(call::stream_body(body));
    *out.headers_mut() = headers;
    out
}

/// The response's content type.
fn content_type(format: Format) -> HeaderValue {
    HeaderValue::from_static(match format {
        Format::Json => "application/connect+json",
        Format::Proto => "application/connect+proto",
    })
}

/// The end-of-stream envelope: the error unless the status is OK, and the trailing
/// metadata (`{"key": ["value", ...]}`).
fn end_envelope(pool: &DescriptorPool, status: &Status, trailers: &HeaderMap) -> Bytes {
    let mut end = serde_json::Map::new();
    if status.code() != Code::Ok {
        end.insert("error".into(), status::connect_error_json(status, pool));
    }
    let mut meta = serde_json::Map::new();
    for name in trailers.keys() {
        if !flow::is_metadata(name) {
            continue;
        }
        let values: Vec<serde_json::Value> = trailers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned().into())
            .collect();
        meta.insert(name.as_str().to_owned(), values.into());
    }
    if !meta.is_empty() {
        end.insert("metadata".into(), meta.into());
    }
    let json = serde_json::to_vec(&serde_json::Value::Object(end)).unwrap_or_default();
    frames::envelope(END_STREAM, &json)
}

/// An answer made of the end-of-stream envelope alone.
fn end_only(ctx: &Ctx, format: Format, status: &Status, mut outcome: Outcome) -> Response<Body> {
    outcome.finish(status.code());
    let end = end_envelope(ctx.shared.catalog.pool(), status, &HeaderMap::new());
    let mut res = Response::new(call::full_body(end));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(format));
    res
}

/// The state of a stream's answer.
struct Answer {
    ctx: Ctx,
    format: Format,
    method: Arc<Method>,
    res: GrpcResponse,
    first: FirstError,
    outcome: Outcome,
    ended: bool,
}

impl Answer {
    /// The next envelope: a message, or at the end the end-of-stream envelope.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        let status = match self.res.message().await {
            Some(message) => match self.format.response(&self.method, message) {
                Ok(m) => return Some(frames::envelope(0, &m)),
                Err(status) => status,
            },
            None => self.first.take().unwrap_or_else(|| {
                self.res
                    .status()
                    .cloned()
                    .unwrap_or_else(|| Status::unknown("no status"))
            }),
        };
        self.ended = true;
        self.outcome.finish(status.code());
        Some(end_envelope(
            self.ctx.shared.catalog.pool(),
            &status,
            self.res.trailers(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::PREFIX_LEN;

    fn end_json(status: &Status, trailers: &HeaderMap) -> serde_json::Value {
        let pool = DescriptorPool::decode(crate::server::google_rpc_descriptors()).unwrap();
        let e = end_envelope(&pool, status, trailers);
        assert_eq!(e[0], END_STREAM);
        serde_json::from_slice(&e[PREFIX_LEN..]).unwrap()
    }

    #[test]
    fn end_of_stream_carries_the_error_and_the_trailing_metadata() {
        let mut trailers = HeaderMap::new();
        trailers.append("x-served-by", HeaderValue::from_static("a"));
        trailers.append("x-served-by", HeaderValue::from_static("b"));
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        let json = end_json(&Status::not_found("no order 7"), &trailers);
        assert_eq!(json["error"]["code"], "not_found");
        assert_eq!(json["error"]["message"], "no order 7");
        assert_eq!(
            json["metadata"]["x-served-by"],
            serde_json::json!(["a", "b"])
        );
        assert!(json["metadata"].get("grpc-status").is_none());
    }

    #[test]
    fn a_successful_end_of_stream_has_no_error() {
        let json = end_json(&Status::ok(""), &HeaderMap::new());
        assert_eq!(json, serde_json::json!({}));
    }
}
