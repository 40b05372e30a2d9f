//! gRPC-Web over HTTP/1.1 and HTTP/2: `application/grpc-web` and `+proto` (binary),
//! `application/grpc-web-text` and `-text+proto` (base64), `application/grpc-web+json`
//! (messages as proto3 JSON). Unary, server streaming and, where the client can stream its
//! body, client and bidirectional streaming; the status and trailing metadata end the body
//! in the trailer frame (flag `0x80`). Every call goes through the stack once ([`call`]).
//!
//! [`call`]: crate::bridge::call

pub(crate) mod codec;
pub(crate) mod flow;
pub(crate) mod frames;

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method as HttpMethod, Request, Response, StatusCode, header};
use http_body::Frame;
use tonic::{Status, body::Body};

use self::{
    codec::Format,
    flow::{FirstError, Outcome},
    frames::EnvelopeReader,
};
use super::{
    Ctx, Protocol,
    call::{self, CallRequest, GrpcResponse},
    catalog::Method,
};

/// The flavour of a gRPC-Web request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    /// Base64 text (`-text`) rather than binary.
    text: bool,
    /// How messages are encoded.
    format: Format,
}

impl Kind {
    /// The flavour of a content type (parameters ignored, any case); `None` if it is not
    /// gRPC-Web.
    fn of(ct: &[u8]) -> Option<Self> {
        let ct = ct.split(|b| *b == b';').next().unwrap_or_default();
        let ct = ct.trim_ascii().to_ascii_lowercase();
        let (text, format) = match ct.as_slice() {
            b"application/grpc-web" | b"application/grpc-web+proto" => (false, Format::Proto),
            b"application/grpc-web+json" => (false, Format::Json),
            b"application/grpc-web-text" | b"application/grpc-web-text+proto" => {
                (true, Format::Proto)
            }
            b"application/grpc-web-text+json" => (true, Format::Json),
            _ => return None,
        };
        Some(Self { text, format })
    }

    /// The response's content type.
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match (self.text, self.format) {
            (false, Format::Proto) => "application/grpc-web+proto",
            (false, Format::Json) => "application/grpc-web+json",
            (true, Format::Proto) => "application/grpc-web-text+proto",
            (true, Format::Json) => "application/grpc-web-text+json",
        })
    }

    /// One chunk of the response body: as is, or base64 (each chunk padded on its own).
    fn chunk(self, bytes: Bytes) -> Bytes {
        if self.text {
            STANDARD.encode(&bytes).into()
        } else {
            bytes
        }
    }
}

/// Serves a gRPC-Web request.
pub(crate) async fn serve(req: Request<Body>, ctx: &Ctx) -> Response<Body> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let Some(kind) = Kind::of(ct) else {
        return super::plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported gRPC-Web content type",
        );
    };
    if req.method() != HttpMethod::POST {
        let mut res = super::plain(StatusCode::METHOD_NOT_ALLOWED, "gRPC-Web calls are POSTs");
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    let path = req.uri().path().to_owned();
    let method = ctx.shared.catalog.method(&path).cloned();
    let mut outcome = Outcome::new(Protocol::GrpcWeb, method.clone());
    if method.is_none() && kind.format == Format::Json {
        // Messages of an unknown type cannot be converted; binary ones go through as is
        // (the stack answers unknown methods itself).
        let status = Status::unimplemented(format!("unknown method {path}"));
        return answer_status(kind, &status);
    }
    let (mut parts, body) = req.into_parts();
    let mut call = CallRequest::from_parts(&path, &mut parts);
    // The bridge reads uncompressed messages only.
    call.metadata.remove("grpc-accept-encoding");
    let first = FirstError::default();
    let streaming_request = method.as_deref().is_some_and(Method::client_streaming);
    let res = if streaming_request {
        let reader = EnvelopeReader::new(body, kind.text, ctx.shared.max_body);
        let messages = flow::request_stream(reader, kind.format, method.clone(), first.clone());
        call::call_stream(&ctx.inner, call, messages).await
    } else {
        match flow::read_all(ctx, body, kind.text, kind.format, method.as_deref()).await {
            Ok(mut messages) if messages.len() == 1 => {
                let message = messages.pop().unwrap_or_default();
                call::call_one(&ctx.inner, call, message).await
            }
            Ok(messages) => {
                let messages = futures::stream::iter(messages.into_iter().map(Ok));
                call::call_stream(&ctx.inner, call, messages).await
            }
            Err(status) => {
                outcome.finish(status.code());
                return answer_status(kind, &status);
            }
        }
    };
    answer(kind, method, res, first, outcome).await
}

/// An answer made of the status alone (the trailer frame, no message).
fn answer_status(kind: Kind, status: &Status) -> Response<Body> {
    let trailers = kind.chunk(frames::trailer_frame(status, &http::HeaderMap::new()));
    let mut res = Response::new(call::full_body(trailers));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, kind.content_type());
    res
}

/// The answer of a call: its metadata as headers, then its messages, then the trailer
/// frame. The answer of a method without a response stream is read whole first and sent
/// as one body (one write, a `Content-Length`); a response stream is sent as it comes.
async fn answer(
    kind: Kind,
    method: Option<Arc<Method>>,
    res: GrpcResponse,
    first: FirstError,
    outcome: Outcome,
) -> Response<Body> {
    let mut headers = http::HeaderMap::with_capacity(res.headers.len() + 1);
    headers.insert(header::CONTENT_TYPE, kind.content_type());
    flow::copy_metadata(&res.headers, &mut headers);
    let streaming = method.as_deref().is_none_or(Method::server_streaming);
    let mut state = Answer {
        kind,
        method,
        res,
        first,
        outcome,
        ended: false,
    };
    let body = if streaming {
        let frames = futures::stream::unfold(state, |mut s| async move {
            let frame = s.next_frame().await?;
            Some((Ok::<_, Status>(Frame::data(s.kind.chunk(frame))), s))
        });
        call::stream_body(frames)
    } else {
        let mut whole = BytesMut::new();
        while let Some(frame) = state.next_frame().await {
            whole.extend_from_slice(&frame);
        }
        call::full_body(kind.chunk(whole.freeze()))
    };
    let mut out = Response::new(body);
    *out.headers_mut() = headers;
    out
}

/// The state of an answer's body.
struct Answer {
    kind: Kind,
    method: Option<Arc<Method>>,
    res: GrpcResponse,
    first: FirstError,
    outcome: Outcome,
    ended: bool,
}

impl Answer {
    /// The next frame of the body (binary): a message, or at the end the trailer frame.
    async fn next_frame(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        let status = match self.res.message().await {
            Some(message) => {
                let converted = match &self.method {
                    Some(m) => self.kind.format.response(m, message),
                    None => Ok(message),
                };
                match converted {
                    Ok(m) => return Some(frames::envelope(0, &m)),
                    Err(status) => status,
                }
            }
            None => self.first.take().unwrap_or_else(|| {
                self.res
                    .status()
                    .cloned()
                    .unwrap_or_else(|| Status::unknown("no status"))
            }),
        };
        self.ended = true;
        self.outcome.finish(status.code());
        Some(frames::trailer_frame(&status, self.res.trailers()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_flavour() {
        let bin = Kind::of(b"application/grpc-web").unwrap();
        assert!(!bin.text);
        assert_eq!(bin.format, Format::Proto);
        assert_eq!(Kind::of(b"application/grpc-web+proto"), Some(bin));
        let text = Kind::of(b"Application/GRPC-Web-Text; charset=utf-8").unwrap();
        assert!(text.text);
        assert_eq!(text.format, Format::Proto);
        assert_eq!(
            Kind::of(b"application/grpc-web+json").unwrap().format,
            Format::Json
        );
        assert!(Kind::of(b"application/grpc").is_none());
        assert!(Kind::of(b"application/grpc-webx").is_none());
        assert_eq!(
            Kind::of(b"application/grpc-web-text")
                .unwrap()
                .content_type(),
            "application/grpc-web-text+proto"
        );
    }

    #[test]
    fn text_chunks_are_base64() {
        let k = Kind::of(b"application/grpc-web-text").unwrap();
        assert_eq!(k.chunk(Bytes::from_static(b"\0\0\0\0\x01a")), "AAAAAAFh");
    }
}
