//! [`LogLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use crate::config::AccessLogConfig;
use crate::middleware::{GrpcStack, GrpcStackLayer};

/// Request ids and the access log alone.
#[derive(Debug, Clone)]
pub struct LogLayer(GrpcStackLayer);

impl LogLayer {
    /// Builds the layer.
    pub fn new(config: &AccessLogConfig) -> Self {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.log = config.clone();
        cfg.log.enabled = true;
        Self(
            GrpcStackLayer::part(&cfg, &Default::default(), &[])
                .unwrap_or_else(|_| unreachable!("no keys to load")),
        )
    }
}

impl<S> Layer<S> for LogLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
