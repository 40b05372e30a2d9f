//! The per-connection service hyper calls for every request: it hands the request to the
//! server's tower stack with what tonic's server used to add, namely the connection's
//! addresses ([`TcpConnectInfo`], so `tonic::Request::remote_addr()` works), on TLS
//! connections the peer certificates ([`TlsConnectInfo`], so `peer_certs()` works) and the
//! verified client identity ([`CertIdentity`]), and the caller's `grpc-timeout`: a call still
//! running when it passes is answered `CANCELLED` ("Timeout expired"), as tonic did.
//!
//! A request that is not native gRPC goes to the HTTP bridges ([`Bridges`]), which call the
//! same stack; native gRPC pays one header lookup for them.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use http::{Request, Response};
use http_body_util::Either;
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tonic::{
    Status,
    body::Body,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tower::{Service, ServiceExt, util::Oneshot};

use super::channelz;
use crate::{
    bridge::{BridgeFuture, Bridges},
    middleware::auth::CertIdentity,
};

/// What a connection tells each of its requests.
#[derive(Debug, Clone)]
pub(crate) enum ConnInfo {
    /// A plaintext TCP connection.
    Tcp(TcpConnectInfo),
    /// A TLS connection: its addresses, the peer certificates and the verified client
    /// identity (when the client presented a certificate).
    Tls {
        tcp: TcpConnectInfo,
        tls: TlsConnectInfo<TcpConnectInfo>,
        identity: Option<CertIdentity>,
    },
}

impl ConnInfo {
    /// The client's address.
    pub(crate) fn remote_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Self::Tcp(tcp) | Self::Tls { tcp, .. } => tcp.remote_addr,
        }
    }

    /// The server's address.
    pub(crate) fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Self::Tcp(tcp) | Self::Tls { tcp, .. } => tcp.local_addr,
        }
    }
}

/// The service of one connection: the server's stack, cloned per request as tonic did.
#[derive(Debug, Clone)]
pub(crate) struct ConnService<S> {
    pub(crate) inner: S,
    pub(crate) info: ConnInfo,
    /// The HTTP bridges (`None`: every request goes to the stack as gRPC).
    pub(crate) bridges: Option<Bridges>,
    /// The connection's entry in the debug listing (`None` unless `server.debug`).
    pub(crate) channelz: Option<Arc<channelz::Entry>>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for ConnService<S>
where
    S: Service<Request<Body>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = Response<Either<B, Body>>;
    type Error = S::Error;
    type Future = futures::future::Either<TimeoutFuture<Oneshot<S, Request<Body>>>, Bridged<B>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        if let Some(entry) = &self.channelz {
            entry.on_request(req.version());
        }
        let mut req = req.map(Body::new);
        let ext = req.extensions_mut();
        match &self.info {
            ConnInfo::Tcp(tcp) => {
                ext.insert(tcp.clone());
            }
            ConnInfo::Tls { tcp, tls, identity } => {
                ext.insert(tcp.clone());
                ext.insert(tls.clone());
                if let Some(id) = identity {
                    ext.insert(id.clone());
                }
            }
        }
        if let Some(bridges) = &self.bridges
            && !Bridges::is_grpc(&req)
        {
            return futures::future::Either::Right(Bridged {
                answer: bridges.serve(self.inner.clone(), req),
                body: std::marker::PhantomData,
            });
        }
        let sleep = crate::headers::grpc_timeout(req.headers()).map(tokio::time::sleep);
        futures::future::Either::Left(TimeoutFuture {
            inner: self.inner.clone().oneshot(req),
            sleep,
        })
    }
}

/// A bridged request's answer, as a response of the connection's body type.
pub(crate) struct Bridged<B> {
    answer: BridgeFuture,
    body: std::marker::PhantomData<fn() -> B>,
}

impl<B> Future for Bridged<B> {
    type Output = Result<Response<Either<B, Body>>, std::convert::Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.answer
            .as_mut()
            .poll(cx)
            .map(|r| Ok(r.map(Either::Right)))
    }
}

pin_project! {
    /// The call, or `CANCELLED` once the caller's `grpc-timeout` has passed.
    pub(crate) struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl<F, B, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<Either<B, Body>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(res) = this.inner.poll(cx) {
            return Poll::Ready(res.map(|r| r.map(Either::Left)));
        }
        if let Some(sleep) = this.sleep.as_pin_mut() {
            ready!(sleep.poll(cx));
            let res: Response<Body> = Status::cancelled("Timeout expired").into_http();
            return Poll::Ready(Ok(res.map(Either::Right)));
        }
        Poll::Pending
    }
}
