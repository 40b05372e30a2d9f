//! [`ValidateLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use crate::middleware::{GrpcStack, GrpcStackLayer};

/// Validation alone, for the methods of the given descriptor sets.
#[derive(Debug, Clone)]
pub struct ValidateLayer(GrpcStackLayer);

impl ValidateLayer {
    /// Builds the layer.
    pub fn new(descriptor_sets: &[&[u8]]) -> Self {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.validate.enabled = true;
        Self(
            GrpcStackLayer::part(&cfg, &Default::default(), descriptor_sets)
                .unwrap_or_else(|_| unreachable!("no keys to load")),
        )
    }
}

impl<S> Layer<S> for ValidateLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
