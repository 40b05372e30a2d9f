//! Admin routes: `/metrics` (Prometheus text), `/stats` (JSON for the live page) and `/`
//! (the live page itself, shipped inside the binary).

use axum::{
    Json, Router,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};

use super::{global, stats};

const PAGE: &str = include_str!("stats_page.html");

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        global().render(),
    )
}

async fn stats_json() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(stats::snapshot()),
    )
}

async fn page() -> impl IntoResponse {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
            ),
        ],
        PAGE,
    )
}

/// The routes to merge into the admin router.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/stats", get(stats_json))
        .route("/", get(page))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}
