//! [`AuditLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use crate::config::AuditConfig;
use crate::middleware::{GrpcStack, GrpcStackLayer};

/// The audit trail alone.
#[derive(Debug, Clone)]
pub struct AuditLayer(GrpcStackLayer);

impl AuditLayer {
    /// Builds the layer.
    pub fn new(config: &AuditConfig, descriptor_sets: &[&[u8]]) -> Self {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.audit = config.clone();
        cfg.audit.enabled = true;
        Self(
            GrpcStackLayer::part(&cfg, &Default::default(), descriptor_sets)
                .unwrap_or_else(|_| unreachable!("no keys to load")),
        )
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
