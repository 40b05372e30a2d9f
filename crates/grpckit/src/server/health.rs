//! The `grpc.health.v1.Health` service as served: tonic-health's service, with `Watch`
//! streams that end with `UNAVAILABLE` once the drain has reported `NOT_SERVING`, so an open
//! watch does not hold every shutdown open for the whole grace period.

use tonic::{Request, Response, Status};
use tonic_health::{
    pb::{HealthCheckRequest, HealthCheckResponse, health_server::Health},
    server::{HealthService, WatchStream},
};

use super::{Shutdown, end_stream::EndOnShutdown};

/// Health checking whose watches end when `drained` fires.
#[derive(Debug)]
pub(super) struct DrainingHealth {
    inner: HealthService,
    /// Fired after every status has been set to `NOT_SERVING`, so watchers see that first.
    drained: Shutdown,
}

impl DrainingHealth {
    pub(super) fn new(inner: HealthService, drained: Shutdown) -> Self {
        Self { inner, drained }
    }
}

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = EndOnShutdown<WatchStream>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let watch = self.inner.watch(request).await?.into_inner();
        Ok(Response::new(self.drained.end_stream(watch)))
    }
}
