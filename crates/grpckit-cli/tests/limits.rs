//! Message size limits: an oversized message gets RESOURCE_EXHAUSTED, the server keeps serving.

use grpckit_app_test::TestServer;
use grpckit_services::proto::user::v1::{
    self as userpb, CreateUserRequest, user_service_client::UserServiceClient,
};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

fn create(name: String, email: &str) -> CreateUserRequest {
    CreateUserRequest {
        name,
        email: email.into(),
        password: "password-123".into(),
    }
}

/// A 2000-byte name against a 1024-byte limit: `RESOURCE_EXHAUSTED`.
async fn refuses_an_oversized_create(c: &mut UserServiceClient<Channel>) {
    let e = c
        .create_user(create("n".repeat(2000), "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    let info = e.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        (info.domain.as_str(), info.reason.as_str()),
        ("grpckit", "MESSAGE_TOO_LARGE")
    );
}

/// A normal call on the same connection still works.
async fn still_serves(c: &mut UserServiceClient<Channel>) {
    c.create_user(create("ok".into(), "ok@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn oversized_messages_are_rejected_and_the_server_keeps_serving() {
    let srv = TestServer::start_open().await.unwrap(); // default: 4 MiB
    let mut c = srv.users().await;
    let e = c
        .create_user(create("x".repeat(5 * 1024 * 1024), "big@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    // Same connection and a new one still work.
    still_serves(&mut c).await;
    srv.users()
        .await
        .get_user(userpb::GetUserRequest {
            id: "missing".into(),
        })
        .await
        .unwrap_err();
}

#[tokio::test]
async fn limits_come_from_config() {
    let srv = TestServer::start_open_with(|c| c.server.max_recv_size = 1024)
        .await
        .unwrap();
    let mut c = srv.users().await;
    refuses_an_oversized_create(&mut c).await;
    // Each message of a client stream is checked too.
    let items = vec![
        create("fine".into(), "f@example.com"),
        create("n".repeat(2000), "g@example.com"),
    ];
    let e = c
        .batch_create_users(futures::stream::iter(items))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    still_serves(&mut c).await;
}

#[tokio::test]
async fn limits_hold_without_the_middleware_stack() {
    // `middleware.enabled: false`: the server's own size layer does the check.
    let srv = TestServer::start_open_with(|c| {
        c.server.max_recv_size = 1024;
        c.middleware.enabled = false;
    })
    .await
    .unwrap();
    let mut c = srv.users().await;
    refuses_an_oversized_create(&mut c).await;
    still_serves(&mut c).await;
}
