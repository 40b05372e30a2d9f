//! Request fixtures shared by the service suites.

use grpckit_services::proto::{order::v1 as orderpb, user::v1 as userpb};

use crate::TestServer;

/// Password of [`create_user_request`] (valid under the sign-up rules).
pub const FIXTURE_PASSWORD: &str = "password-123";

/// A valid `CreateUser` for `email` (name `Ada`, [`FIXTURE_PASSWORD`]).
pub fn create_user_request(email: &str) -> userpb::CreateUserRequest {
    userpb::CreateUserRequest {
        name: "Ada".into(),
        email: email.into(),
        password: FIXTURE_PASSWORD.into(),
    }
}

/// A `CreateOrder` of `quantity` x sku `X` at 100 minor units, in USD.
pub fn order_request(
    user_id: &str,
    request_id: &str,
    quantity: u32,
) -> orderpb::CreateOrderRequest {
    orderpb::CreateOrderRequest {
        request_id: request_id.into(),
        user_id: user_id.into(),
        items: vec![orderpb::OrderItem {
            sku: "X".into(),
            quantity,
            unit_price_minor: 100,
        }],
        currency: "USD".into(),
    }
}

impl TestServer {
    /// Signs up `email` ([`create_user_request`]) without logging in; returns the user id.
    ///
    /// # Panics
    /// When the server refuses the sign-up (a test fixture: the test fails there).
    pub async fn create_user(&self, email: &str) -> String {
        self.users()
            .await
            .create_user(create_user_request(email))
            .await
            .expect("sign-up")
            .into_inner()
            .user
            .expect("CreateUser returns the user")
            .id
    }
}
