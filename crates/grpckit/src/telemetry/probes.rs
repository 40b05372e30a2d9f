//! Kubernetes-style probes on the admin port.
//!
//! - `GET /livez`: `200 ok` whenever the process answers HTTP. It reads nothing else (no
//!   database, no health status), so a dependency outage never restarts the process.
//! - `GET /readyz[?service=NAME]`: the gRPC health service's status, as
//!   `grpc.health.v1.Health/Check` would answer it (`""`, the server as a whole, unless
//!   `service` is given): `200 SERVING`; `503 NOT_SERVING` before serving starts and from
//!   the start of the drain (`server.drain_delay`) on; `404` for a service the server does
//!   not report.

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    routing::get,
};
use serde::Deserialize;
use tonic_health::{
    pb::{HealthCheckRequest, health_check_response::ServingStatus, health_server::Health},
    server::{HealthReporter, HealthService},
};

/// `/livez` alone (a process without a health reporter).
pub(crate) fn liveness() -> Router {
    Router::new().route("/livez", get(|| async { (StatusCode::OK, "ok\n") }))
}

/// `/readyz`, answered from `reporter` (the one [`crate::server::ServerBuilder`] serves).
pub(crate) fn readiness(reporter: HealthReporter) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .with_state(reporter)
}

/// `?service=NAME`.
#[derive(Debug, Deserialize)]
struct ReadyQuery {
    /// The health service name; empty for the server as a whole.
    #[serde(default)]
    service: String,
}

async fn readyz(
    State(reporter): State<HealthReporter>,
    Query(q): Query<ReadyQuery>,
) -> (StatusCode, String) {
    let health = HealthService::from_health_reporter(reporter);
    let service = q.service;
    let request = tonic::Request::new(HealthCheckRequest {
        service: service.clone(),
    });
    match health.check(request).await {
        Ok(r) => {
            let status =
                ServingStatus::try_from(r.into_inner().status).unwrap_or(ServingStatus::Unknown);
            let code = if status == ServingStatus::Serving {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, format!("{}\n", status.as_str_name()))
        }
        // The server as a whole is reported once serving starts.
        Err(_) if service.is_empty() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "NOT_SERVING (starting)\n".to_owned(),
        ),
        Err(_) => (
            StatusCode::NOT_FOUND,
            format!("service {service:?} is not reported by the health service\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    async fn get(router: &Router, uri: &str) -> (StatusCode, String) {
        let res = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readyz_follows_the_health_reporter() {
        let mut reporter = HealthReporter::new();
        let router = readiness(reporter.clone());
        reporter.clear_service_status("").await;
        assert_eq!(
            get(&router, "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "NOT_SERVING (starting)\n".into()
            )
        );
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        reporter
            .set_service_status("a.B", tonic_health::ServingStatus::NotServing)
            .await;
        assert_eq!(
            get(&router, "/readyz").await,
            (StatusCode::OK, "SERVING\n".into())
        );
        assert_eq!(
            get(&router, "/readyz?service=a.B").await,
            (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n".into())
        );
        assert_eq!(
            get(&router, "/readyz?service=x.Y").await.0,
            StatusCode::NOT_FOUND
        );
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        assert_eq!(
            get(&router, "/readyz").await,
            (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n".into())
        );
        assert_eq!(
            get(&liveness(), "/livez").await,
            (StatusCode::OK, "ok\n".into())
        );
    }
}
