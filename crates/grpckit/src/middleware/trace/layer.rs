//! [`TraceLayer`].

use tower::Layer;

use super::TraceService;
use crate::telemetry::metrics::Side;

/// Creates a span per call (server: child of the caller's `traceparent`; client: child of the
/// current span, injected into the request).
#[derive(Debug, Clone, Copy)]
pub struct TraceLayer {
    side: Side,
}

impl TraceLayer {
    /// For the server stack.
    pub fn server() -> Self {
        Self { side: Side::Server }
    }

    /// For a client channel.
    pub fn client() -> Self {
        Self { side: Side::Client }
    }
}

impl Default for TraceLayer {
    fn default() -> Self {
        Self::server()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService::new(inner, self.side)
    }
}
