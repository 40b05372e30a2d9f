//! [`TimeoutLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use crate::config::TimeoutConfig;
use crate::middleware::{GrpcStack, GrpcStackLayer};

/// Deadlines alone.
#[derive(Debug, Clone)]
pub struct TimeoutLayer(GrpcStackLayer);

impl TimeoutLayer {
    /// Builds the layer.
    pub fn new(config: &TimeoutConfig) -> Self {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.timeout = config.clone();
        cfg.timeout.enabled = true;
        Self(
            GrpcStackLayer::part(&cfg, &Default::default(), &[])
                .unwrap_or_else(|_| unreachable!("no keys to load")),
        )
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
