//! One bare HTTP/2 connection for the load generator's hot path.
//!
//! tonic's `Channel` puts a `Buffer` (a worker task fed through a queue) and a reconnect
//! layer in front of hyper's connection: every call crosses one more task than it needs.
//! `grpckit perf` opens its connections up front and never reconnects, so it drives hyper's
//! `SendRequest` directly and the generator spends its CPU on calls, not hand-offs.
//! The `tonic::client::Grpc` codec path above it is unchanged.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use anyhow::Context as _;
use hyper::{body::Incoming, client::conn::http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tonic::body::Body;
use tower::Service;

use super::ConnArgs;

/// One HTTP/2 connection; clones share it (as many streams as the server allows).
#[derive(Debug, Clone)]
pub struct DirectChannel {
    send: http2::SendRequest<Body>,
}

impl DirectChannel {
    /// Opens the connection (TCP or TLS per `args`) and spawns its driver task.
    pub async fn connect(args: &ConnArgs) -> anyhow::Result<Self> {
        let authority = args.authority();
        let fut = async {
            if let Some(mut connector) = args.tls_connector()? {
                let io = connector.call(args.origin()?).await?;
                Self::handshake(io).await
            } else {
                let tcp = TcpStream::connect(authority).await?;
                tcp.set_nodelay(true)?;
                Self::handshake(TokioIo::new(tcp)).await
            }
        };
        tokio::time::timeout(args.connect_timeout, fut)
            .await
            .map_err(|_| anyhow::anyhow!("connect timed out after {:?}", args.connect_timeout))
            .and_then(|r| r)
            .with_context(|| format!("cannot connect to {}", args.addr))
    }

    async fn handshake<I>(io: I) -> anyhow::Result<Self>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (send, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .handshake(io)
            .await
            .context("HTTP/2 handshake")?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "perf connection closed");
            }
        });
        Ok(Self { send })
    }
}

impl Service<http::Request<Body>> for DirectChannel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<Incoming>, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        Box::pin(self.send.send_request(req))
    }
}
