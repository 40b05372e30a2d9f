//! A connected CLI session: one channel, typed clients, and the bearer token once logged in.

use std::time::{Duration, Instant};

use anyhow::Context;
use grpckit::{
    client::{Instrumented, instrument},
    config::ClientConfig,
};
use grpckit_services::proto::{
    order::v1::order_service_client::OrderServiceClient, user::v1 as userpb,
    user::v1::user_service_client::UserServiceClient,
};
use tonic::Request;

/// Typed clients over one channel.
#[derive(Debug, Clone)]
pub struct Session {
    /// UserService client.
    pub users: UserServiceClient<Instrumented>,
    /// OrderService client.
    pub orders: OrderServiceClient<Instrumented>,
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
    /// Connects to `addr` (HOST:PORT or http://HOST:PORT).
    pub async fn connect(addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let ch = grpckit::client::connect(addr, &ClientConfig::default()).await.with_context(|| format!("cannot reach {addr}"))?;
        let ch = instrument(ch);
        Ok(Self {
            users: UserServiceClient::new(ch.clone()),
            orders: OrderServiceClient::new(ch),
            token: None,
            timeout,
        })
    }

    /// Wraps a message with the deadline and, when logged in, the bearer token.
    pub fn req<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        r.set_timeout(self.timeout);
        if let Some(t) = &self.token {
            if let Ok(v) = format!("Bearer {t}").parse() {
                r.metadata_mut().insert("authorization", v);
            }
        }
        r
    }

    /// Signs up a unique user and logs in (keeping the token).
    pub async fn sign_up_and_login(&mut self, label: &str) -> anyhow::Result<Account> {
        let email = format!("{label}-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "correct-horse-battery".to_owned();
        let created = self
            .users
            .create_user(self.req(userpb::CreateUserRequest { name: label.into(), email: email.clone(), password: password.clone() }))
            .await
            .context("CreateUser")?
            .into_inner();
        let id = created.user.context("CreateUser returned no user")?.id;
        let login = self
            .users
            .login(self.req(userpb::LoginRequest { email: email.clone(), password: password.clone() }))
            .await
            .context("Login")?
            .into_inner();
        self.token = Some(login.access_token);
        Ok(Account { id, email, password })
    }
}

/// Times a future.
pub async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed())
}
