//! [`RateLimitLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use crate::config::RateLimitConfig;
use crate::middleware::{GrpcStack, GrpcStackLayer};

/// Rate limiting and load shedding alone.
#[derive(Debug, Clone)]
pub struct RateLimitLayer(GrpcStackLayer);

impl RateLimitLayer {
    /// Builds the layer.
    pub fn new(config: &RateLimitConfig) -> Self {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.rate_limit = config.clone();
        cfg.rate_limit.enabled = true;
        Self(
            GrpcStackLayer::part(&cfg, &Default::default(), &[])
                .unwrap_or_else(|_| unreachable!("no keys to load")),
        )
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
