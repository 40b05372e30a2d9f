//! The real binary: data surviving a restart, split-process mode, graceful shutdown.

use std::time::Duration;

use futures::StreamExt;
use grpckit_app_test::ServerProcess;
use grpckit_services::proto::{
    order::v1::{self as pb, order_service_client::OrderServiceClient},
    user::v1::{self as userpb, user_service_client::UserServiceClient},
};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

async fn users(url: String) -> UserServiceClient<tonic::transport::Channel> {
    UserServiceClient::connect(url).await.unwrap()
}

fn sign_up(email: &str) -> userpb::CreateUserRequest {
    userpb::CreateUserRequest {
        name: "P".into(),
        email: email.into(),
        password: "password-123".into(),
    }
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("GRPCKIT_JWT_SECRET", "restart-secret-restart-secret")];
    let mut first = ServerProcess::spawn(BIN.as_ref(), &[], &envs, dir.path()).unwrap();
    let mut c = users(first.url()).await;
    let id = c
        .create_user(sign_up("keep@example.com"))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .id;
    // A token issued before the restart stays valid after it (the secret is configured).
    let token = grpckit_app_test::login(&mut c, "keep@example.com", "password-123")
        .await
        .unwrap();
    first.terminate().unwrap();
    assert_eq!(first.wait_exit(Duration::from_secs(20)).unwrap(), Some(0));
    assert!(
        dir.path().join("grpckit.db").exists(),
        "default SQLite file in the working directory"
    );

    let second = ServerProcess::spawn(BIN.as_ref(), &[], &envs, dir.path()).unwrap();
    let mut c = users(second.url()).await;
    assert_eq!(
        c.get_user(grpckit_app_test::authed(
            userpb::GetUserRequest { id },
            &token
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .email,
        "keep@example.com"
    );
    c.login(userpb::LoginRequest {
        email: "keep@example.com".into(),
        password: "password-123".into(),
    })
    .await
    .unwrap();
    assert_eq!(
        c.create_user(sign_up("keep@example.com"))
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );
}

#[tokio::test]
async fn split_mode_order_service_calls_user_service_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let user_dir = dir.path().join("u");
    let order_dir = dir.path().join("o");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::create_dir_all(&order_dir).unwrap();
    // Both processes share the token secret: the caller's token is forwarded to UserService.
    let envs = [("GRPCKIT_JWT_SECRET", "split-secret-split-secret-split")];
    let mut user_proc =
        ServerProcess::spawn(BIN.as_ref(), &["--services", "user"], &envs, &user_dir).unwrap();
    let order_proc = ServerProcess::spawn(
        BIN.as_ref(),
        &["--services", "order", "--user-service", &user_proc.url()],
        &envs,
        &order_dir,
    )
    .unwrap();
    let mut uc = users(user_proc.url()).await;
    let uid = uc
        .create_user(sign_up("split@example.com"))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .id;
    let token = grpckit_app_test::login(&mut uc, "split@example.com", "password-123")
        .await
        .unwrap();
    // Each process serves only its own service.
    let e = users(order_proc.url())
        .await
        .get_user(grpckit_app_test::authed(
            userpb::GetUserRequest { id: uid.clone() },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);

    let mut orders = OrderServiceClient::connect(order_proc.url()).await.unwrap();
    let order_req = |uid: &str, rid: &str| pb::CreateOrderRequest {
        request_id: rid.into(),
        user_id: uid.into(),
        items: vec![pb::OrderItem {
            sku: "S".into(),
            quantity: 1,
            unit_price_minor: 10,
        }],
        currency: "USD".into(),
    };
    let req = |uid: &str, rid: &str| grpckit_app_test::authed(order_req(uid, rid), &token);
    // The user lives only in the user process's database: the order process must ask it.
    let o = orders
        .create_order(req(&uid, "split-1"))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(o.user_id, uid);
    assert_eq!(
        orders
            .create_order(req("ghost", "split-2"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied,
        "a user orders only for themselves"
    );

    // UserService down: a clear UNAVAILABLE, not a hang or an INTERNAL.
    user_proc.terminate().unwrap();
    user_proc.wait_exit(Duration::from_secs(20)).unwrap();
    let e = orders.create_order(req(&uid, "split-3")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
}

#[tokio::test]
async fn sigterm_drains_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut proc = ServerProcess::spawn(
        BIN.as_ref(),
        &["--shutdown-grace", "5s", "--no-auth"],
        &[],
        dir.path(),
    )
    .unwrap();
    let ch = tonic::transport::Channel::from_shared(proc.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(ch.clone());
    for svc in ["", "user.v1.UserService", "order.v1.OrderService"] {
        let r = health
            .check(HealthCheckRequest {
                service: svc.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{svc}");
    }
    let e = health
        .check(HealthCheckRequest {
            service: "nope.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    // An in-flight client stream: one item sent before SIGTERM, one after.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(sign_up("before@example.com")).await.unwrap();
    let mut u = UserServiceClient::new(ch.clone());
    let call = tokio::spawn(async move {
        u.batch_create_users(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    proc.terminate().unwrap();
    let st = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        st.status,
        ServingStatus::NotServing as i32,
        "health flips to NOT_SERVING on SIGTERM"
    );
    tx.send(sign_up("after@example.com")).await.unwrap();
    drop(tx);
    let r = call
        .await
        .unwrap()
        .expect("in-flight call finishes during the drain")
        .into_inner();
    assert_eq!(r.created_count, 2);
    assert_eq!(
        proc.wait_exit(Duration::from_secs(15)).unwrap(),
        Some(0),
        "exit code 0 after draining"
    );
}
