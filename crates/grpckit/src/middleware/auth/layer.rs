//! [`AuthLayer`]: the stack with only this part switched on (for use alone and in tests).

use tower::Layer;

use super::{AuthSecrets, KeyError};
use crate::config::AuthnConfig;
use crate::middleware::{GrpcStack, GrpcStackLayer};

/// Authentication and RBAC alone.
#[derive(Debug, Clone)]
pub struct AuthLayer(GrpcStackLayer);

impl AuthLayer {
    /// Builds the layer.
    pub fn new(config: &AuthnConfig, secrets: &AuthSecrets) -> Result<Self, KeyError> {
        let mut cfg = GrpcStackLayer::all_off();
        cfg.auth = config.clone();
        cfg.auth.enabled = true;
        Ok(Self(GrpcStackLayer::part(&cfg, secrets, &[])?))
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
