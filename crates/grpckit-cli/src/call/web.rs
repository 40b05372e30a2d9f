//! `--protocol grpc-web|connect|rest`: a call as the web protocols carry it, over HTTP/1.1
//! or HTTP/2 ([`HttpConn`]). Building a request and reading an answer are plain functions
//! of bytes, shared by `call` and `perf`:
//!
//! - gRPC-Web (`application/grpc-web+proto`): the gRPC frames in the body, the status in a
//!   trailer frame (flag `0x80`) or, trailers-only, in the headers.
//! - Connect: unary calls as a plain `application/json` (or `application/proto`) body with
//!   errors as Connect's JSON error and a non-200 status; streams as
//!   `application/connect+json|proto` envelopes ending with an end-stream envelope.
//! - REST: the method's `google.api.http` binding ([`grpckit::bridge::rest_request`]);
//!   JSON answers, server streams as newline-delimited JSON, errors as the JSON form of
//!   `google.rpc.Status`.

use std::{sync::OnceLock, time::Duration};

use anyhow::Context as _;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use clap::ValueEnum;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use tonic::{Code, Status};

/// The wire protocol of `call` and `perf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Protocol {
    /// Native gRPC over HTTP/2.
    #[default]
    Grpc,
    /// gRPC-Web, binary (`application/grpc-web+proto`).
    GrpcWeb,
    /// Connect (JSON for `call`, binary for `perf`).
    Connect,
    /// REST/JSON from the method's `google.api.http` option.
    Rest,
}

/// One request of a web protocol, ready to send.
#[derive(Debug, Clone)]
pub struct WebRequest {
    /// The HTTP method.
    pub method: Method,
    /// Path and query.
    pub path_and_query: String,
    /// Content type, accept, protocol headers (the caller's metadata added by the caller).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// REST `response_body` (the answer is that field of the response); else empty.
    pub response_body: String,
}

/// One response message.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Protobuf bytes of the output type.
    Proto(Bytes),
    /// JSON (of the output type, or of its `response_body` field).
    Json(serde_json::Value),
}

/// What an answer said: its messages and the call's status.
#[derive(Debug)]
pub struct WebReply {
    /// The response messages, in order.
    pub messages: Vec<Reply>,
    /// The final status.
    pub status: Result<(), Status>,
    /// Trailing metadata (gRPC-Web trailers, Connect stream metadata).
    pub trailers: HeaderMap,
}

/// Whether a Connect call of `m` uses Connect's streaming format.
fn connect_streams(m: &MethodDescriptor) -> bool {
    m.is_client_streaming() || m.is_server_streaming()
}

/// The 5-byte prefix (`flags`, big-endian length) and `payload`.
pub fn envelope(flags: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + payload.len());
    b.put_u8(flags);
    b.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    b.put_slice(payload);
    b.freeze()
}

/// Splits `body` into `(flags, payload)` envelopes; `Err` when it ends inside one.
pub fn envelopes(mut body: &[u8]) -> Result<Vec<(u8, &[u8])>, Status> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if body.len() < 5 {
            return Err(Status::internal("the answer ends inside a frame header"));
        }
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let Some(payload) = body.get(5..5 + len) else {
            return Err(Status::internal("the answer ends inside a frame"));
        };
        out.push((body[0], payload));
        body = &body[5 + len..];
    }
    Ok(out)
}

fn json_of(msg: &DynamicMessage) -> Vec<u8> {
    let opts = SerializeOptions::new().stringify_64_bit_integers(true);
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    if msg.serialize_with_options(&mut ser, &opts).is_err() {
        return b"{}".to_vec();
    }
    out
}

/// Builds the request of `protocol` (not [`Protocol::Grpc`]) calling `m` with `msgs`;
/// `connect_json` picks Connect's JSON codec over the binary one; `deadline` goes into
/// `grpc-timeout` (gRPC-Web, REST) or `connect-timeout-ms` (Connect).
pub fn build(
    protocol: Protocol,
    m: &MethodDescriptor,
    msgs: &[DynamicMessage],
    connect_json: bool,
    deadline: Option<Duration>,
) -> anyhow::Result<WebRequest> {
    let path = format!("/{}/{}", m.parent_service().full_name(), m.name());
    let mut headers = HeaderMap::new();
    let ct = |h: &mut HeaderMap, v: &'static str| {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
    };
    let grpc_timeout = |h: &mut HeaderMap| {
        if let Some(d) = deadline
            && let Ok(v) = grpckit::headers::format_grpc_timeout(d).parse()
        {
            h.insert("grpc-timeout", v);
        }
    };
    let req = match protocol {
        Protocol::Grpc => anyhow::bail!("native gRPC does not go through the web protocols"),
        Protocol::GrpcWeb => {
            anyhow::ensure!(
                !m.is_client_streaming(),
                "gRPC-Web has no client streams: {} cannot be called with it",
                m.full_name()
            );
            ct(&mut headers, "application/grpc-web+proto");
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_static("application/grpc-web+proto"),
            );
            headers.insert("x-grpc-web", HeaderValue::from_static("1"));
            grpc_timeout(&mut headers);
            let mut body = BytesMut::new();
            for msg in msgs {
                body.extend_from_slice(&envelope(0, &msg.encode_to_vec()));
            }
            WebRequest {
                method: Method::POST,
                path_and_query: path,
                headers,
                body: body.freeze(),
                response_body: String::new(),
            }
        }
        Protocol::Connect => {
            headers.insert("connect-protocol-version", HeaderValue::from_static("1"));
            if let Some(d) = deadline {
                headers.insert(
                    "connect-timeout-ms",
                    HeaderValue::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)),
                );
            }
            let encode = |msg: &DynamicMessage| {
                if connect_json {
                    json_of(msg)
                } else {
                    msg.encode_to_vec()
                }
            };
            let body = if connect_streams(m) {
                ct(
                    &mut headers,
                    if connect_json {
                        "application/connect+json"
                    } else {
                        "application/connect+proto"
                    },
                );
                let mut body = BytesMut::new();
                for msg in msgs {
                    body.extend_from_slice(&envelope(0, &encode(msg)));
                }
                body.freeze()
            } else {
                ct(
                    &mut headers,
                    if connect_json {
                        "application/json"
                    } else {
                        "application/proto"
                    },
                );
                Bytes::from(msgs.first().map(encode).unwrap_or_default())
            };
            WebRequest {
                method: Method::POST,
                path_and_query: path,
                headers,
                body,
                response_body: String::new(),
            }
        }
        Protocol::Rest => {
            let first = msgs
                .first()
                .cloned()
                .unwrap_or_else(|| DynamicMessage::new(m.input()));
            let r = grpckit::bridge::rest_request(m, &first)?;
            let method = Method::from_bytes(r.method.as_bytes())
                .with_context(|| format!("HTTP method {:?}", r.method))?;
            grpc_timeout(&mut headers);
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_static(if m.is_server_streaming() {
                    "application/x-ndjson"
                } else {
                    "application/json"
                }),
            );
            let body = if m.is_client_streaming() {
                // One JSON message per line, each built like the first.
                let mut lines = Vec::new();
                for msg in msgs {
                    let r = grpckit::bridge::rest_request(m, msg)?;
                    lines.extend_from_slice(&r.body.unwrap_or_default());
                    lines.push(b'\n');
                }
                ct(&mut headers, "application/x-ndjson");
                Some(lines)
            } else {
                if r.body.is_some() {
                    ct(&mut headers, "application/json");
                }
                r.body
            };
            WebRequest {
                method,
                path_and_query: r.path_and_query,
                headers,
                body: body.map(Bytes::from).unwrap_or_default(),
                response_body: r.response_body,
            }
        }
    };
    Ok(req)
}

/// Reads an answer of `protocol` to a call of `m`: its HTTP status, headers, whole body and
/// HTTP trailers.
pub fn parse(
    protocol: Protocol,
    m: &MethodDescriptor,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    http_trailers: Option<&HeaderMap>,
) -> WebReply {
    let mut reply = WebReply {
        messages: Vec::new(),
        status: Ok(()),
        trailers: HeaderMap::new(),
    };
    match protocol {
        Protocol::Grpc => reply.status = Err(Status::internal("not a web protocol")),
        Protocol::GrpcWeb => parse_grpc_web(status, headers, body, http_trailers, &mut reply),
        Protocol::Connect if connect_streams(m) => {
            parse_connect_stream(status, headers, body, &mut reply)
        }
        Protocol::Connect => parse_connect_unary(status, headers, body, &mut reply),
        Protocol::Rest => parse_rest(m, status, body, &mut reply),
    }
    reply
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

fn parse_grpc_web(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    http_trailers: Option<&HeaderMap>,
    reply: &mut WebReply,
) {
    if status != StatusCode::OK {
        reply.status = Err(Status::new(
            grpc_code_of_http(status),
            format!("HTTP status {status}"),
        ));
        return;
    }
    let mut final_status = None;
    match envelopes(body) {
        Ok(frames) => {
            for (flags, payload) in frames {
                if flags & 0x80 != 0 {
                    let trailers = trailer_block(payload);
                    final_status = Status::from_header_map(&trailers);
                    reply.trailers = trailers;
                } else if flags & 0x01 != 0 {
                    final_status = Some(Status::internal("compressed message (never asked for)"));
                } else {
                    reply
                        .messages
                        .push(Reply::Proto(Bytes::copy_from_slice(payload)));
                }
            }
        }
        Err(s) => final_status = Some(s),
    }
    let final_status = final_status
        .or_else(|| http_trailers.and_then(Status::from_header_map))
        .or_else(|| Status::from_header_map(headers))
        .unwrap_or_else(|| Status::internal("the answer has no grpc-status"));
    reply.status = if final_status.code() == Code::Ok {
        Ok(())
    } else {
        Err(final_status)
    };
}

/// The `name: value` lines of a gRPC-Web trailer frame as headers (names lowercased).
pub fn trailer_block(payload: &[u8]) -> HeaderMap {
    let mut out = HeaderMap::new();
    for line in payload.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(i) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..i])
            .trim()
            .to_ascii_lowercase();
        let value = String::from_utf8_lossy(&line[i + 1..]).trim().to_owned();
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.append(n, v);
        }
    }
    out
}

fn parse_connect_unary(status: StatusCode, headers: &HeaderMap, body: &[u8], reply: &mut WebReply) {
    for (name, value) in headers {
        if let Some(t) = name.as_str().strip_prefix("trailer-")
            && let Ok(n) = HeaderName::from_bytes(t.as_bytes())
        {
            reply.trailers.append(n, value.clone());
        }
    }
    if status == StatusCode::OK {
        reply.messages.push(if is_json(headers) {
            match serde_json::from_slice(body) {
                Ok(v) => Reply::Json(v),
                Err(e) => {
                    reply.status = Err(Status::internal(format!("the answer is not JSON: {e}")));
                    return;
                }
            }
        } else {
            Reply::Proto(Bytes::copy_from_slice(body))
        });
        return;
    }
    reply.status = Err(match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.get("code").is_some() => status_of_connect_error(&v),
        _ => Status::new(grpc_code_of_http(status), format!("HTTP status {status}")),
    });
}

fn parse_connect_stream(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    reply: &mut WebReply,
) {
    if status != StatusCode::OK {
        reply.status = Err(match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) if v.get("code").is_some() => status_of_connect_error(&v),
            _ => Status::new(grpc_code_of_http(status), format!("HTTP status {status}")),
        });
        return;
    }
    let json = is_json(headers);
    let frames = match envelopes(body) {
        Ok(f) => f,
        Err(s) => {
            reply.status = Err(s);
            return;
        }
    };
    let mut ended = false;
    for (flags, payload) in frames {
        if flags & 0x02 != 0 {
            ended = true;
            let end: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
            if let Some(md) = end.get("metadata").and_then(|m| m.as_object()) {
                for (k, vs) in md {
                    for v in vs.as_array().into_iter().flatten() {
                        if let (Ok(n), Some(Ok(v))) = (
                            HeaderName::from_bytes(k.as_bytes()),
                            v.as_str().map(HeaderValue::from_str),
                        ) {
                            reply.trailers.append(n, v);
                        }
                    }
                }
            }
            if let Some(e) = end.get("error") {
                reply.status = Err(status_of_connect_error(e));
            }
        } else if json {
            match serde_json::from_slice(payload) {
                Ok(v) => reply.messages.push(Reply::Json(v)),
                Err(e) => {
                    reply.status = Err(Status::internal(format!("a message is not JSON: {e}")));
                    return;
                }
            }
        } else {
            reply
                .messages
                .push(Reply::Proto(Bytes::copy_from_slice(payload)));
        }
    }
    if !ended {
        reply.status = Err(Status::internal(
            "the stream ended without its end-stream message",
        ));
    }
}

fn parse_rest(m: &MethodDescriptor, status: StatusCode, body: &[u8], reply: &mut WebReply) {
    if !status.is_success() {
        reply.status = Err(match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) if v.get("code").is_some() => status_of_rpc_json(&v),
            _ => Status::new(
                grpc_code_of_http(status),
                format!(
                    "HTTP status {status}: {}",
                    String::from_utf8_lossy(body).trim()
                ),
            ),
        });
        return;
    }
    if !m.is_server_streaming() {
        match serde_json::from_slice(body) {
            Ok(v) => reply.messages.push(Reply::Json(v)),
            Err(e) => reply.status = Err(Status::internal(format!("the answer is not JSON: {e}"))),
        }
        return;
    }
    for line in body.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(mut v) => {
                // grpc-gateway's stream shape: {"result": msg} / {"error": status}.
                if let Some(obj) = v.as_object_mut()
                    && obj.len() == 1
                {
                    if let Some(e) = obj.get("error") {
                        reply.status = Err(status_of_rpc_json(e));
                        return;
                    }
                    if let Some(r) = obj.remove("result") {
                        v = r;
                    }
                }
                reply.messages.push(Reply::Json(v));
            }
            Err(e) => {
                reply.status = Err(Status::internal(format!("a line is not JSON: {e}")));
                return;
            }
        }
    }
}

/// The gRPC code of an HTTP error status (the google.rpc mapping, read backwards).
pub fn grpc_code_of_http(s: StatusCode) -> Code {
    match s.as_u16() {
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::Aborted,
        412 => Code::FailedPrecondition,
        415 => Code::Internal,
        429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        501 => Code::Unimplemented,
        502 | 503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Unknown,
    }
}

/// The gRPC code of a Connect code name (`invalid_argument`).
pub fn grpc_code_of_connect(name: &str) -> Code {
    match name {
        "canceled" | "cancelled" => Code::Cancelled,
        "invalid_argument" => Code::InvalidArgument,
        "deadline_exceeded" => Code::DeadlineExceeded,
        "not_found" => Code::NotFound,
        "already_exists" => Code::AlreadyExists,
        "permission_denied" => Code::PermissionDenied,
        "resource_exhausted" => Code::ResourceExhausted,
        "failed_precondition" => Code::FailedPrecondition,
        "aborted" => Code::Aborted,
        "out_of_range" => Code::OutOfRange,
        "unimplemented" => Code::Unimplemented,
        "internal" => Code::Internal,
        "unavailable" => Code::Unavailable,
        "data_loss" => Code::DataLoss,
        "unauthenticated" => Code::Unauthenticated,
        _ => Code::Unknown,
    }
}

/// Connect's JSON error (`{"code": "not_found", "message": ..., "details": [{"type": ...,
/// "value": <base64>}]}`) as a status with its details.
pub fn status_of_connect_error(v: &serde_json::Value) -> Status {
    let code = grpc_code_of_connect(v["code"].as_str().unwrap_or_default());
    let message = v["message"].as_str().unwrap_or_default().to_owned();
    let details: Vec<prost_types::Any> = v["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let ty = d["type"].as_str()?;
            let value = d["value"].as_str()?.trim_end_matches('=');
            let value = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(value)
                .ok()?;
            Some(prost_types::Any {
                type_url: format!("type.googleapis.com/{ty}"),
                value,
            })
        })
        .collect();
    with_details(code, message, details)
}

fn with_details(code: Code, message: String, details: Vec<prost_types::Any>) -> Status {
    if details.is_empty() {
        return Status::new(code, message);
    }
    // google.rpc.Status, what gRPC carries in `grpc-status-details-bin`.
    let bytes = tonic_types::Status {
        code: code as i32,
        message: message.clone(),
        details,
    }
    .encode_to_vec();
    Status::with_details(code, message, bytes.into())
}

fn rpc_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = DescriptorPool::global();
        let _ = pool.decode_file_descriptor_set(grpckit::server::google_rpc_descriptors());
        pool
    })
}

/// The JSON form of `google.rpc.Status` (`{"code": 5, "message": ..., "details": [{"@type":
/// ..., ...}]}`) as a status with its details (those of unknown types left out).
pub fn status_of_rpc_json(v: &serde_json::Value) -> Status {
    let code = Code::from_i32(
        v["code"]
            .as_i64()
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(2),
    );
    let message = v["message"].as_str().unwrap_or_default().to_owned();
    let pool = rpc_pool();
    let details = v["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let ty = d["@type"].as_str()?;
            let name = ty.rsplit('/').next()?;
            let desc = pool.get_message_by_name(name)?;
            let mut fields = d.clone();
            fields.as_object_mut()?.remove("@type");
            let msg = DynamicMessage::deserialize(desc, fields).ok()?;
            Some(prost_types::Any {
                type_url: ty.to_owned(),
                value: msg.encode_to_vec(),
            })
        })
        .collect();
    with_details(code, message, details)
}

/// The request as an HTTP request: `req`'s headers plus the `-H` headers of `conn`.
pub fn http_request(
    req: &WebRequest,
    extra: &[String],
) -> anyhow::Result<http::Request<http_body_util::Full<Bytes>>> {
    let mut r = http::Request::new(http_body_util::Full::new(req.body.clone()));
    *r.method_mut() = req.method.clone();
    *r.uri_mut() = req.path_and_query.parse().context("request path")?;
    *r.headers_mut() = req.headers.clone();
    for h in extra {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("header {h:?} is not `key: value`"))?;
        r.headers_mut().append(
            HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes())
                .with_context(|| format!("invalid header name {k:?}"))?,
            HeaderValue::from_str(v.trim()).with_context(|| format!("invalid value for {k:?}"))?,
        );
    }
    Ok(r)
}

/// A reply as the pretty proto3 JSON `call` prints (a REST `response_body` field as is).
fn reply_json(
    m: &MethodDescriptor,
    reply: &Reply,
    response_body: &str,
    opts: &SerializeOptions,
) -> anyhow::Result<String> {
    let msg = match reply {
        Reply::Proto(b) => DynamicMessage::decode(m.output(), b.as_ref())
            .context("a response message does not decode")?,
        Reply::Json(v) if response_body.is_empty() => {
            match DynamicMessage::deserialize(m.output(), v.clone()) {
                Ok(msg) => msg,
                Err(_) => return Ok(serde_json::to_string_pretty(v)?),
            }
        }
        Reply::Json(v) => return Ok(serde_json::to_string_pretty(v)?),
    };
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut buf);
    msg.serialize_with_options(&mut ser, opts)?;
    Ok(String::from_utf8(buf)?)
}

/// `call` over gRPC-Web, Connect or REST: one HTTP request, the whole answer read.
pub(crate) async fn invoke(
    args: &super::CallArgs,
    m: &MethodDescriptor,
    msgs: &[DynamicMessage],
    opts: &SerializeOptions,
) -> anyhow::Result<super::CallOutcome> {
    use http_body_util::BodyExt as _;
    let req = build(args.protocol, m, msgs, true, args.deadline)?;
    let http_req = http_request(&req, &args.conn.headers)?;
    let mut conn = crate::conn::HttpConn::connect(&args.conn, args.http2).await?;
    let exchange = async {
        let res = conn.send(http_req).await?;
        let (parts, body) = res.into_parts();
        let collected = body.collect().await?;
        let trailers = collected.trailers().cloned();
        Ok::<_, hyper::Error>((parts, collected.to_bytes(), trailers))
    };
    let answer = match args.deadline {
        // The server ends the call at the deadline; a little more for the answer to come.
        Some(d) => tokio::time::timeout(d + Duration::from_secs(1), exchange)
            .await
            .map_err(|_| Status::deadline_exceeded("no answer before the deadline")),
        None => Ok(exchange.await),
    };
    let (parts, body, trailers) = match answer {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            return Ok(super::CallOutcome {
                replies: Vec::new(),
                error: Some(Status::unavailable(format!("HTTP exchange failed: {e}"))),
            });
        }
        Err(s) => {
            return Ok(super::CallOutcome {
                replies: Vec::new(),
                error: Some(s),
            });
        }
    };
    let reply = parse(
        args.protocol,
        m,
        parts.status,
        &parts.headers,
        &body,
        trailers.as_ref(),
    );
    if args.verbose {
        eprintln!("response status: {}", parts.status);
        eprintln!("response headers: {:?}", parts.headers);
        if !reply.trailers.is_empty() {
            eprintln!("response trailers: {:?}", reply.trailers);
        }
    }
    let mut replies = Vec::new();
    for r in &reply.messages {
        replies.push(reply_json(m, r, &req.response_body, opts)?);
    }
    Ok(super::CallOutcome {
        replies,
        error: reply.status.err(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(name: &str) -> MethodDescriptor {
        let pool = DescriptorPool::decode(grpckit_services::proto::FILE_DESCRIPTOR_SET).unwrap();
        pool.services()
            .flat_map(|s| s.methods().collect::<Vec<_>>())
            .find(|m| m.name() == name)
            .unwrap()
    }

    fn msg(m: &MethodDescriptor, json: &str) -> DynamicMessage {
        let mut de = serde_json::Deserializer::from_str(json);
        DynamicMessage::deserialize(m.input(), &mut de).unwrap()
    }

    #[test]
    fn envelopes_round_trip() {
        let mut body = envelope(0, b"abc").to_vec();
        body.extend_from_slice(&envelope(0x80, b"grpc-status: 0\r\n"));
        let frames = envelopes(&body).unwrap();
        assert_eq!(
            frames,
            [(0, &b"abc"[..]), (0x80, &b"grpc-status: 0\r\n"[..])]
        );
        assert!(envelopes(&body[..body.len() - 1]).is_err());
        assert!(envelopes(&[0, 0]).is_err());
    }

    #[test]
    fn grpc_web_requests_and_answers() {
        let m = method("GetUser");
        let req = build(
            Protocol::GrpcWeb,
            &m,
            &[msg(&m, r#"{"id":"42"}"#)],
            false,
            Some(Duration::from_secs(2)),
        )
        .unwrap();
        assert_eq!(req.path_and_query, "/user.v1.UserService/GetUser");
        assert_eq!(req.headers["content-type"], "application/grpc-web+proto");
        assert_eq!(req.headers["grpc-timeout"], "2000000u");
        assert_eq!(&req.body[..], b"\0\0\0\0\x04\x0a\x0242");
        assert!(build(Protocol::GrpcWeb, &method("UploadOrders"), &[], false, None).is_err());

        let mut body = envelope(0, b"\x0a\x00").to_vec();
        body.extend_from_slice(&envelope(
            0x80,
            b"grpc-status: 5\r\ngrpc-message: no%20such\r\nx-a: b\r\n",
        ));
        let r = parse(
            Protocol::GrpcWeb,
            &m,
            StatusCode::OK,
            &HeaderMap::new(),
            &body,
            None,
        );
        assert_eq!(r.messages.len(), 1);
        let s = r.status.unwrap_err();
        assert_eq!((s.code(), s.message()), (Code::NotFound, "no such"));
        assert_eq!(r.trailers["x-a"], "b");
        // Trailers-only: the status in the headers.
        let mut h = HeaderMap::new();
        h.insert("grpc-status", HeaderValue::from_static("16"));
        let r = parse(Protocol::GrpcWeb, &m, StatusCode::OK, &h, b"", None);
        assert_eq!(r.status.unwrap_err().code(), Code::Unauthenticated);
        let r = parse(
            Protocol::GrpcWeb,
            &m,
            StatusCode::OK,
            &HeaderMap::new(),
            &envelope(0, b""),
            None,
        );
        assert_eq!(r.status.unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn connect_unary_and_streams() {
        let m = method("GetUser");
        let req = build(
            Protocol::Connect,
            &m,
            &[msg(&m, r#"{"id":"42"}"#)],
            true,
            Some(Duration::from_millis(1500)),
        )
        .unwrap();
        assert_eq!(req.headers["content-type"], "application/json");
        assert_eq!(req.headers["connect-protocol-version"], "1");
        assert_eq!(req.headers["connect-timeout-ms"], "1500");
        assert_eq!(&req.body[..], br#"{"id":"42"}"#);

        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let r = parse(
            Protocol::Connect,
            &m,
            StatusCode::OK,
            &h,
            br#"{"user":{"id":"42"}}"#,
            None,
        );
        assert_eq!(
            r.messages,
            [Reply::Json(serde_json::json!({"user": {"id": "42"}}))]
        );
        assert!(r.status.is_ok());
        let err = br#"{"code":"invalid_argument","message":"bad","details":[{"type":"google.rpc.ErrorInfo","value":"CgFY"}]}"#;
        let r = parse(
            Protocol::Connect,
            &m,
            StatusCode::BAD_REQUEST,
            &h,
            err,
            None,
        );
        let s = r.status.unwrap_err();
        assert_eq!((s.code(), s.message()), (Code::InvalidArgument, "bad"));
        let st = tonic_types::Status::decode(s.details()).unwrap();
        assert_eq!(
            st.details[0].type_url,
            "type.googleapis.com/google.rpc.ErrorInfo"
        );
        assert_eq!(st.details[0].value, b"\x0a\x01X");

        let track = method("TrackOrder");
        let req = build(
            Protocol::Connect,
            &track,
            &[msg(&track, r#"{"orderId":"o"}"#)],
            true,
            None,
        )
        .unwrap();
        assert_eq!(req.headers["content-type"], "application/connect+json");
        assert_eq!(
            envelopes(&req.body).unwrap(),
            [(0, &br#"{"orderId":"o"}"#[..])]
        );
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/connect+json"),
        );
        let mut body = envelope(0, br#"{"status":"ORDER_STATUS_PAID"}"#).to_vec();
        body.extend_from_slice(&envelope(
            2,
            br#"{"error":{"code":"not_found","message":"gone"},"metadata":{"x-a":["b"]}}"#,
        ));
        let r = parse(Protocol::Connect, &track, StatusCode::OK, &h, &body, None);
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.status.unwrap_err().code(), Code::NotFound);
        assert_eq!(r.trailers["x-a"], "b");
        let r = parse(
            Protocol::Connect,
            &track,
            StatusCode::OK,
            &h,
            &envelope(0, b"{}"),
            None,
        );
        assert_eq!(
            r.status.unwrap_err().code(),
            Code::Internal,
            "no end-stream message"
        );
    }

    #[test]
    fn rest_requests_and_answers() {
        let m = method("GetUser");
        let req = build(
            Protocol::Rest,
            &m,
            &[msg(&m, r#"{"id":"42"}"#)],
            false,
            None,
        )
        .unwrap();
        assert_eq!(
            (req.method.as_str(), req.path_and_query.as_str()),
            ("GET", "/v1/users/42")
        );
        assert!(req.body.is_empty());
        let pay = method("PayOrder");
        let req = build(
            Protocol::Rest,
            &pay,
            &[msg(&pay, r#"{"id":"o1","amountMinor":"100"}"#)],
            false,
            None,
        )
        .unwrap();
        assert_eq!(req.path_and_query, "/v1/orders/o1:pay");
        assert_eq!(&req.body[..], br#"{"amountMinor":"100"}"#);
        let upload = method("UploadOrders");
        let req = build(
            Protocol::Rest,
            &upload,
            &[
                msg(&upload, r#"{"requestId":"a"}"#),
                msg(&upload, r#"{"requestId":"b"}"#),
            ],
            false,
            None,
        )
        .unwrap();
        assert_eq!(req.headers["content-type"], "application/x-ndjson");
        assert_eq!(
            &req.body[..],
            b"{\"requestId\":\"a\"}\n{\"requestId\":\"b\"}\n"
        );

        let err = br#"{"code":3,"message":"invalid","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"email","description":"bad"}]}]}"#;
        let r = parse(
            Protocol::Rest,
            &m,
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            err,
            None,
        );
        let s = r.status.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert!(
            crate::call::format_details(&s).contains("email"),
            "{}",
            crate::call::format_details(&s)
        );
        let r = parse(
            Protocol::Rest,
            &m,
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            b"not found",
            None,
        );
        assert_eq!(r.status.unwrap_err().code(), Code::NotFound);

        let track = method("TrackOrder");
        let body = b"{\"status\":\"ORDER_STATUS_PAID\"}\n{\"result\":{\"status\":\"ORDER_STATUS_SHIPPED\"}}\n{\"error\":{\"code\":1,\"message\":\"x\"}}\n";
        let r = parse(
            Protocol::Rest,
            &track,
            StatusCode::OK,
            &HeaderMap::new(),
            body,
            None,
        );
        assert_eq!(r.messages.len(), 2);
        assert_eq!(
            r.messages[1],
            Reply::Json(serde_json::json!({"status": "ORDER_STATUS_SHIPPED"}))
        );
        assert_eq!(r.status.unwrap_err().code(), Code::Cancelled);
    }
}
