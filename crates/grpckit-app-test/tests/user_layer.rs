//! A team's own tower layer (`ServerBuilder::layer`) on the real server: it runs after the
//! built-in policy parts (it sees the caller's `Principal`) for unary and all three streaming
//! kinds, and it can reject a call with a `Status` of its own.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use futures::future::{Either, Ready, ready};
use grpckit::middleware::auth::Principal;
use grpckit_app_test::{TestServer, authed, sign_up, test_config};
use grpckit_services::proto::{
    order::v1 as orderpb,
    user::v1::{self as userpb},
};
use http::{Request, Response};
use tonic::{Code, body::Body};
use tower::{Layer, Service};

/// What the layer saw of one call: its path and whether a principal was attached.
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

/// Records every call and rejects those carrying `x-reject: 1`.
#[derive(Debug, Clone, Default)]
struct Recorder {
    seen: Seen,
}

impl<S> Layer<S> for Recorder {
    type Service = RecorderService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecorderService {
            inner,
            seen: self.seen.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct RecorderService<S> {
    inner: S,
    seen: Seen,
}

impl<S> Service<Request<Body>> for RecorderService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response<Body>, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let principal = req.extensions().get::<Principal>().is_some();
        self.seen
            .lock()
            .expect("not poisoned")
            .push((req.uri().path().to_owned(), principal));
        if req.headers().get("x-reject").is_some_and(|v| v == "1") {
            let status = tonic::Status::permission_denied("rejected by user layer");
            return Either::Left(ready(Ok(status.into_http())));
        }
        Either::Right(self.inner.call(req))
    }
}

async fn start(recorder: &Recorder) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = test_config(dir.path());
    let layer = recorder.clone();
    let server = grpckit_cli::server::start_with(cfg, |b| b.layer(layer))
        .await
        .expect("server starts");
    TestServer {
        addr: server.addr,
        admin_addr: server.admin_addr,
        server: Some(server),
        dir: Some(dir),
    }
}

fn saw(seen: &Seen, path: &str) -> Vec<bool> {
    seen.lock()
        .expect("not poisoned")
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, principal)| *principal)
        .collect()
}

#[tokio::test]
async fn user_layer_sees_every_call_kind_after_auth() {
    let recorder = Recorder::default();
    let srv = start(&recorder).await;
    let mut users = srv.users().await;
    let mut orders = srv.orders().await;
    let me = sign_up(&mut users, "layer").await.expect("sign up");
    let t = &me.token;

    // Unary.
    users
        .get_user(authed(userpb::GetUserRequest { id: me.id.clone() }, t))
        .await
        .expect("GetUser");
    // Server streaming: the response headers are enough.
    let feed = users
        .stream_user_activity(authed(
            userpb::StreamUserActivityRequest {
                user_id: me.id.clone(),
                replay_last: 0,
            },
            t,
        ))
        .await
        .expect("StreamUserActivity");
    drop(feed);
    // Client streaming (no items) and bidi (no messages): whatever the handler answers,
    // the call got past authentication and through the user layer.
    let upload = orders
        .upload_orders(authed(futures::stream::iter(Vec::new()), t))
        .await;
    assert!(
        !matches!(upload, Err(ref s) if matches!(s.code(), Code::Unauthenticated | Code::PermissionDenied)),
        "{upload:?}"
    );
    let chat = orders
        .chat(authed(
            futures::stream::iter(Vec::<orderpb::ChatMessage>::new()),
            t,
        ))
        .await;
    assert!(
        !matches!(chat, Err(ref s) if matches!(s.code(), Code::Unauthenticated | Code::PermissionDenied)),
        "{:?}",
        chat.err()
    );

    let seen = &recorder.seen;
    for path in [
        "/user.v1.UserService/GetUser",
        "/user.v1.UserService/StreamUserActivity",
        "/order.v1.OrderService/UploadOrders",
        "/order.v1.OrderService/Chat",
    ] {
        assert_eq!(saw(seen, path), [true], "{path}: once, with a principal");
    }
    // A public method reaches the layer too, without a principal.
    assert_eq!(saw(seen, "/user.v1.UserService/Login"), [false]);
}

#[tokio::test]
async fn user_layer_rejects_with_its_own_status() {
    let recorder = Recorder::default();
    let srv = start(&recorder).await;
    let mut users = srv.users().await;
    let mut orders = srv.orders().await;
    let me = sign_up(&mut users, "reject").await.expect("sign up");

    let mut req = authed(userpb::GetUserRequest { id: me.id.clone() }, &me.token);
    req.metadata_mut()
        .insert("x-reject", "1".parse().expect("ascii"));
    let err = users.get_user(req).await.expect_err("rejected");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(err.message(), "rejected by user layer");

    // A streaming call is rejected the same way.
    let mut req = authed(
        futures::stream::iter(Vec::<orderpb::ChatMessage>::new()),
        &me.token,
    );
    req.metadata_mut()
        .insert("x-reject", "1".parse().expect("ascii"));
    let err = orders.chat(req).await.expect_err("rejected");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(err.message(), "rejected by user layer");

    // Without the header the same call goes through.
    users
        .get_user(authed(userpb::GetUserRequest { id: me.id }, &me.token))
        .await
        .expect("GetUser");
}
