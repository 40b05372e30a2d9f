//! The ONE place where the server's tower stack is assembled.

use tower::Layer;

/// The composed server stack. Currently the identity; the interceptor-chain work adds the
/// layers here, in the order documented on [`crate::server::ServerBuilder`].
#[derive(Debug, Clone, Default)]
pub struct GrpcStackLayer {
    _private: (),
}

impl<S> Layer<S> for GrpcStackLayer {
    type Service = S;

    fn layer(&self, inner: S) -> Self::Service {
        inner
    }
}
