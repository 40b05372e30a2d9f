//! How OrderService learns whether a user exists: in-process (same store) or over gRPC to
//! a UserService elsewhere (split mode).

use crate::reasons;
use std::sync::Arc;

use async_trait::async_trait;
use grpckit::client::{BalancedChannel, Instrumented, instrument};

use crate::{
    ServiceError,
    proto::user::v1::{GetUserRequest, user_service_client::UserServiceClient},
    security::CallContext,
    store::UserStore,
};

/// Looks users up.
#[async_trait]
pub trait UserDirectory: Send + Sync + std::fmt::Debug {
    /// Whether the user exists. `ctx` carries the caller's credentials and deadline to a
    /// remote UserService.
    async fn user_exists(&self, user_id: &str, ctx: &CallContext) -> Result<bool, ServiceError>;
}

/// Reads the shared store directly.
#[derive(Debug, Clone)]
pub struct LocalDirectory(pub Arc<dyn UserStore>);

#[async_trait]
impl UserDirectory for LocalDirectory {
    async fn user_exists(&self, user_id: &str, _ctx: &CallContext) -> Result<bool, ServiceError> {
        Ok(self.0.get_user(user_id).await?.is_some())
    }
}

/// Calls `user.v1.UserService/GetUser` through the framework's client channel, with client
/// metrics (`grpc_client_*`) and tracing (`traceparent` injected).
#[derive(Debug, Clone)]
pub struct GrpcDirectory {
    client: UserServiceClient<Instrumented<BalancedChannel>>,
}

impl GrpcDirectory {
    /// Uses `channel` (see `grpckit::client::ClientBuilder`), with client tracing and metrics.
    pub fn new(channel: BalancedChannel) -> Self {
        Self {
            client: UserServiceClient::new(instrument(channel)),
        }
    }
}

#[async_trait]
impl UserDirectory for GrpcDirectory {
    async fn user_exists(&self, user_id: &str, ctx: &CallContext) -> Result<bool, ServiceError> {
        let mut client = self.client.clone();
        let mut req = tonic::Request::new(GetUserRequest { id: user_id.into() });
        ctx.apply(&mut req);
        match client.get_user(req).await {
            Ok(_) => Ok(true),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(false),
            Err(s) if s.code() == tonic::Code::PermissionDenied => {
                Err(ServiceError::PermissionDenied(
                    reasons::not_owner(reasons::ORDER),
                    "not allowed to act on another user's data".into(),
                ))
            }
            Err(s) if s.code() == tonic::Code::DeadlineExceeded => Err(ServiceError::Unavailable(
                reasons::USER_SERVICE_UNAVAILABLE,
                "user service: deadline exceeded".into(),
            )),
            Err(s) => Err(ServiceError::Unavailable(
                reasons::USER_SERVICE_UNAVAILABLE,
                format!("user service unavailable: {} ({:?})", s.message(), s.code()),
            )),
        }
    }
}
