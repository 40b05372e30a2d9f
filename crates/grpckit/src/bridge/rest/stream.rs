//! Streams over REST. Server streams go out as Server-Sent Events when the client accepts
//! `text/event-stream` (`id:` and `data: <json>` per message, a failure as `event: error`
//! with the `google.rpc.Status` JSON), else as newline-delimited JSON (one message per line,
//! a failure as a last line `{"error": <status>}`). Client streams come in as
//! newline-delimited JSON, one request message per line, handed to the handler as the lines
//! arrive. Dropping an answer's body (the client went away) drops the call, which cancels
//! the handler.

use std::{
    borrow::Cow,
    sync::{Arc, Mutex},
};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Response, header};
use http_body::Frame;
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::DescriptorPool;
use tonic::{Code, Status, body::Body};

use super::{request, response, routes::Route};
use crate::bridge::{
    Ctx, Protocol,
    call::{CallRequest, GrpcResponse, call_stream, stream_body},
    catalog::Method,
    metrics, status,
};

/// How a server stream is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/event-stream`.
    Sse,
    /// `application/x-ndjson`.
    Ndjson,
}

impl Format {
    /// Server-Sent Events when the `Accept` header names `text/event-stream`, else NDJSON.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let sse = headers.get_all(header::ACCEPT).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.to_ascii_lowercase().contains("text/event-stream"))
        });
        if sse { Self::Sse } else { Self::Ndjson }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Self::Sse => HeaderValue::from_static("text/event-stream"),
            Self::Ndjson => HeaderValue::from_static("application/x-ndjson"),
        }
    }

    /// One message (`json` may span lines only for SSE, each line its own `data:`).
    fn message(self, seq: u64, json: &[u8]) -> Bytes {
        match self {
            Self::Sse => {
                let mut out = BytesMut::with_capacity(json.len() + 24);
                out.extend_from_slice(b"id: ");
                out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
                out.extend_from_slice(b"\n");
                for line in json.split(|b| *b == b'\n') {
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(line);
                    out.extend_from_slice(b"\n");
                }
                out.extend_from_slice(b"\n");
                out.freeze()
            }
            Self::Ndjson => {
                let mut out = BytesMut::with_capacity(json.len() + 1);
                out.extend_from_slice(json);
                out.extend_from_slice(b"\n");
                out.freeze()
            }
        }
    }

    /// The failure that ends a stream.
    fn error(self, st: &Status, pool: &DescriptorPool) -> Bytes {
        let json = status::status_json(st, pool, false);
        let mut out = BytesMut::with_capacity(json.len() + 24);
        match self {
            Self::Sse => {
                out.extend_from_slice(b"event: error\ndata: ");
                out.extend_from_slice(&json);
                out.extend_from_slice(b"\n\n");
            }
            Self::Ndjson => {
                out.extend_from_slice(b"{\"error\":");
                out.extend_from_slice(&json);
                out.extend_from_slice(b"}\n");
            }
        }
        out.freeze()
    }
}

/// Counts one call in the bridge metrics exactly once: with its final code, or as
/// `CANCELLED` when dropped before it had one (the client went away).
#[derive(Debug)]
pub(crate) struct Recorder {
    method: Arc<Method>,
    done: bool,
}

impl Recorder {
    /// A call of `method` not counted yet.
    pub(crate) fn new(method: Arc<Method>) -> Self {
        Self {
            method,
            done: false,
        }
    }

    /// Counts the call with `code` (once).
    pub(crate) fn finish(&mut self, code: Code) {
        if !self.done {
            self.done = true;
            metrics::record(Protocol::Rest, &self.method, code);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

/// What the body of a streamed answer holds while it is written.
struct Writer {
    res: GrpcResponse,
    route: Arc<Route>,
    pool: DescriptorPool,
    format: Format,
    pretty: bool,
    seq: u64,
    recorder: Recorder,
    ended: bool,
}

/// The answer to a server-streaming call: an error answer when the call failed before its
/// first message was sent (a trailers-only answer), else `200` and the stream.
pub(crate) fn respond(
    res: GrpcResponse,
    route: Arc<Route>,
    format: Format,
    pretty: bool,
    mut recorder: Recorder,
    pool: &DescriptorPool,
) -> Response<Body> {
    if let Some(st) = res.status().filter(|s| s.code() != Code::Ok) {
        recorder.finish(st.code());
        let body = status::status_json(st, pool, pretty);
        let mut out = Response::new(crate::bridge::call::full_body(body));
        *out.status_mut() = status::http_status(st.code());
        out.headers_mut()
            .insert(header::CONTENT_TYPE, response::JSON);
        response::request_id(&mut out, &res.headers);
        return out;
    }
    let mut out = Response::new(crate::bridge::call::full_body(Bytes::new()));
    response::request_id(&mut out, &res.headers);
    let writer = Writer {
        res,
        route,
        pool: pool.clone(),
        format,
        // NDJSON keeps one message per line.
        pretty: pretty && format == Format::Sse,
        seq: 0,
        recorder,
        ended: false,
    };
    let chunks = futures::stream::unfold(writer, |mut w| async move {
        if w.ended {
            return None;
        }
        let chunk = match w.res.message().await {
            Some(bytes) => match response::message_json(&w.route, &bytes, w.pretty) {
                Ok(json) => {
                    w.seq += 1;
                    w.format.message(w.seq, &json)
                }
                Err(st) => w.fail(&st),
            },
            None => {
                let st = w
                    .res
                    .status()
                    .cloned()
                    .unwrap_or_else(|| Status::unknown("response ended without a status"));
                if st.code() == Code::Ok {
                    w.recorder.finish(Code::Ok);
                    return None;
                }
                w.fail(&st)
            }
        };
        Some((Ok::<_, Status>(Frame::data(chunk)), w))
    });
    *out.body_mut() = stream_body(chunks);
    let h = out.headers_mut();
    h.insert(header::CONTENT_TYPE, format.content_type());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies (nginx) pass the events on as they come.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    out
}

impl Writer {
    /// Ends the stream with `st` (counted) and returns its last chunk.
    fn fail(&mut self, st: &Status) -> Bytes {
        self.ended = true;
        self.recorder.finish(st.code());
        self.format.error(st, &self.pool)
    }
}

/// A client-streaming (or bidirectional) call: the request body is newline-delimited JSON,
/// one request message per line (the path variables and query string apply to each).
pub(crate) async fn client_stream(
    ctx: &Ctx,
    route: Arc<Route>,
    values: Vec<Cow<'static, str>>,
    mut parts: http::request::Parts,
    body: Body,
    pretty: bool,
) -> Response<Body> {
    let catalog = &ctx.shared.catalog;
    let mut recorder = Recorder::new(route.method.clone());
    let query = parts.uri.query().map(str::to_owned);
    // The first bad line, reported instead of the handler's view of the broken stream.
    let failed: Arc<Mutex<Option<Status>>> = Arc::default();
    let lines = NdjsonLines {
        body,
        buf: BytesMut::new(),
        scanned: 0,
        line: 0,
        max_line: ctx.shared.max_body,
        eof: false,
    };
    let messages = {
        let route = route.clone();
        let failed = failed.clone();
        futures::stream::unfold(Some(lines), move |state| {
            let route = route.clone();
            let values = values.clone();
            let query = query.clone();
            let failed = failed.clone();
            async move {
                let mut lines = state?;
                let item = match lines.next().await? {
                    Ok((n, line)) => request::build(&route, &values, query.as_deref(), &line)
                        .map(|m| Bytes::from(m.encode_to_vec()))
                        .map_err(|e| {
                            Status::with_details(
                                e.code(),
                                format!("line {n} of the request body: {}", e.message()),
                                e.details().to_vec().into(),
                            )
                        }),
                    Err(e) => Err(e),
                };
                match item {
                    Ok(m) => Some((Ok(m), Some(lines))),
                    Err(e) => {
                        if let Ok(mut slot) = failed.lock() {
                            slot.get_or_insert_with(|| e.clone());
                        }
                        Some((Err(e), None))
                    }
                }
            }
        })
    };
    let call = CallRequest::from_parts(&route.method.path, &mut parts);
    let res = call_stream(&ctx.inner, call, messages).await;
    let bad_line = || failed.lock().ok().and_then(|mut s| s.take());
    if route.method.server_streaming() {
        if let Some(st) = res.status().filter(|s| s.code() != Code::Ok) {
            let st = bad_line().unwrap_or_else(|| st.clone());
            recorder.finish(st.code());
            let mut out = response::error(&st, catalog, pretty);
            response::request_id(&mut out, &res.headers);
            return out;
        }
        return respond(
            res,
            route.clone(),
            Format::of(&parts.headers),
            pretty,
            recorder,
            catalog.pool(),
        );
    }
    let (result, headers, _) = res.unary().await;
    let result = match bad_line() {
        Some(st) => Err(st),
        None => result.and_then(|b| response::message_json(&route, &b, pretty)),
    };
    let mut out = match result {
        Ok(json) => {
            recorder.finish(Code::Ok);
            response::ok(json)
        }
        Err(st) => {
            recorder.finish(st.code());
            response::error(&st, catalog, pretty)
        }
    };
    response::request_id(&mut out, &headers);
    out
}

/// The lines of a newline-delimited body, as they arrive (blank lines skipped).
struct NdjsonLines {
    body: Body,
    buf: BytesMut,
    /// How much of `buf` holds no newline.
    scanned: usize,
    /// The number of the last line returned (1-based).
    line: usize,
    max_line: usize,
    eof: bool,
}

impl NdjsonLines {
    /// The next non-blank line with its number; `None` at the end of the body.
    async fn next(&mut self) -> Option<Result<(usize, Bytes), Status>> {
        loop {
            let found = self.buf[self.scanned..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|i| self.scanned + i);
            let line = match found {
                Some(i) => {
                    self.scanned = 0;
                    Some(self.buf.split_to(i + 1).freeze())
                }
                None if self.eof => {
                    if self.buf.is_empty() {
                        return None;
                    }
                    self.scanned = 0;
                    Some(self.buf.split().freeze())
                }
                None => None,
            };
            if let Some(line) = line {
                self.line += 1;
                if line.trim_ascii().is_empty() {
                    continue;
                }
                return Some(Ok((self.line, line)));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > self.max_line {
                return Some(Err(Status::resource_exhausted(format!(
                    "line {} of the request body is longer than {} bytes",
                    self.line + 1,
                    self.max_line
                ))));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    return Some(Err(Status::cancelled(format!("request body: {e}"))));
                }
                None => self.eof = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_is_chosen_by_accept() {
        let mut h = HeaderMap::new();
        assert_eq!(Format::of(&h), Format::Ndjson);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("Text/Event-Stream"),
        );
        assert_eq!(Format::of(&h), Format::Sse);
    }

    #[test]
    fn messages_are_framed_per_format() {
        assert_eq!(&Format::Ndjson.message(1, b"{}")[..], b"{}\n");
        assert_eq!(
            &Format::Sse.message(7, b"{\n}")[..],
            b"id: 7\ndata: {\ndata: }\n\n"
        );
    }
}
