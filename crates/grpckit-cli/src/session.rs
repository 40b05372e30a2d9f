//! A connected CLI session: one channel, typed clients, and the bearer token once logged in.

use std::time::{Duration, Instant};

use anyhow::Context;
use grpckit::client::ClientBuilder;
use grpckit::{client::instrument, config::ClientConfig};
use grpckit_services::proto::{
    order::v1::order_service_client::OrderServiceClient, user::v1 as userpb,
    user::v1::user_service_client::UserServiceClient,
};
use tonic::Request;
use tower::ServiceBuilder;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A channel error with a concrete type (a boxed `dyn Error` as a service error trips a
/// higher-ranked `Send` check in async workers). `source()` exposes the inner error, so
/// tonic still finds a `Status` in the chain.
#[derive(Debug)]
pub struct ChannelError(BoxError);

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ChannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Any channel the CLI talks through: the balanced, retrying `grpckit::client` channel, or a
/// plain/TLS tonic channel opened with explicit connection options.
pub type AnyChannel = tower::util::BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    ChannelError,
>;

/// Typed clients over one channel.
#[derive(Debug, Clone)]
pub struct Session {
    /// UserService client.
    pub users: UserServiceClient<AnyChannel>,
    /// OrderService client.
    pub orders: OrderServiceClient<AnyChannel>,
    /// Bearer token after [`Session::sign_up_and_login`].
    pub token: Option<String>,
    /// Per-call deadline.
    pub timeout: Duration,
}

/// A fresh user signed up by the session.
#[derive(Debug, Clone)]
pub struct Account {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

impl Session {
    /// Connects to `addr`: HOST:PORT, http://HOST:PORT, a comma-separated list of them, or
    /// dns://NAME:PORT (balanced and retried by `grpckit::client`).
    pub async fn connect(addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let cfg = ClientConfig::default();
        if !addr.contains(',') && !addr.starts_with("dns://") {
            // One address: fail early with a clear message when nothing listens.
            grpckit::client::connect(addr, &cfg)
                .await
                .with_context(|| format!("cannot reach {addr}"))?;
        }
        // Reads, and CreateOrder (idempotent on request_id), are safe to retry.
        let ch = ClientBuilder::new(cfg)
            .endpoint_list(addr)
            .idempotent("/user.v1.UserService/GetUser")
            .idempotent("/user.v1.UserService/ListUsers")
            .idempotent("/order.v1.OrderService/GetOrder")
            .idempotent("/order.v1.OrderService/ListOrders")
            .idempotent("/order.v1.OrderService/CreateOrder")
            .build()
            .with_context(|| format!("bad address {addr}"))?;
        let ch = AnyChannel::new(
            ServiceBuilder::new()
                .map_response(|r: http::Response<_>| r.map(tonic::body::Body::new))
                .map_err(ChannelError)
                .service(instrument(ch)),
        );
        Ok(Self::with_any(ch, timeout))
    }

    /// Typed clients over an existing channel (e.g. one opened with TLS options).
    pub fn with_channel(ch: tonic::transport::Channel, timeout: Duration) -> Self {
        let ch = AnyChannel::new(
            ServiceBuilder::new()
                .map_response(|r: http::Response<_>| r.map(tonic::body::Body::new))
                .map_err(|e: tonic::transport::Error| ChannelError(Box::new(e)))
                .service(instrument(ch)),
        );
        Self::with_any(ch, timeout)
    }

    fn with_any(ch: AnyChannel, timeout: Duration) -> Self {
        Self {
            users: UserServiceClient::new(ch.clone()),
            orders: OrderServiceClient::new(ch),
            token: None,
            timeout,
        }
    }

    /// Wraps a message with the deadline and, when logged in, the bearer token.
    pub fn req<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        r.set_timeout(self.timeout);
        if let Some(Ok(v)) = self.token.as_ref().map(|t| format!("Bearer {t}").parse()) {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }

    /// Signs up a unique user and logs in (keeping the token).
    pub async fn sign_up_and_login(&mut self, label: &str) -> anyhow::Result<Account> {
        let email = format!("{label}-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "correct-horse-battery".to_owned();
        let created = self
            .users
            .create_user(self.req(userpb::CreateUserRequest {
                name: label.into(),
                email: email.clone(),
                password: password.clone(),
            }))
            .await
            .context("CreateUser")?
            .into_inner();
        let id = created.user.context("CreateUser returned no user")?.id;
        let login = self
            .users
            .login(self.req(userpb::LoginRequest {
                email: email.clone(),
                password: password.clone(),
            }))
            .await
            .context("Login")?
            .into_inner();
        self.token = Some(login.access_token);
        Ok(Account {
            id,
            email,
            password,
        })
    }
}

/// Times a future.
pub async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed())
}
