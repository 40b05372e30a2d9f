//! The stack with some parts switched on ([`GrpcStackLayer::builder`]): each part alone
//! works, and the parts run in the documented order.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use http::{Request, Response};
use tonic::{Code, body::Body};
use tower::{Layer, ServiceExt, service_fn};

use super::GrpcStackLayer;
use crate::{
    config::{AuthnConfig, MethodPattern, RateLimitConfig, RateRule},
    middleware::auth::AuthSecrets,
};

/// The code a response carries in its headers (`OK` when it has none: the handler answered).
fn code(resp: &Response<super::StackBody>) -> Code {
    resp.headers()
        .get("grpc-status")
        .map_or(Code::Ok, |v| Code::from_bytes(v.as_bytes()))
}

fn request(path: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/grpc")
        .body(Body::empty())
        .expect("request")
}

/// Calls `stack` around a handler that counts its calls; returns the codes and the count.
async fn run(stack: &GrpcStackLayer, paths: &[&str]) -> (Vec<Code>, usize) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let svc = stack.layer(service_fn(move |_req: Request<Body>| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Body::empty())) }
    }));
    let mut codes = Vec::new();
    for p in paths {
        let resp = svc.clone().oneshot(request(p)).await.expect("infallible");
        codes.push(code(&resp));
    }
    (codes, hits.load(Ordering::SeqCst))
}

fn closed_auth() -> AuthnConfig {
    AuthnConfig {
        public_methods: Vec::new(),
        ..AuthnConfig::default()
    }
}

fn one_per_second() -> RateLimitConfig {
    RateLimitConfig {
        rules: vec![RateRule {
            methods: MethodPattern::any(),
            per_second: 1,
            burst: 1,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent: 0,
        }],
        ..RateLimitConfig::default()
    }
}

#[tokio::test]
async fn no_parts_pass_every_call() {
    let stack = GrpcStackLayer::builder()
        .without_metrics()
        .build()
        .expect("builds");
    let (codes, hits) = run(&stack, &["/a.S/M", "/a.S/M"]).await;
    assert_eq!(codes, [Code::Ok, Code::Ok]);
    assert_eq!(hits, 2);
}

#[tokio::test]
async fn auth_alone_refuses_calls_without_credentials() {
    let stack = GrpcStackLayer::builder()
        .auth(&closed_auth(), &AuthSecrets::default())
        .build()
        .expect("builds");
    let (codes, hits) = run(&stack, &["/a.S/M"]).await;
    assert_eq!(codes, [Code::Unauthenticated]);
    assert_eq!(hits, 0, "the handler never runs");
}

#[tokio::test]
async fn recover_alone_answers_a_panic_with_internal() {
    let stack = GrpcStackLayer::builder().recover().build().expect("builds");
    let svc = stack.layer(service_fn(|_req: Request<Body>| async {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Body::empty()))
    }));
    let resp = svc.oneshot(request("/a.S/M")).await.expect("infallible");
    assert_eq!(code(&resp), Code::Internal);
}

#[tokio::test]
async fn parts_run_in_the_documented_order() {
    // Switched on in reverse: the order is the stack's, not the builder calls'.
    let stack = GrpcStackLayer::builder()
        .rate_limit(&one_per_second())
        .auth(&closed_auth(), &AuthSecrets::default())
        .build()
        .expect("builds")
        .routed_services(&["a.S"]);
    // Routing before auth: an unknown service is UNIMPLEMENTED without credentials.
    // Auth before the rate limit: refused calls take no token, so every one of them is
    // UNAUTHENTICATED (were the limit first, the second call would be RESOURCE_EXHAUSTED).
    let (codes, hits) = run(&stack, &["/b.T/M", "/a.S/M", "/a.S/M", "/a.S/M"]).await;
    assert_eq!(
        codes,
        [
            Code::Unimplemented,
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::Unauthenticated
        ]
    );
    assert_eq!(hits, 0);
    // The limit alone does refuse the second call.
    let stack = GrpcStackLayer::builder()
        .rate_limit(&one_per_second())
        .build()
        .expect("builds");
    let (codes, _) = run(&stack, &["/a.S/M", "/a.S/M"]).await;
    assert_eq!(codes, [Code::Ok, Code::ResourceExhausted]);
}

#[tokio::test]
async fn ip_filter_refuses_before_routing_and_auth() {
    use tonic::transport::server::TcpConnectInfo;
    use tonic_types::StatusExt;

    let lists: crate::config::IpFilterConfig =
        serde_norway::from_str("{deny: [10.0.0.1]}").expect("ip_filter");
    let stack = GrpcStackLayer::builder()
        .auth(&closed_auth(), &AuthSecrets::default())
        .ip_filter(&lists)
        .build()
        .expect("builds")
        .routed_services(&["a.S"]);
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let svc = stack.layer(service_fn(move |_req: Request<Body>| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Body::empty())) }
    }));
    let from = |peer: &str, path: &str| {
        let mut req = request(path);
        req.extensions_mut().insert(TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(format!("{peer}:5000").parse().expect("addr")),
        });
        svc.clone().oneshot(req)
    };
    // The denied address learns nothing: not which services exist, not whether auth runs.
    for path in ["/a.S/M", "/b.T/M"] {
        let resp = from("10.0.0.1", path).await.expect("infallible");
        assert_eq!(code(&resp), Code::PermissionDenied, "{path}");
        let status = tonic::Status::from_header_map(resp.headers()).expect("status");
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("IP_DENIED", "grpckit")
        );
    }
    // Another address goes on to routing and auth.
    let resp = from("10.0.0.2", "/b.T/M").await.expect("infallible");
    assert_eq!(code(&resp), Code::Unimplemented);
    let resp = from("10.0.0.2", "/a.S/M").await.expect("infallible");
    assert_eq!(code(&resp), Code::Unauthenticated);
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Swapped while serving: the new lists decide the next calls.
    stack
        .handles()
        .set_ip_filter(&serde_norway::from_str("{deny: [10.0.0.2]}").expect("ip_filter"))
        .expect("the stack filters addresses");
    let resp = from("10.0.0.2", "/b.T/M").await.expect("infallible");
    assert_eq!(code(&resp), Code::PermissionDenied);
    // A stack without the part cannot take lists.
    let bare = GrpcStackLayer::builder().build().expect("builds");
    assert!(bare.handles().set_ip_filter(&lists).is_err());
}

#[tokio::test]
async fn switches_turn_parts_off_per_method_and_reload() {
    use crate::config::SwitchRule;
    let stack = GrpcStackLayer::builder()
        .without_metrics()
        .auth(&closed_auth(), &AuthSecrets::default())
        .switches(&[])
        .build()
        .expect("builds");
    let paths = ["/a.S/Open", "/a.S/Closed"];
    let (codes, hits) = run(&stack, &paths).await;
    assert_eq!(codes, [Code::Unauthenticated, Code::Unauthenticated]);
    assert_eq!(hits, 0);
    // Reloaded: auth off for one method only.
    let open = SwitchRule {
        methods: vec![MethodPattern::exact("a.S/Open")],
        disable: vec!["auth".into()],
        enable: Vec::new(),
    };
    stack.handles().set_switches(&[open]).expect("switchable");
    let (codes, hits) = run(&stack, &paths).await;
    assert_eq!(codes, [Code::Ok, Code::Unauthenticated]);
    assert_eq!(hits, 1);
    // And back on.
    stack.handles().set_switches(&[]).expect("switchable");
    let (codes, _) = run(&stack, &paths).await;
    assert_eq!(codes, [Code::Unauthenticated, Code::Unauthenticated]);
}
