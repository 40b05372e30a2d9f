//! Server reflection client: lists services and fetches file descriptors (with their
//! dependencies) over `grpc.reflection.v1`, falling back to `v1alpha`. Both versions share
//! field numbers, so one set of message types serves both paths.

use std::collections::{HashSet, VecDeque};

use anyhow::{Context, bail};
use prost::Message;
use prost_types::FileDescriptorProto;
use tokio::sync::mpsc;
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::{Code, Streaming, client::Grpc, transport::Channel};
use tonic_prost::ProstCodec;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, ServerReflectionResponse, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse,
};

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// One open reflection stream.
#[derive(Debug)]
pub struct ReflectionClient {
    tx: mpsc::Sender<ServerReflectionRequest>,
    rx: Streaming<ServerReflectionResponse>,
    /// `v1` or `v1alpha`.
    pub version: &'static str,
    first: Option<MessageResponse>,
}

fn list_services() -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }
}

fn is_unimplemented(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<tonic::Status>(), Some(s) if s.code() == Code::Unimplemented)
}

impl ReflectionClient {
    /// Opens a reflection stream (v1, or v1alpha when v1 is unimplemented).
    pub async fn connect(
        channel: Channel,
        metadata: &tonic::metadata::MetadataMap,
    ) -> anyhow::Result<Self> {
        match Self::open(channel.clone(), metadata, V1, "v1").await {
            Err(e) if is_unimplemented(&e) => Self::open(channel, metadata, V1ALPHA, "v1alpha")
                .await
                .map_err(|e| if is_unimplemented(&e) { e.context("the server has no reflection service (v1 or v1alpha); pass --proto files") } else { e }),
            other => other,
        }
    }

    /// Opens the stream and checks it with a first ListServices exchange. The first request is
    /// queued before the call starts: some servers send headers only with the first reply.
    async fn open(
        channel: Channel,
        md: &tonic::metadata::MetadataMap,
        path: &'static str,
        version: &'static str,
    ) -> anyhow::Result<Self> {
        let mut grpc = Grpc::new(channel);
        grpc.ready()
            .await
            .context("reflection: channel not ready")?;
        let (tx, rx) = mpsc::channel(4);
        tx.send(list_services())
            .await
            .context("reflection: queue")?;
        let mut req = tonic::Request::new(ReceiverStream::new(rx));
        *req.metadata_mut() = md.clone();
        let codec = ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default();
        let resp = grpc
            .streaming(req, http::uri::PathAndQuery::from_static(path), codec)
            .await
            .map_err(anyhow::Error::new)?;
        let mut c = Self {
            tx,
            rx: resp.into_inner(),
            version,
            first: None,
        };
        c.first = Some(c.receive().await?);
        Ok(c)
    }

    async fn receive(&mut self) -> anyhow::Result<MessageResponse> {
        let resp = match self.rx.next().await {
            Some(Ok(r)) => r,
            Some(Err(s)) => return Err(anyhow::Error::new(s)),
            None => bail!("reflection stream ended early"),
        };
        match resp.message_response {
            Some(MessageResponse::ErrorResponse(e)) => Err(anyhow::Error::new(tonic::Status::new(
                Code::from_i32(e.error_code),
                e.error_message,
            ))),
            Some(m) => Ok(m),
            None => bail!("empty reflection response"),
        }
    }

    async fn exchange(&mut self, m: MessageRequest) -> anyhow::Result<MessageResponse> {
        self.tx
            .send(ServerReflectionRequest {
                host: String::new(),
                message_request: Some(m),
            })
            .await
            .context("reflection stream closed")?;
        self.receive().await
    }

    /// Names of the services the server exposes.
    pub async fn list_services(&mut self) -> anyhow::Result<Vec<String>> {
        let r = match self.first.take() {
            Some(r) => r,
            None => {
                self.exchange(MessageRequest::ListServices(String::new()))
                    .await?
            }
        };
        match r {
            MessageResponse::ListServicesResponse(l) => {
                Ok(l.service.into_iter().map(|s| s.name).collect())
            }
            _ => bail!("unexpected reflection response to ListServices"),
        }
    }

    /// The files defining `symbol` plus all their transitive dependencies, each as its name
    /// and its encoding as the server sent it (extension options such as `google.api.http`
    /// intact).
    pub async fn files_for_symbol(
        &mut self,
        symbol: &str,
        have: &HashSet<String>,
    ) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let first = self
            .exchange(MessageRequest::FileContainingSymbol(symbol.to_owned()))
            .await
            .with_context(|| format!("symbol {symbol:?} not found"))?;
        let mut out = Vec::new();
        let mut seen: HashSet<String> = have.clone();
        let mut queue = VecDeque::new();
        self.collect(first, &mut out, &mut seen, &mut queue)?;
        while let Some(name) = queue.pop_front() {
            match self
                .exchange(MessageRequest::FileByFilename(name.clone()))
                .await
            {
                Ok(r) => self.collect(r, &mut out, &mut seen, &mut queue)?,
                // Well-known types may not be served; the pool has them already.
                Err(_) if name.starts_with("google/protobuf/") => {}
                Err(e) => return Err(e.context(format!("dependency {name}"))),
            }
        }
        Ok(out)
    }

    fn collect(
        &self,
        r: MessageResponse,
        out: &mut Vec<(String, Vec<u8>)>,
        seen: &mut HashSet<String>,
        queue: &mut VecDeque<String>,
    ) -> anyhow::Result<()> {
        let MessageResponse::FileDescriptorResponse(f) = r else {
            bail!("unexpected reflection response")
        };
        for bytes in f.file_descriptor_proto {
            let fd = FileDescriptorProto::decode(bytes.as_slice())
                .context("bad file descriptor from the server")?;
            let name = fd.name().to_owned();
            if !seen.insert(name.clone()) {
                continue;
            }
            for dep in &fd.dependency {
                if !seen.contains(dep) {
                    queue.push_back(dep.clone());
                }
            }
            out.push((name, bytes));
        }
        Ok(())
    }
}
