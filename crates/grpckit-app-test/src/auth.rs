//! Auth fixtures: sign up + log in, and requests carrying a bearer token.

use grpckit_services::proto::user::v1::{
    CreateUserRequest, LoginRequest, user_service_client::UserServiceClient,
};
use tonic::{Request, transport::Channel};

/// A signed-up, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Bearer token from `Login`.
    pub token: String,
}

/// Password used by [`sign_up`].
pub const TEST_PASSWORD: &str = "correct-horse-battery";

/// Creates a unique user and logs in.
pub async fn sign_up(
    users: &mut UserServiceClient<Channel>,
    label: &str,
) -> anyhow::Result<TestUser> {
    let email = format!("{label}-{}@example.com", uuid::Uuid::new_v4().simple());
    let u = users
        .create_user(CreateUserRequest {
            name: label.into(),
            email: email.clone(),
            password: TEST_PASSWORD.into(),
        })
        .await?
        .into_inner()
        .user
        .ok_or_else(|| anyhow::anyhow!("no user"))?;
    let token = login(users, &email, TEST_PASSWORD).await?;
    Ok(TestUser {
        id: u.id,
        email,
        token,
    })
}

/// Logs in and returns the token.
pub async fn login(
    users: &mut UserServiceClient<Channel>,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    Ok(users
        .login(LoginRequest {
            email: email.into(),
            password: password.into(),
        })
        .await?
        .into_inner()
        .access_token)
}

/// `msg` with `authorization: Bearer TOKEN`.
pub fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r
}
