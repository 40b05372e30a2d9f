//! The ONE place where the server's tower stack is assembled.

use tower::Layer;

use super::msg_size::{MessageSize, MessageSizeLayer};
use crate::config::ServerConfig;

/// The composed server stack, in the order documented on [`crate::server::ServerBuilder`].
#[derive(Debug, Clone)]
pub struct GrpcStackLayer {
    msg_size: MessageSizeLayer,
}

impl GrpcStackLayer {
    /// The stack for a server config.
    pub fn new(cfg: &ServerConfig) -> Self {
        Self {
            msg_size: MessageSizeLayer::new(cfg.max_recv_size),
        }
    }
}

impl Default for GrpcStackLayer {
    fn default() -> Self {
        Self::new(&ServerConfig::default())
    }
}

impl<S> Layer<S> for GrpcStackLayer {
    type Service = MessageSize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.msg_size.layer(inner)
    }
}
