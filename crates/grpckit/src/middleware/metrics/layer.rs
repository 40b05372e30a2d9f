//! [`MetricsLayer`].

use tower::Layer;

use super::MetricsService;
use crate::telemetry::metrics::Side;

/// Records every call passing through: `grpc_{server,client}_started_total`, `_handled_total`
/// (with the final code), `_handling_seconds`, `_msg_received_total`, `_msg_sent_total`.
#[derive(Debug, Clone, Copy)]
pub struct MetricsLayer {
    side: Side,
}

impl MetricsLayer {
    /// For the server stack (`grpc_server_*`, in-flight gauge, live stats).
    pub fn server() -> Self {
        Self { side: Side::Server }
    }

    /// For a client channel (`grpc_client_*`).
    pub fn client() -> Self {
        Self { side: Side::Client }
    }
}

impl Default for MetricsLayer {
    fn default() -> Self {
        Self::server()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService::new(inner, self.side)
    }
}
