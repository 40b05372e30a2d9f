//! Debug endpoints on the admin port (`server.debug`), each for an authenticated caller
//! with the configured role (the gRPC port's credentials: `authorization: Bearer TOKEN` or
//! `x-api-key: KEY`; `401` without valid credentials, `403` without the role):
//!
//! - `GET /debug/pprof/profile?seconds=N`: a CPU profile of the whole process for `N`
//!   seconds (default 30, at most `server.debug.max_profile_seconds`), sampled at 99 Hz,
//!   gzipped pprof protobuf as Go's `net/http/pprof` serves it (`go tool pprof`,
//!   `pprof -top`); one at a time (`409` while another runs);
//! - `GET /debug/tasks`: tokio's runtime counters per runtime (tasks alive, global queue
//!   depth, per worker busy time and parks);
//! - `GET /debug/connections`: the gRPC port's open connections ([`crate::server`]'s
//!   channelz-like listing).

mod profile;
mod tasks;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

pub(crate) use tasks::register_runtime;

use crate::{config::DebugConfig, middleware::auth::AuthState};

/// Who may call the debug endpoints and how long a profile may run.
#[derive(Debug, Clone)]
pub(crate) struct DebugAccess {
    auth: Arc<ArcSwap<AuthState>>,
    role: Arc<str>,
    max_profile_seconds: u64,
}

impl DebugAccess {
    pub(crate) fn new(cfg: &DebugConfig, auth: Arc<ArcSwap<AuthState>>) -> Self {
        Self {
            auth,
            role: cfg.role.as_str().into(),
            max_profile_seconds: cfg.max_profile_seconds,
        }
    }

    /// `Err` with the answer when the caller may not use the debug endpoints.
    #[allow(clippy::result_large_err)]
    fn check(&self, headers: &HeaderMap) -> Result<(), Response> {
        match self.auth.load().authenticate(headers) {
            Ok(Some(p)) if p.has_role(&self.role) => Ok(()),
            Ok(Some(p)) => {
                tracing::warn!(principal = p.subject(), role = %self.role, "debug endpoint refused: role missing");
                Err((
                    StatusCode::FORBIDDEN,
                    format!("the debug endpoints need the role {}\n", self.role),
                )
                    .into_response())
            }
            Ok(None) | Err(_) => Err((
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or invalid credentials (authorization: Bearer TOKEN or x-api-key)\n",
            )
                .into_response()),
        }
    }
}

/// The debug routes.
pub(crate) fn routes(access: DebugAccess) -> Router {
    Router::new()
        .route("/debug/pprof/profile", get(profile::profile))
        .route("/debug/tasks", get(tasks_view))
        .route("/debug/connections", get(connections))
        .with_state(access)
}

async fn tasks_view(State(access): State<DebugAccess>, headers: HeaderMap) -> Response {
    if let Err(refused) = access.check(&headers) {
        return refused;
    }
    Json(tasks::snapshot()).into_response()
}

async fn connections(State(access): State<DebugAccess>, headers: HeaderMap) -> Response {
    if let Err(refused) = access.check(&headers) {
        return refused;
    }
    let open = crate::server::open_connections();
    Json(serde_json::json!({ "count": open.len(), "connections": open })).into_response()
}
