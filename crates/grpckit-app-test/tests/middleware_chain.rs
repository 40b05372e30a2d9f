//! The chain against a hidden test-only service (registered only here): panics in a handler
//! and in a response stream, a deadline that cancels the handler, validation of unary and
//! client-stream messages, rate limiting with RetryInfo — over the network.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{Stream, StreamExt};
use grpckit::{
    config::{MiddlewareConfig, RateRule, ServerConfig},
    middleware::auth::AuthSecrets,
    server::{ServerBuilder, Shutdown},
};
use grpckit_services::proto::{
    FILE_DESCRIPTOR_SET,
    user::v1::{
        self as pb,
        user_service_client::UserServiceClient,
        user_service_server::{UserService, UserServiceServer},
    },
};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::StatusExt;

/// Test-only UserService whose methods misbehave on purpose.
#[derive(Debug, Clone, Default)]
struct Chaos {
    cancelled: Arc<AtomicBool>,
}

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

type Feed = Pin<Box<dyn Stream<Item = Result<pb::ActivityEvent, Status>> + Send>>;

#[tonic::async_trait]
impl UserService for Chaos {
    async fn create_user(
        &self,
        r: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let r = r.into_inner();
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(pb::User {
                name: r.name,
                ..Default::default()
            }),
        }))
    }
    async fn get_user(
        &self,
        _r: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        panic!("boom in a handler");
    }
    async fn update_user(
        &self,
        _r: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        Ok(Response::new(pb::UpdateUserResponse::default()))
    }
    async fn delete_user(
        &self,
        _r: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        Ok(Response::new(pb::DeleteUserResponse::default()))
    }
    async fn list_users(
        &self,
        _r: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        // Slow work: only a cancelled (dropped) future sets the flag.
        let _guard = SetOnDrop(self.cancelled.clone());
        tokio::time::sleep(Duration::from_secs(30)).await;
        std::mem::forget(_guard);
        Ok(Response::new(pb::ListUsersResponse::default()))
    }
    async fn login(
        &self,
        _r: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        Ok(Response::new(pb::LoginResponse::default()))
    }
    type StreamUserActivityStream = Feed;
    async fn stream_user_activity(
        &self,
        _r: Request<pb::StreamUserActivityRequest>,
    ) -> Result<Response<Feed>, Status> {
        let s = futures::stream::iter(0..3).map(|i| {
            if i == 1 {
                panic!("boom in a stream");
            }
            Ok(pb::ActivityEvent {
                id: i.to_string(),
                ..Default::default()
            })
        });
        Ok(Response::new(Box::pin(s)))
    }
    async fn batch_create_users(
        &self,
        r: Request<Streaming<pb::CreateUserRequest>>,
    ) -> Result<Response<pb::BatchCreateUsersResponse>, Status> {
        let mut s = r.into_inner();
        let mut n = 0;
        while s.message().await?.is_some() {
            n += 1;
        }
        Ok(Response::new(pb::BatchCreateUsersResponse {
            created_count: n,
            ..Default::default()
        }))
    }
}

async fn serve(
    chaos: Chaos,
    tweak: impl FnOnce(&mut MiddlewareConfig),
) -> (
    UserServiceClient<tonic::transport::Channel>,
    Shutdown,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut mw = MiddlewareConfig::default();
    mw.auth.enabled = false;
    mw.audit.sink = grpckit::config::AuditSinkKind::File;
    mw.audit.file.path = dir.path().join("audit.log");
    tweak(&mut mw);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let b = ServerBuilder::new(ServerConfig::default())
        .add_service(UserServiceServer::new(chaos))
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .middleware(&mw, &AuthSecrets::default())
        .unwrap();
    tokio::spawn(b.serve(listener, shutdown.clone()));
    let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    (UserServiceClient::new(ch), shutdown, dir)
}

#[tokio::test]
async fn panics_become_internal_and_server_keeps_serving() {
    let (mut c, stop, _dir) = serve(Chaos::default(), |_| {}).await;
    let e = c
        .get_user(pb::GetUserRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert_eq!(
        e.message(),
        "internal error",
        "the panic message must not leak"
    );
    // Panic while the response stream is polled: first item arrives, then INTERNAL.
    let mut feed = c
        .stream_user_activity(pb::StreamUserActivityRequest {
            user_id: "x".into(),
            replay_last: 0,
        })
        .await
        .unwrap()
        .into_inner();
    // tonic may encode several items before flushing, so the panic can precede item 0.
    let mut last = None;
    while let Some(item) = feed.next().await {
        last = Some(item);
    }
    let e = last.expect("stream ended without status").unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    // Still serving.
    let r = c
        .create_user(pb::CreateUserRequest {
            name: "n".into(),
            email: "a@b.co".into(),
            password: "password-1".into(),
        })
        .await;
    assert!(r.is_ok(), "{r:?}");
    stop.trigger();
}

#[tokio::test]
async fn deadline_cancels_the_handler() {
    let chaos = Chaos::default();
    let flag = chaos.cancelled.clone();
    let (mut c, stop, _dir) =
        serve(chaos, |m| m.timeout.default = Duration::from_millis(200)).await;
    let e = c
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded);
    let info = e.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        (info.domain.as_str(), info.reason.as_str()),
        ("grpckit", "DEADLINE_EXCEEDED")
    );
    for _ in 0..100 {
        if flag.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        flag.load(Ordering::SeqCst),
        "the handler future was not dropped"
    );
    // The caller's shorter grpc-timeout wins over a long configured default, too.
    stop.trigger();
    let chaos = Chaos::default();
    let flag = chaos.cancelled.clone();
    let (mut c, stop, _dir) = serve(chaos, |m| m.timeout.default = Duration::from_secs(60)).await;
    let mut req = Request::new(pb::ListUsersRequest::default());
    req.set_timeout(Duration::from_millis(200));
    let e = c.list_users(req).await.unwrap_err();
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    for _ in 0..100 {
        if flag.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(flag.load(Ordering::SeqCst));
    stop.trigger();
}

#[tokio::test]
async fn validation_lists_every_violation_for_unary_and_client_streams() {
    let (mut c, stop, _dir) = serve(Chaos::default(), |_| {}).await;
    let e = c
        .create_user(pb::CreateUserRequest {
            name: String::new(),
            email: "not-an-email".into(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let br = e.get_details_bad_request().expect("BadRequest detail");
    let mut fields: Vec<_> = br
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    fields.sort_unstable();
    // An empty name breaks two rules (min_len and the non-blank pattern): both are listed.
    assert_eq!(fields, ["email", "name", "name", "password"], "{br:?}");
    // The message says why, not only which fields: each distinct "field: reason" pair.
    let msg = e.message();
    for pair in [
        "name: value length must be at least 1 characters",
        "email: value must be a valid email address",
        "password: value length must be at least 8 characters",
    ] {
        assert!(msg.contains(pair), "{pair:?} missing from {msg:?}");
    }
    assert!(msg.starts_with("invalid request: "), "{msg}");
    assert!(!msg.contains("name, name"), "{msg}");
    // Client stream: the second message is invalid -> the call fails, the handler never sees it.
    let ok = pb::CreateUserRequest {
        name: "a".into(),
        email: "a@b.co".into(),
        password: "password-1".into(),
    };
    let bad = pb::CreateUserRequest {
        name: "b".into(),
        email: "nope".into(),
        password: "password-1".into(),
    };
    let e = c
        .batch_create_users(futures::stream::iter(vec![ok.clone(), bad]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.get_details_bad_request().unwrap().field_violations[0].field,
        "email"
    );
    let r = c
        .batch_create_users(futures::stream::iter(vec![ok.clone(), ok]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.created_count, 2);
    // Server stream request validated too.
    let e = c
        .stream_user_activity(pb::StreamUserActivityRequest {
            user_id: String::new(),
            replay_last: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    stop.trigger();
}

#[tokio::test]
async fn rate_limit_returns_retry_info() {
    let (mut c, stop, _dir) = serve(Chaos::default(), |m| {
        m.rate_limit.rules = vec![RateRule {
            methods: grpckit::config::MethodPattern::parse("user.v1.UserService/Login").unwrap(),
            per_second: 1,
            burst: 2,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent: 0,
        }];
    })
    .await;
    let login = || pb::LoginRequest {
        email: "a@b.co".into(),
        password: "p".into(),
    };
    c.login(login()).await.unwrap();
    c.login(login()).await.unwrap();
    let e = c.login(login()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    let retry = e.get_details_retry_info().expect("RetryInfo detail");
    assert!(
        retry
            .retry_delay
            .is_some_and(|d| d > Duration::ZERO && d <= Duration::from_secs(1)),
        "{retry:?}"
    );
    // Other methods are not limited by that rule.
    c.update_user(pb::UpdateUserRequest {
        id: "x".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    stop.trigger();
}

#[tokio::test]
async fn load_shedding_refuses_fast() {
    let (mut c, stop, _dir) = serve(Chaos::default(), |m| {
        m.rate_limit.rules = vec![RateRule {
            methods: grpckit::config::MethodPattern::parse("user.v1.UserService/ListUsers")
                .unwrap(),
            per_second: 0,
            burst: 0,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent: 1,
        }];
    })
    .await;
    let mut c2 = c.clone();
    let slow = tokio::spawn(async move { c2.list_users(pb::ListUsersRequest::default()).await });
    let mut e = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        match c.list_users(pb::ListUsersRequest::default()).await {
            Err(s) if s.code() == Code::ResourceExhausted => {
                e = Some(s);
                break;
            }
            _ => {}
        }
    }
    let e = e.expect("second concurrent call was not shed");
    let info = e.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        (info.domain.as_str(), info.reason.as_str()),
        ("grpckit", "OVERLOADED")
    );
    slow.abort();
    stop.trigger();
}
