//! Cost of the middleware: the same mock unary `GetUser` call (request body read by the
//! "handler", response with one message + trailers) through no stack vs the full chain
//! (recover, log, JWT auth with a Login-style token, RBAC, rate limit, timeout,
//! `buf.validate` validation, audit). Ratios matter, not absolute numbers.
//!
//! `cargo bench -p grpckit --bench stack`

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use grpckit::{
    config::{MiddlewareConfig, RateRule},
    middleware::{GrpcStackLayer, auth::AuthSecrets},
};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use tonic::body::Body;
use tower::{Layer, Service, ServiceExt};

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

fn token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "0193f2a4-7c1e-7b3a-9d2e-1f2a3b4c5d6e", "email": "bench@example.com", "roles": ["user"],
        "iss": "grpckit", "aud": "grpckit", "iat": now, "nbf": now, "exp": now + 3600,
        "jti": "5f1f0e9c-2b7e-4a7e-9d52-3f7d1c2b9a10"
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn frame(msg: &[u8]) -> Bytes {
    let mut v = vec![0u8];
    v.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    v.extend_from_slice(msg);
    v.into()
}

async fn handler(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let _ = req.into_body().collect().await;
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = vec![
        Ok::<_, tonic::Status>(Frame::data(frame(b"\x0a\x03abc"))),
        Ok(Frame::trailers(trailers)),
    ];
    let mut resp = Response::new(Body::new(StreamBody::new(futures::stream::iter(frames))));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    Ok(resp)
}

fn request(token: &str) -> Request<Body> {
    // GetUserRequest { id: "0193f2a4-..." }
    let mut msg = vec![0x0a, 36];
    msg.extend_from_slice(b"0193f2a4-7c1e-7b3a-9d2e-1f2a3b4c5d6e");
    Request::builder()
        .method("POST")
        .uri("/user.v1.UserService/GetUser")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::new(Full::new(frame(&msg))))
        .unwrap()
}

fn secrets() -> AuthSecrets {
    AuthSecrets {
        login_secret: SECRET.as_bytes().to_vec(),
        issuer: "grpckit".into(),
        audience: "grpckit".into(),
    }
}

fn full_config(dir: &std::path::Path) -> MiddlewareConfig {
    let mut cfg = MiddlewareConfig::default();
    cfg.audit.sink = grpckit::config::AuditSinkKind::File;
    cfg.audit.file.path = dir.join("audit.log");
    cfg.rate_limit.rules = vec![RateRule {
        methods: grpckit::config::MethodPattern::any(),
        per_second: 1_000_000_000,
        burst: 1_000_000_000,
        cluster_limit: 0,
        cluster_window: Duration::from_secs(1),
        max_concurrent: 0,
    }];
    cfg
}

fn full_chain(dir: &std::path::Path) -> GrpcStackLayer {
    GrpcStackLayer::from_config(&full_config(dir), &secrets(), &[descriptors()]).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tok = token();
    let bare = tower::service_fn(handler);
    let stacked = full_chain(dir.path()).layer(tower::service_fn(handler));
    let mut g = c.benchmark_group("unary_get_user");
    g.bench_function("no_layers", |b| {
        b.to_async(&rt).iter(|| {
            let svc = bare;
            let req = request(&tok);
            async move {
                let resp = svc.oneshot(req).await.unwrap();
                resp.into_body().collect().await.unwrap()
            }
        });
    });
    g.bench_function("full_chain", |b| {
        b.to_async(&rt).iter(|| {
            let mut svc = stacked.clone();
            let req = request(&tok);
            async move {
                let resp = svc.call(req).await.unwrap();
                resp.into_body().collect().await.unwrap()
            }
        });
    });
    // Each part alone: where the chain's cost comes from.
    type Switch = fn(&mut MiddlewareConfig);
    let parts: [(&str, Switch); 7] = [
        ("recover", |c| c.recover.enabled = true),
        ("log", |c| c.log.enabled = true),
        ("auth", |c| c.auth.enabled = true),
        ("rate_limit", |c| c.rate_limit.enabled = true),
        ("timeout", |c| c.timeout.enabled = true),
        ("validate", |c| c.validate.enabled = true),
        ("audit", |c| c.audit.enabled = true),
    ];
    for (name, on) in parts {
        let mut cfg = full_config(dir.path());
        cfg.recover.enabled = false;
        cfg.log.enabled = false;
        cfg.auth.enabled = false;
        cfg.rate_limit.enabled = false;
        cfg.timeout.enabled = false;
        cfg.validate.enabled = false;
        cfg.audit.enabled = false;
        on(&mut cfg);
        let one = GrpcStackLayer::from_config(&cfg, &secrets(), &[descriptors()])
            .unwrap()
            .layer(tower::service_fn(handler));
        g.bench_function(format!("only_{name}"), |b| {
            b.to_async(&rt).iter(|| {
                let mut svc = one.clone();
                let req = request(&tok);
                async move {
                    let resp = svc.call(req).await.unwrap();
                    resp.into_body().collect().await.unwrap()
                }
            });
        });
    }
    g.finish();
}

/// The services' descriptor set (with the `buf.validate` rules), compiled as their build does.
fn descriptors() -> &'static [u8] {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut c = protox::Compiler::new([&root]).expect("proto root");
    c.include_imports(true);
    c.open_files(["user/v1/user_service.proto"])
        .expect("user service proto");
    Box::leak(c.encode_file_descriptor_set().into_boxed_slice())
}

criterion_group!(benches, bench);
criterion_main!(benches);
