//! The server's own accept loop: tokio listener -> optional rustls handshake -> hyper-util's
//! automatic HTTP/1.1 + HTTP/2 connection (upgrades allowed) -> one tower service, the
//! server's stack, per request ([`super::conn::ConnService`]).
//!
//! Every connection's IO (after TLS, under the parking of [`super::park`]) is wrapped in an
//! [`H2Guard`], which polices what h2 leaves unbounded (PING and control-frame floods) and
//! closes a connection whose handshake is not done within `server.handshake_timeout`
//! (README, "HTTP/2 hardening"). It sits under the parking so that it sees the bytes on the
//! wire: the frames parking answers itself included, the frames it drops from hyper's
//! output not.
//!
//! Draining: once `drained` fires the listener closes, every connection gets GOAWAY
//! (hyper's graceful shutdown: streams already open may finish) and [`serve_connections`]
//! returns when the last connection has closed or `grace` has passed.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{Request, Response};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use socket2::TcpKeepalive;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    transport::server::{Connected, TcpConnectInfo},
};
use tower::Service;

use super::{
    channelz::{self, Counted},
    conn::{ConnInfo, ConnService},
    h2_guard::{GuardConfig, H2Guard},
    incoming::{accept, tcp_keepalive},
    park::{ParkEnd, Replay, ServerSettings, learn_server_settings, park},
    proxy_protocol::read_header,
    tls::{ServerTls, certificate_identity},
};
use crate::{
    bridge::Bridges,
    config::{KeepAliveProbe, ProxyProtocolConfig, ServerConfig},
    middleware::auth::CertIdentity,
};

/// How connections are served: the HTTP settings, TCP keep-alive and TLS.
#[derive(Debug)]
pub(crate) struct Connections {
    http: Builder<TokioExecutor>,
    keepalive: Option<TcpKeepalive>,
    tls: Option<Arc<ServerTls>>,
    /// `server.max_connection_age` and its grace.
    age: (Option<Duration>, Duration),
    /// `server.max_connections`: a permit per open connection.
    budget: Option<Arc<Semaphore>>,
    /// hyper's first SETTINGS frame, for parking idle HTTP/2 connections
    /// ([`super::park`]); learnt when serving starts.
    settings: Option<ServerSettings>,
    /// `server.proxy_protocol`.
    proxy: ProxyProtocolConfig,
    /// `server.handshake_timeout`: TLS handshake, then the HTTP/2 preface and SETTINGS.
    handshake_timeout: Duration,
    /// What each connection's [`H2Guard`] enforces.
    guard: GuardConfig,
    /// The HTTP bridges (REST, gRPC-Web, Connect) for requests that are not native gRPC.
    bridges: Option<Bridges>,
    /// `server.debug.enabled`: connections are listed in [`super::channelz`].
    channelz: bool,
}

impl Connections {
    /// The settings of `server:` (TLS loaded by the caller, when enabled).
    pub(crate) fn new(
        cfg: &ServerConfig,
        tls: Option<Arc<ServerTls>>,
        budget: Option<Arc<Semaphore>>,
    ) -> Self {
        let h2 = &cfg.http2;
        let mut http = Builder::new(TokioExecutor::new());
        http.http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(cfg.max_concurrent_streams)
            .max_header_list_size(h2.max_header_list_size)
            // Both set `adaptive_window` back to false: it comes after them.
            .initial_stream_window_size(h2.initial_stream_window_size)
            .initial_connection_window_size(h2.initial_connection_window_size)
            .adaptive_window(h2.adaptive_window)
            .max_frame_size(h2.max_frame_size)
            .max_send_buf_size(h2.max_send_buf_size)
            .max_pending_accept_reset_streams(h2.max_pending_accept_reset_streams)
            .max_local_error_reset_streams(h2.max_local_error_reset_streams)
            // HTTP/2 PINGs only when asked for: hyper pays for them on every frame read
            // (`server.keep_alive.probe`); the default probes with TCP keep-alive instead.
            .keep_alive_interval(
                (cfg.keep_alive.probe == KeepAliveProbe::Http2).then_some(cfg.keep_alive.time),
            )
            .keep_alive_timeout(cfg.keep_alive.timeout);
        // hyper enforces its HTTP/1 header read timeout only with a timer.
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(cfg.handshake_timeout);
        GuardConfig::register_metrics();
        Self {
            http,
            keepalive: tcp_keepalive(&cfg.keep_alive),
            tls,
            age: (cfg.max_connection_age, cfg.max_connection_age_grace),
            budget,
            settings: None,
            proxy: cfg.proxy_protocol.clone(),
            handshake_timeout: cfg.handshake_timeout,
            guard: GuardConfig {
                ping_min_time: cfg.keep_alive.min_time,
                max_control_frames_per_second: h2.max_control_frames_per_second,
                header_block_timeout: cfg.handshake_timeout,
            },
            bridges: None,
            channelz: cfg.debug.enabled,
        }
    }

    /// Serves the HTTP bridges on these connections.
    pub(crate) fn with_bridges(mut self, bridges: Bridges) -> Self {
        self.bridges = Some(bridges);
        self
    }
}

/// Runs a hyper connection to its end; when the drain starts, sends GOAWAY (HTTP/2) or
/// closes after the current request (HTTP/1.1) and lets the open streams finish.
macro_rules! drive {
    ($conn:expr, $drain:expr, $aged:expr, $grace:expr) => {{
        // Boxed: a parked connection's task stays small (hyper's state comes with the box).
        let mut conn = Box::pin($conn);
        let grace = $grace;
        let aged = $aged;
        let res = tokio::select! {
            res = conn.as_mut() => res,
            _ = $drain.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
            () = aged => {
                conn.as_mut().graceful_shutdown();
                match tokio::time::timeout(grace, conn.as_mut()).await {
                    Ok(res) => res,
                    Err(_) => {
                        tracing::debug!("connection past its age and grace: closed");
                        Ok(())
                    }
                }
            }
        };
        if let Err(e) = res {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }};
}

/// Accepts on `listener` and serves every connection with `svc` until `drained` fires,
/// then drains (see the module doc). Returns whether every connection closed within
/// `grace`.
pub(crate) async fn serve_connections<S, B>(
    listener: TcpListener,
    conns: Connections,
    svc: S,
    drained: CancellationToken,
    grace: Duration,
) -> bool
where
    S: Service<Request<Body>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conns = conns;
    conns.settings = learn_server_settings(&conns.http).await;
    if conns.settings.is_none() {
        tracing::debug!("hyper's HTTP/2 SETTINGS could not be learnt: idle connections not parked");
    }
    let conns = Arc::new(conns);
    // Every connection holds a receiver: `closed()` resolves once the last one is gone.
    let (goaway, watcher) = watch::channel(());
    loop {
        let (stream, _) = tokio::select! {
            biased;
            () = drained.cancelled() => break,
            accepted = accept(&listener, conns.keepalive.as_ref()) => accepted,
        };
        let permit = match &conns.budget {
            None => None,
            Some(budget) => match budget.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    tracing::debug!("server.max_connections reached: connection closed");
                    continue;
                }
            },
        };
        let tcp = stream.connect_info();
        let handshake_by = Instant::now() + conns.handshake_timeout;
        let (conns, svc, drain) = (conns.clone(), svc.clone(), watcher.clone());
        // Two task types, so a plaintext connection's task is not sized for a TLS handshake.
        if conns.tls.is_some() {
            tokio::spawn(async move {
                let Some((stream, tcp)) = proxy_header(stream, tcp, handshake_by, &conns).await
                else {
                    return;
                };
                serve_tls(stream, tcp, handshake_by, conns, svc, drain).await;
                drop(permit);
            });
        } else {
            tokio::spawn(async move {
                let Some((stream, tcp)) = proxy_header(stream, tcp, handshake_by, &conns).await
                else {
                    return;
                };
                let info = ConnInfo::Tcp(tcp);
                serve_http(stream, info, handshake_by, conns, svc, drain).await;
                drop(permit);
            });
        }
    }
    drop(listener);
    drop(watcher);
    let _ = goaway.send(());
    tokio::time::timeout(grace, goaway.closed()).await.is_ok()
}

/// The connection after the PROXY protocol header of a trusted load balancer
/// (`server.proxy_protocol`): the bytes read after the header replayed first, the client
/// the header names as the remote address. `None` when the header is missing, malformed or
/// late (the connection is closed).
async fn proxy_header(
    mut stream: TcpStream,
    mut tcp: TcpConnectInfo,
    handshake_by: Instant,
    conns: &Connections,
) -> Option<(Replay<TcpStream>, TcpConnectInfo)> {
    let peer = tcp.remote_addr?;
    if !conns.proxy.expects_header(peer.ip()) {
        return Some((Replay::with_prefix(stream, Vec::new()), tcp));
    }
    match tokio::time::timeout_at(handshake_by, read_header(&mut stream)).await {
        Ok(Ok((client, rest))) => {
            if client.is_some() {
                tcp.remote_addr = client;
            }
            Some((Replay::with_prefix(stream, rest), tcp))
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "trusted proxy connection closed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "no PROXY protocol header in time: closed");
            None
        }
    }
}

/// Serves one TLS connection: the handshake (done by `handshake_by`), then [`serve_http`].
async fn serve_tls<S, B>(
    stream: Replay<TcpStream>,
    tcp: TcpConnectInfo,
    handshake_by: Instant,
    conns: Arc<Connections>,
    svc: S,
    mut drain: watch::Receiver<()>,
) where
    S: Service<Request<Body>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some(tls) = &conns.tls else { return };
    // Boxed: the handshake state is large and only needed until the handshake ends.
    let handshake = Box::pin(tokio::time::timeout_at(
        handshake_by,
        tls.acceptor().accept(stream),
    ));
    let stream = tokio::select! {
        res = handshake => match res {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(peer = ?tcp.remote_addr, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = ?tcp.remote_addr, "TLS handshake timed out");
                return;
            }
        },
        _ = drain.changed() => return,
    };
    let identity = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(certificate_identity)
        .map(CertIdentity::new);
    let info = ConnInfo::Tls {
        tls: stream.connect_info(),
        tcp,
        identity,
    };
    serve_http(stream, info, handshake_by, conns, svc, drain).await;
}

/// Serves HTTP on a connection (TLS already done) until the client closes or the drain
/// starts (GOAWAY, then the open streams may finish): guarded ([`H2Guard`]; the HTTP/2
/// handshake due by `handshake_by`), parked first while it only holds an HTTP/2 handshake
/// ([`super::park`]), then hyper.
async fn serve_http<IO, S, B>(
    io: IO,
    info: ConnInfo,
    handshake_by: Instant,
    conns: Arc<Connections>,
    svc: S,
    mut drain: watch::Receiver<()>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let deadline = conns.age.0.map(|age| Instant::now() + age);
    let aged = async move {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(aged);
    let peer = info.remote_addr();
    let listed = conns.channelz.then(|| {
        let tls = matches!(info, ConnInfo::Tls { .. });
        channelz::registry().register(peer, info.local_addr(), tls)
    });
    let entry = listed.as_ref().map(channelz::Registered::entry);
    let io = Counted::new(io, entry.clone());
    let io = H2Guard::new(io, conns.guard, handshake_by, peer);
    let Some(io) = start_http(io, &conns, &mut drain, aged.as_mut(), handshake_by, peer).await
    else {
        return;
    };
    let svc = ConnService {
        inner: svc,
        info,
        bridges: conns.bridges.clone(),
        channelz: entry,
    };
    drive!(
        conns
            .http
            .serve_connection_with_upgrades(TokioIo::new(io), svc),
        drain,
        aged,
        conns.age.1
    );
}

/// The connection for hyper: parked first while it only holds an HTTP/2 handshake
/// ([`super::park`]); `None` when it ended meanwhile (closed, the preface timed out, the
/// server drains or the connection reached its age).
async fn start_http<IO>(
    io: IO,
    conns: &Connections,
    drain: &mut watch::Receiver<()>,
    aged: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    handshake_by: Instant,
    peer: Option<std::net::SocketAddr>,
) -> Option<Replay<IO>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(settings) = &conns.settings else {
        return Some(Replay::with_prefix(io, Vec::new()));
    };
    let close = async move {
        tokio::select! {
            _ = drain.changed() => {}
            () = aged => {}
        }
    };
    let handshake_left = handshake_by.saturating_duration_since(Instant::now());
    match park(io, settings, handshake_left, close).await {
        Ok(io) => Some(io),
        Err(ParkEnd::TimedOut) => {
            tracing::debug!(?peer, "no HTTP/2 preface in time: closed");
            None
        }
        Err(ParkEnd::Closed) => None,
    }
}
