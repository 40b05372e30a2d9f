//! [`RecoverLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use crate::middleware::{GrpcStack, GrpcStackLayer};

/// Panic recovery alone.
#[derive(Debug, Clone)]
pub struct RecoverLayer(GrpcStackLayer);

impl Default for RecoverLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RecoverLayer {
    /// Builds the layer.
    pub fn new() -> Self {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.recover.enabled = true;
        Self(
            GrpcStackLayer::part(&cfg, &Default::default(), &[])
                .unwrap_or_else(|_| unreachable!("no keys to load")),
        )
    }
}

impl<S> Layer<S> for RecoverLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
