//! `--protocol grpc-web|connect|rest` with `--call`: the load over a web protocol, to measure
//! a gateway. Each worker has its own HTTP/1.1 connection (one request at a time, opened on
//! its first call and again when the server closed it); with HTTP/2 (`--http2`, or TLS) the
//! workers share `--connections` connections. The request is built once (per call with a
//! template); answers are read whole and only their status is checked. Connect uses its
//! binary codec here. The native gRPC path ([`super::generic`]) is untouched.

use std::sync::Arc;

use http_body_util::BodyExt as _;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::Status;

use super::{
    engine::{WorkerCall, Workload},
    template::Template,
};
use crate::{
    call::{
        parse_messages,
        web::{Protocol, WebRequest, build, http_request, parse},
    },
    conn::{ConnArgs, HttpConn},
};

/// The request of every call, or the template to render per call.
#[derive(Debug, Clone)]
pub(crate) enum WebPayload {
    Fixed(WebRequest),
    Templated(Template),
}

/// What a request looks like: protocol, method, stream length, deadline.
#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) protocol: Protocol,
    pub(crate) method: MethodDescriptor,
    /// Messages per client stream.
    pub(crate) stream_messages: usize,
    /// The deadline each call carries.
    pub(crate) timeout: std::time::Duration,
}

impl Shape {
    /// The request for `msgs` (repeated to `stream_messages` on client streams).
    pub(crate) fn request(&self, msgs: Vec<DynamicMessage>) -> anyhow::Result<WebRequest> {
        let msgs = if self.method.is_client_streaming() && !msgs.is_empty() {
            let n = self.stream_messages.max(1);
            (0..n).map(|i| msgs[i % msgs.len()].clone()).collect()
        } else {
            msgs
        };
        build(
            self.protocol,
            &self.method,
            &msgs,
            false,
            Some(self.timeout),
        )
    }
}

/// What every worker shares.
#[derive(Debug)]
pub(crate) struct WebTarget {
    pub(crate) conn: ConnArgs,
    pub(crate) http2: bool,
    pub(crate) shape: Shape,
    pub(crate) payload: WebPayload,
    /// Shared HTTP/2 connections (empty for HTTP/1.1).
    pub(crate) shared: Vec<HttpConn>,
}

/// Hands out [`WebWorker`]s.
#[derive(Debug)]
pub(crate) struct WebLoad(pub(crate) Arc<WebTarget>);

/// One worker: its connection and its template buffer.
#[derive(Debug)]
pub(crate) struct WebWorker {
    target: Arc<WebTarget>,
    conn: Option<HttpConn>,
    id: usize,
    text: String,
}

impl Workload for WebLoad {
    type Worker = WebWorker;

    fn worker(&self, id: usize) -> WebWorker {
        let conn = match self.0.shared.len() {
            0 => None,
            n => self.0.shared[id % n].share(),
        };
        WebWorker {
            target: self.0.clone(),
            conn,
            id,
            text: String::new(),
        }
    }
}

impl WebWorker {
    fn request(
        &mut self,
        seq: u64,
    ) -> Result<http::Request<http_body_util::Full<bytes::Bytes>>, Status> {
        let t = &self.target;
        let req = match &t.payload {
            WebPayload::Fixed(r) => http_request(r, &t.conn.headers),
            WebPayload::Templated(template) => {
                template.render(&mut self.text, seq, self.id);
                parse_messages(&t.shape.method.input(), &self.text)
                    .and_then(|msgs| t.shape.request(msgs))
                    .and_then(|r| http_request(&r, &t.conn.headers))
            }
        };
        req.map_err(|e| Status::invalid_argument(format!("request: {e:#}")))
    }
}

impl WorkerCall for WebWorker {
    async fn call(&mut self, seq: u64) -> Result<(), Status> {
        let req = self.request(seq)?;
        if !self.conn.as_ref().is_some_and(HttpConn::is_open) {
            let t = &self.target;
            self.conn = Some(match t.shared.is_empty() {
                true => HttpConn::connect(&t.conn, t.http2)
                    .await
                    .map_err(|e| Status::from_error(e.into()))?,
                false => return Err(Status::unavailable("the HTTP/2 connection closed")),
            });
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Status::unavailable("no connection"));
        };
        let res = conn.send(req).await.map_err(|e| {
            self.conn = None;
            Status::from_error(Box::new(e))
        })?;
        let (parts, body) = res.into_parts();
        let collected = body
            .collect()
            .await
            .map_err(|e| Status::from_error(Box::new(e)))?;
        let trailers = collected.trailers().cloned();
        let body = collected.to_bytes();
        let t = &self.target;
        let s = &t.shape;
        parse(
            s.protocol,
            &s.method,
            parts.status,
            &parts.headers,
            &body,
            trailers.as_ref(),
        )
        .status
    }
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;
    use crate::call::web::envelopes;

    fn method(name: &str) -> MethodDescriptor {
        let pool = DescriptorPool::decode(grpckit_services::proto::FILE_DESCRIPTOR_SET).unwrap();
        pool.services()
            .flat_map(|s| s.methods().collect::<Vec<_>>())
            .find(|m| m.name() == name)
            .unwrap()
    }

    #[test]
    fn client_streams_repeat_the_messages_to_the_asked_length() {
        let m = method("UploadOrders");
        let shape = Shape {
            protocol: Protocol::Connect,
            method: m.clone(),
            stream_messages: 5,
            timeout: std::time::Duration::from_secs(3),
        };
        let msgs = parse_messages(&m.input(), r#"[{"requestId":"a"},{"requestId":"b"}]"#).unwrap();
        let req = shape.request(msgs).unwrap();
        assert_eq!(req.headers["content-type"], "application/connect+proto");
        assert_eq!(req.headers["connect-timeout-ms"], "3000");
        let frames = envelopes(&req.body).unwrap();
        assert_eq!(frames.len(), 5);
        assert_eq!(frames[0].1, frames[2].1);
        assert_ne!(frames[0].1, frames[1].1);
    }

    #[test]
    fn unary_connect_loads_use_the_binary_codec() {
        let m = method("GetUser");
        let shape = Shape {
            protocol: Protocol::Connect,
            method: m.clone(),
            stream_messages: 1,
            timeout: std::time::Duration::from_secs(1),
        };
        let req = shape
            .request(parse_messages(&m.input(), r#"{"id":"42"}"#).unwrap())
            .unwrap();
        assert_eq!(req.headers["content-type"], "application/proto");
        assert_eq!(&req.body[..], b"\x0a\x0242");
    }
}
