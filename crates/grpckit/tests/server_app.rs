//! The framework serving a service of its own (not the reference app) through
//! [`grpckit::App`]: the shutdown sequence ends open streams and health watches, the send
//! limit, outer layers seeing every call first, and client layers on a balanced channel.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use grpckit::{
    App,
    client::{ClientBuilder, ClientService},
    config::{ClientConfig, Config, LoadBalancingPolicy},
    middleware::log::RequestId,
    server::{OuterService, Running},
};
use http::{Request, Response, uri::PathAndQuery};
use tonic::{Code, Status, body::Body, server::NamedService};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_prost::ProstCodec;
use tower::{Service, ServiceExt, layer::layer_fn};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// `test.Ticker`: `Tick` streams one `tick` and then nothing (it never watches for
/// shutdown); `Big` answers a string of the requested length.
#[derive(Debug, Clone, Copy)]
struct Ticker;

impl NamedService for Ticker {
    const NAME: &'static str = "test.Ticker";
}

struct Tick;

impl tonic::server::ServerStreamingService<()> for Tick {
    type Response = String;
    type ResponseStream = Pin<Box<dyn Stream<Item = Result<String, Status>> + Send>>;
    type Future = BoxFuture<Result<tonic::Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        Box::pin(async {
            let s = futures::stream::once(async { Ok("tick".to_owned()) })
                .chain(futures::stream::pending());
            Ok(tonic::Response::new(Box::pin(s) as Self::ResponseStream))
        })
    }
}

struct Big;

impl tonic::server::UnaryService<u64> for Big {
    type Response = String;
    type Future = BoxFuture<Result<tonic::Response<String>, Status>>;

    fn call(&mut self, req: tonic::Request<u64>) -> Self::Future {
        let len = usize::try_from(req.into_inner()).unwrap_or(0);
        Box::pin(async move { Ok(tonic::Response::new("x".repeat(len))) })
    }
}

impl Service<Request<Body>> for Ticker {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        Box::pin(async move {
            Ok(match req.uri().path() {
                "/test.Ticker/Tick" => {
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::<String, ()>::default());
                    grpc.server_streaming(Tick, req).await
                }
                "/test.Ticker/Big" => {
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::<String, u64>::default());
                    grpc.unary(Big, req).await
                }
                _ => Status::unimplemented("").into_http(),
            })
        })
    }
}

/// A config for loopback: ports chosen by the OS.
fn config() -> Config {
    let mut cfg = Config::default();
    cfg.server.address = "127.0.0.1".into();
    cfg.server.port = 0;
    cfg.server.metrics_listen = ([127, 0, 0, 1], 0).into();
    cfg
}

fn open(mut cfg: Config) -> Config {
    cfg.middleware.auth.enabled = false;
    cfg
}

async fn channel(running: &Running) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{}", running.addr))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn tick(ch: tonic::transport::Channel) -> Result<tonic::codec::Streaming<String>, Status> {
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::from_static("/test.Ticker/Tick");
    Ok(grpc
        .server_streaming(
            tonic::Request::new(()),
            path,
            ProstCodec::<(), String>::default(),
        )
        .await?
        .into_inner())
}

async fn big(ch: tonic::transport::Channel, len: u64) -> Result<String, Status> {
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::from_static("/test.Ticker/Big");
    Ok(grpc
        .unary(
            tonic::Request::new(len),
            path,
            ProstCodec::<u64, String>::default(),
        )
        .await?
        .into_inner())
}

#[tokio::test]
async fn shutdown_reports_not_serving_then_ends_open_streams_with_unavailable() {
    let mut cfg = open(config());
    cfg.server.drain_delay = Duration::from_millis(300);
    cfg.server.shutdown_grace = Duration::from_secs(20);
    let running = App::new(cfg).add_service(Ticker).start().await.unwrap();
    let ch = channel(&running).await;

    let mut ticks = tick(ch.clone()).await.unwrap();
    assert_eq!(ticks.message().await.unwrap().as_deref(), Some("tick"));
    let mut watch = HealthClient::new(ch.clone())
        .watch(HealthCheckRequest {
            service: "test.Ticker".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    let started = Instant::now();
    let shutdown = running.shutdown.clone();
    let stopped = tokio::spawn(running.wait());
    shutdown.trigger();

    // 1. Health first: the watch receives NOT_SERVING.
    let second = watch.message().await.unwrap().unwrap();
    assert_eq!(second.status(), ServingStatus::NotServing);
    // 2./3. After the drain delay, the open streams end with UNAVAILABLE (retryable).
    let end = ticks.message().await.unwrap_err();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    assert!(end.message().contains("reconnect"), "{end:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "streams ended before drain_delay: {:?}",
        started.elapsed()
    );
    let end = watch.message().await.unwrap_err();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    // 5. Nothing holds the drain open: the server stops long before the grace period.
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("server stopped")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn every_service_is_held_to_the_send_limit() {
    let mut cfg = open(config());
    cfg.server.max_send_size = 1000;
    let running = App::new(cfg).add_service(Ticker).start().await.unwrap();
    let ch = channel(&running).await;
    assert_eq!(big(ch.clone(), 900).await.unwrap().len(), 900);
    let err = big(ch, 5000).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("larger than max"), "{err:?}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn without_the_stack_the_limits_and_the_drain_still_hold() {
    let mut cfg = config();
    cfg.middleware.enabled = false;
    cfg.server.max_send_size = 1000;
    let running = App::new(cfg).add_service(Ticker).start().await.unwrap();
    let ch = channel(&running).await;
    let err = big(ch.clone(), 5000).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    let mut ticks = tick(ch).await.unwrap();
    assert_eq!(ticks.message().await.unwrap().as_deref(), Some("tick"));
    let shutdown = running.shutdown.clone();
    let stopped = tokio::spawn(running.wait());
    shutdown.trigger();
    let end = ticks.message().await.unwrap_err();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("server stopped")
        .unwrap()
        .unwrap();
}

/// What an outer layer saw of each call: its path, whether the stack had set a request id
/// yet, and the status the server answered.
type Seen = Arc<Mutex<Vec<(String, bool, Option<String>)>>>;

#[tokio::test]
async fn an_outer_layer_sees_every_call_before_trace_and_the_policy_parts() {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    // Auth on (the default): test.Ticker needs a token the client does not send.
    let running = App::new(config())
        .add_service(Ticker)
        .layer_outer(layer_fn(move |inner: OuterService| {
            let record = record.clone();
            tower::service_fn(move |req: Request<Body>| {
                let record = record.clone();
                let inner = inner.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let had_id = req.extensions().get::<RequestId>().is_some();
                    let resp = inner.oneshot(req).await?;
                    let status = resp
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    record.lock().unwrap().push((path, had_id, status));
                    Ok::<_, Infallible>(resp)
                }
            })
        }))
        .start()
        .await
        .unwrap();
    let ch = channel(&running).await;
    let unauthenticated = big(ch.clone(), 1).await.unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let unknown = grpc
        .unary(
            tonic::Request::new(()),
            PathAndQuery::from_static("/nope.Nothing/Here"),
            ProstCodec::<(), ()>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unimplemented);
    running.stop().await.unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("/test.Ticker/Big".to_owned(), false, Some("16".to_owned())),
            (
                "/nope.Nothing/Here".to_owned(),
                false,
                Some("12".to_owned())
            ),
        ]
    );
}

/// Records the `x-team` header of every call a server receives.
type Headers = Arc<Mutex<Vec<Option<String>>>>;

async fn recording_server(headers: Headers) -> Running {
    App::new(open(config()))
        .layer(layer_fn(move |inner: tonic::service::Routes| {
            let headers = headers.clone();
            tower::util::BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
                let value = req
                    .headers()
                    .get("x-team")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                headers.lock().unwrap().push(value);
                inner.clone().oneshot(req)
            }))
        }))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_layer_adds_a_header_every_endpoint_sees() {
    let (a_seen, b_seen): (Headers, Headers) = (Arc::default(), Arc::default());
    let a = recording_server(a_seen.clone()).await;
    let b = recording_server(b_seen.clone()).await;
    let channel = ClientBuilder::new(ClientConfig::default())
        .policy(LoadBalancingPolicy::RoundRobin)
        .endpoints([a.addr.to_string(), b.addr.to_string()])
        .layer(layer_fn(|inner: ClientService| {
            inner.map_request(|mut req: Request<Body>| {
                req.headers_mut()
                    .insert("x-team", http::HeaderValue::from_static("payments"));
                req
            })
        }))
        .build()
        .unwrap();
    let mut health = HealthClient::new(channel);
    for _ in 0..6 {
        health.check(HealthCheckRequest::default()).await.unwrap();
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    let (a_seen, b_seen) = (
        a_seen.lock().unwrap().clone(),
        b_seen.lock().unwrap().clone(),
    );
    assert!(
        !a_seen.is_empty() && !b_seen.is_empty(),
        "{a_seen:?} {b_seen:?}"
    );
    assert_eq!(a_seen.len() + b_seen.len(), 6);
    for v in a_seen.iter().chain(&b_seen) {
        assert_eq!(v.as_deref(), Some("payments"));
    }
}
