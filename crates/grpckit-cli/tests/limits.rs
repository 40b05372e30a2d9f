//! Message size limits: an oversized message gets RESOURCE_EXHAUSTED, the server keeps serving.

use grpckit_services::proto::user::v1 as userpb;
use grpckit_test::TestServer;
use tonic::Code;

#[tokio::test]
async fn oversized_messages_are_rejected_and_the_server_keeps_serving() {
    let srv = TestServer::start_open().await.unwrap(); // default: 4 MiB
    let mut c = srv.users().await;
    let big = "x".repeat(5 * 1024 * 1024);
    let e = c
        .create_user(userpb::CreateUserRequest {
            name: big,
            email: "big@example.com".into(),
            password: "password-123".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    // Same connection and a new one still work.
    c.create_user(userpb::CreateUserRequest {
        name: "ok".into(),
        email: "ok@example.com".into(),
        password: "password-123".into(),
    })
    .await
    .unwrap();
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
        userpb::CreateUserRequest {
            name: "fine".into(),
            email: "f@example.com".into(),
            password: "password-123".into(),
        },
        userpb::CreateUserRequest {
            name: "n".repeat(2000),
            email: "g@example.com".into(),
            password: "password-123".into(),
        },
    ];
    let e = c
        .batch_create_users(futures::stream::iter(items))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    c.create_user(userpb::CreateUserRequest {
        name: "ok".into(),
        email: "ok@example.com".into(),
        password: "password-123".into(),
    })
    .await
    .unwrap();
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
    c.create_user(userpb::CreateUserRequest {
        name: "ok".into(),
        email: "ok@example.com".into(),
        password: "password-123".into(),
    })
    .await
    .unwrap();
}

/// A 2000-byte name against a 1024-byte limit: `RESOURCE_EXHAUSTED`.
async fn refuses_an_oversized_create(
    c: &mut userpb::user_service_client::UserServiceClient<tonic::transport::Channel>,
) {
    let e = c
        .create_user(userpb::CreateUserRequest {
            name: "n".repeat(2000),
            email: "a@example.com".into(),
            password: "password-123".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
}
