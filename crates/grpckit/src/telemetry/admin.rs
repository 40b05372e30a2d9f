//! The admin listener (default `0.0.0.0:9091`): `/metrics` for Prometheus, `/healthz` and
//! `/livez` for liveness probes, `/readyz` for readiness ([`super::probes`]). Other modules add routes through [`AdminRouter`]. Plain HTTP unless
//! `server.admin_tls` is set (then the server serves these routes over HTTPS).

use axum::{Router, http::StatusCode, routing::get};
use tokio::net::TcpListener;

use crate::server::Shutdown;

/// Routes served on the admin port.
#[derive(Debug, Default)]
pub struct AdminRouter {
    router: Router,
}

impl AdminRouter {
    /// `/healthz`, `/livez`, `/metrics`, `/stats` and the live stats page at `/`.
    pub fn new() -> Self {
        Self {
            router: Router::new()
                .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
                .merge(super::probes::liveness())
                .merge(crate::telemetry::metrics::routes()),
        }
    }

    /// Adds `/readyz`, the status `reporter` gives the gRPC health service
    /// ([`crate::server::ServerBuilder::health_reporter`]).
    #[must_use]
    pub fn readiness(self, reporter: tonic_health::server::HealthReporter) -> Self {
        self.merge(super::probes::readiness(reporter))
    }

    /// Merges more routes (metrics, stats page).
    #[must_use]
    pub fn merge(mut self, other: Router) -> Self {
        self.router = self.router.merge(other);
        self
    }

    /// The routes, for a listener of the server's own (HTTPS with `server.admin_tls`).
    pub(crate) fn into_router(self) -> Router {
        self.router
    }

    /// Serves in plain HTTP until `shutdown` fires.
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> std::io::Result<()> {
        axum::serve(listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}
