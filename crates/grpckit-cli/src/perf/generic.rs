//! `--call pkg.Service/Method`: any method, any call kind. Without placeholders the request is
//! encoded once and the same `Bytes` (a reference-counted buffer) is sent on every call;
//! replies are skipped, not decoded ([`RawCodec`]).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prost::Message;
use prost_reflect::MessageDescriptor;
use tokio_stream::StreamExt;
use tonic::{Request, Status, client::Grpc, metadata::MetadataMap};

use super::{
    engine::{WorkerCall, Workload},
    template::Template,
};
use crate::{call::parse_messages, conn::DirectChannel, reflect::RawCodec};

/// Request payload: fixed bytes, or a template rendered per request.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    Fixed(Vec<Bytes>),
    Templated {
        template: Template,
        input: MessageDescriptor,
    },
}

/// Call kind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Unary,
    ClientStream,
    ServerStream,
    Bidi,
}

#[derive(Debug)]
pub(crate) struct Generic {
    pub(crate) channels: Vec<DirectChannel>,
    /// `http://host:port` for the `:scheme`/`:authority` of every request.
    pub(crate) origin: http::Uri,
    pub(crate) path: http::uri::PathAndQuery,
    pub(crate) kind: Kind,
    pub(crate) payload: Payload,
    pub(crate) metadata: MetadataMap,
    /// Messages sent per client/bidi stream.
    pub(crate) stream_messages: usize,
}

pub(crate) struct GenericWorker {
    grpc: Grpc<DirectChannel>,
    shared: std::sync::Arc<Generic>,
    id: usize,
    text: String,
    buf: BytesMut,
}

impl std::fmt::Debug for GenericWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericWorker")
            .field("id", &self.id)
            .finish()
    }
}

/// Wraps an `Arc<Generic>` so the engine can hand it out.
#[derive(Debug)]
pub(crate) struct GenericLoad(pub(crate) std::sync::Arc<Generic>);

impl Workload for GenericLoad {
    type Worker = GenericWorker;

    fn worker(&self, id: usize) -> GenericWorker {
        let ch = self.0.channels[id % self.0.channels.len()].clone();
        GenericWorker {
            grpc: Grpc::with_origin(ch, self.0.origin.clone()),
            shared: self.0.clone(),
            id,
            text: String::new(),
            buf: BytesMut::new(),
        }
    }
}

/// The `grpc-timeout` header value of `d` (at most 8 digits, as the gRPC spec requires).
pub(crate) fn grpc_timeout(d: Duration) -> String {
    let ms = d.as_millis();
    if ms <= 99_999_999 {
        format!("{ms}m")
    } else {
        format!("{}S", d.as_secs().min(99_999_999))
    }
}

/// Encodes every message of `text` as `input`.
pub(crate) fn encode_all(input: &MessageDescriptor, text: &str) -> anyhow::Result<Vec<Bytes>> {
    Ok(parse_messages(input, text)?
        .into_iter()
        .map(|m| Bytes::from(m.encode_to_vec()))
        .collect())
}

impl GenericWorker {
    fn next_messages(&mut self, seq: u64) -> Result<Vec<Bytes>, Status> {
        match &self.shared.payload {
            Payload::Fixed(b) => Ok(b.clone()),
            Payload::Templated { template, input } => {
                template.render(&mut self.text, seq, self.id);
                let msgs = parse_messages(input, &self.text)
                    .map_err(|e| Status::invalid_argument(format!("template: {e:#}")))?;
                Ok(msgs
                    .into_iter()
                    .map(|m| {
                        self.buf.clear();
                        self.buf.reserve(m.encoded_len());
                        let _ = m.encode(&mut self.buf);
                        self.buf.split().freeze()
                    })
                    .collect())
            }
        }
    }

    /// The request with the shared metadata, `grpc-timeout` included.
    fn request<T>(&self, body: T) -> Request<T> {
        let mut r = Request::new(body);
        *r.metadata_mut() = self.shared.metadata.clone();
        r
    }
}

impl WorkerCall for GenericWorker {
    async fn call(&mut self, seq: u64) -> Result<(), Status> {
        // Fast path: unary with fixed bytes, no Vec.
        let shared = self.shared.clone();
        if let (Kind::Unary, Payload::Fixed(b)) = (shared.kind, &shared.payload) {
            let req = self.request(b[0].clone());
            self.grpc
                .ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            return self
                .grpc
                .unary(req, shared.path.clone(), RawCodec)
                .await
                .map(drop);
        }
        let msgs = self.next_messages(seq)?;
        self.grpc
            .ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let path = shared.path.clone();
        let n = shared.stream_messages.max(1);
        let stream = move |msgs: Vec<Bytes>| {
            tokio_stream::iter((0..n).map(move |i| msgs[i % msgs.len()].clone()))
        };
        match shared.kind {
            Kind::Unary => {
                let req = self.request(msgs[0].clone());
                self.grpc.unary(req, path, RawCodec).await.map(drop)
            }
            Kind::ClientStream => {
                let req = self.request(stream(msgs));
                self.grpc
                    .client_streaming(req, path, RawCodec)
                    .await
                    .map(drop)
            }
            Kind::ServerStream => {
                let req = self.request(msgs[0].clone());
                let mut s = self
                    .grpc
                    .server_streaming(req, path, RawCodec)
                    .await?
                    .into_inner();
                while s.next().await.transpose()?.is_some() {}
                Ok(())
            }
            Kind::Bidi => {
                let req = self.request(stream(msgs));
                let mut s = self.grpc.streaming(req, path, RawCodec).await?.into_inner();
                while s.next().await.transpose()?.is_some() {}
                Ok(())
            }
        }
    }
}
