//! The admin port over HTTPS (`server.admin_tls`): the same rustls settings as the gRPC
//! port ([`ServerTls`]: the `ring` provider, `server.tls.min_version`, certificate files
//! reloaded on change and on SIGHUP), each connection served by hyper-util's automatic
//! HTTP/1.1 + HTTP/2 builder with the admin router. Without `server.admin_tls` the admin
//! port is served in plain HTTP by `axum::serve` ([`AdminRouter::serve`]).
//!
//! [`AdminRouter::serve`]: crate::telemetry::admin::AdminRouter::serve

use std::{sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use tokio::{net::TcpListener, task::JoinSet};
use tower::ServiceExt;

use super::{Shutdown, incoming::accept, tls::ServerTls, tls_reload::watch_files};

/// A TLS handshake not done within this closes the connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long open admin connections may take to finish once `shutdown` fires.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves `router` over TLS on `listener` until `shutdown` fires; then open connections
/// finish their current request (at most [`CLOSE_GRACE`]).
pub(crate) async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Arc<ServerTls>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    tokio::spawn(watch_files(tls.clone(), shutdown.token().clone()));
    let mut http = Builder::new(TokioExecutor::new());
    http.http1().timer(TokioTimer::new());
    http.http2().timer(TokioTimer::new());
    let http = Arc::new(http);
    let mut conns = JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            () = shutdown.cancelled() => break,
            conn = accept(&listener, None) => conn,
        };
        while conns.try_join_next().is_some() {}
        let acceptor = tls.acceptor();
        let (router, http, shutdown) = (router.clone(), http.clone(), shutdown.clone());
        conns.spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "admin port: TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("admin port: TLS handshake timed out");
                    return;
                }
            };
            let svc =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    router.clone().oneshot(req)
                });
            let conn = http.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let res = tokio::select! {
                res = conn.as_mut() => res,
                () = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = res {
                tracing::debug!(error = %e, "admin connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}
