//! [`TestServer`]: any [`ServerBuilder`] served on `127.0.0.1:0` until stopped.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use anyhow::Context;
use grpckit::server::{ServeError, ServerBuilder, Shutdown};
use http::{Request, Response};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::{body::Body, service::Routes, transport::Channel};
use tower::{Layer, Service};

/// A server on an ephemeral loopback port, serving in a background task. Dropping it
/// triggers a graceful shutdown; [`TestServer::stop`] also waits for it and reports how
/// serving ended.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and serves `builder` (its services, stack and layers) on it.
    pub async fn start<L>(builder: ServerBuilder<L>) -> anyhow::Result<Self>
    where
        L: Layer<Routes> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let task = tokio::spawn(builder.serve(listener, shutdown.clone()));
        Ok(Self {
            addr,
            shutdown,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected channel, for a generated client (`FooClient::new(channel)`).
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Channel::from_shared(self.url())?
            .connect()
            .await
            .with_context(|| format!("connect to {}", self.addr))
    }

    /// The server's shutdown handle (trigger it to test shutdown behaviour).
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Triggers a graceful shutdown and waits (up to 30 s) for serving to end; returns
    /// serving's own error, if any.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        let task = self.task.take().context("already stopped")?;
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .context("server did not stop within 30 s")?
            .context("server task panicked")?
            .context("serving failed")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
