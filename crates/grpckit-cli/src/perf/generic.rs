//! `--call pkg.Service/Method`: any method, any call kind, on bare HTTP/2 connections
//! ([`DirectChannel`]). Without placeholders the request is encoded and framed once and the
//! same `Bytes` (a reference-counted buffer) is sent on every call; replies are drained, not
//! decoded.

use std::sync::Arc;

use bytes::Bytes;
use prost_reflect::MessageDescriptor;
use tonic::Status;

use super::{
    engine::{WorkerCall, Workload},
    template::Template,
};
use crate::{
    call::parse_messages,
    conn::{CallHead, DirectChannel, frame},
};

/// Request payload: framed messages, or a template rendered per request.
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
    /// URI, content type and metadata (`grpc-timeout` included) of every call.
    pub(crate) head: CallHead,
    pub(crate) kind: Kind,
    pub(crate) payload: Payload,
    /// Messages sent per client/bidi stream.
    pub(crate) stream_messages: usize,
}

#[derive(Debug)]
pub(crate) struct GenericWorker {
    channel: DirectChannel,
    shared: Arc<Generic>,
    id: usize,
    text: String,
}

/// Wraps an `Arc<Generic>` so the engine can hand it out.
#[derive(Debug)]
pub(crate) struct GenericLoad(pub(crate) Arc<Generic>);

impl Workload for GenericLoad {
    type Worker = GenericWorker;

    fn worker(&self, id: usize) -> GenericWorker {
        GenericWorker {
            channel: self.0.channels[id % self.0.channels.len()].clone(),
            shared: self.0.clone(),
            id,
            text: String::new(),
        }
    }
}

/// Encodes and frames every message of `text` as `input`.
pub(crate) fn encode_all(input: &MessageDescriptor, text: &str) -> anyhow::Result<Vec<Bytes>> {
    Ok(parse_messages(input, text)?
        .into_iter()
        .map(|m| frame(&m))
        .collect())
}

impl GenericWorker {
    /// The framed messages of request `seq` (the template rendered when there is one).
    fn messages(&mut self, seq: u64) -> Result<Vec<Bytes>, Status> {
        match &self.shared.payload {
            Payload::Fixed(b) => Ok(b.clone()),
            Payload::Templated { template, input } => {
                template.render(&mut self.text, seq, self.id);
                let msgs = parse_messages(input, &self.text)
                    .map_err(|e| Status::invalid_argument(format!("template: {e:#}")))?;
                Ok(msgs.iter().map(frame).collect())
            }
        }
    }
}

impl WorkerCall for GenericWorker {
    async fn call(&mut self, seq: u64) -> Result<(), Status> {
        let shared = self.shared.clone();
        // Fast path: unary with fixed bytes, no Vec.
        if let (Kind::Unary | Kind::ServerStream, Payload::Fixed(b)) =
            (shared.kind, &shared.payload)
        {
            return self
                .channel
                .call(&shared.head, std::iter::once(b[0].clone()))
                .await;
        }
        let msgs = self.messages(seq)?;
        let n = match shared.kind {
            Kind::Unary | Kind::ServerStream => 1,
            Kind::ClientStream | Kind::Bidi => shared.stream_messages.max(1),
        };
        let stream = (0..n).map(|i| msgs[i % msgs.len()].clone());
        self.channel.call(&shared.head, stream).await
    }
}
