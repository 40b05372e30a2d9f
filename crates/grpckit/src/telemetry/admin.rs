//! The admin listener (default `0.0.0.0:9091`): `/metrics` for Prometheus, `/healthz` and
//! `/livez` for liveness probes, `/readyz` for readiness ([`super::probes`]) and `/config`
//! (the config in force, secrets hidden, once an application published one with
//! [`crate::config::reload::ConfigState::publish`]; 404 before). Other modules add routes
//! through [`AdminRouter`]. Plain HTTP unless
//! `server.admin_tls` is set (then the server serves these routes over HTTPS).

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::get};
use tokio::net::TcpListener;

use crate::server::Shutdown;

/// Produces the JSON `GET /config` shows.
type ConfigView = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// The view `GET /config` serves (the last one set).
static CONFIG_VIEW: ArcSwapOption<Box<ConfigView>> = ArcSwapOption::const_empty();

/// Makes `GET /config` serve what `view` returns.
pub(crate) fn set_config_view(view: ConfigView) {
    CONFIG_VIEW.store(Some(Arc::new(Box::new(view))));
}

async fn config() -> axum::response::Response {
    match CONFIG_VIEW.load_full() {
        Some(view) => Json((**view)()).into_response(),
        None => (StatusCode::NOT_FOUND, "no configuration published\n").into_response(),
    }
}

/// Routes served on the admin port.
#[derive(Debug, Default)]
pub struct AdminRouter {
    router: Router,
}

impl AdminRouter {
    /// `/healthz`, `/livez`, `/config`, `/metrics`, `/stats` and the live stats page at `/`.
    pub fn new() -> Self {
        Self {
            router: Router::new()
                .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
                .route("/config", get(config))
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
