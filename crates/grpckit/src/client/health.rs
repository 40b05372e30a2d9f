//! Active health probing with `grpc.health.v1.Health/Check`: `NOT_SERVING` (or no answer)
//! ejects the endpoint; `SERVING` brings an ejected one back. A server that is shutting
//! down flips to `NOT_SERVING` first, so it stops getting calls before it drains.

use std::{sync::Arc, time::Duration};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::pool::{Backend, Pool};

/// Probes every endpoint every `every`.
pub(crate) async fn run(pool: Arc<Pool>, service: String, every: Duration, timeout: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let backends = pool.load().backends.clone();
        let probes = backends.iter().map(|b| probe(b, &service, timeout));
        futures::future::join_all(probes).await;
    }
}

async fn probe(b: &Arc<Backend>, service: &str, timeout: Duration) {
    let mut client = HealthClient::new(b.channel());
    let mut req = tonic::Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    req.set_timeout(timeout);
    let serving = match tokio::time::timeout(timeout, client.check(req)).await {
        Ok(Ok(resp)) => resp.into_inner().status == ServingStatus::Serving as i32,
        _ => false,
    };
    let now = tokio::time::Instant::now();
    if serving {
        if !b.breaker.is_closed() {
            b.breaker.success(now);
        }
    } else {
        tracing::debug!(endpoint = %b.addr, "health check failed; ejecting");
        b.breaker.trip(now);
    }
}
