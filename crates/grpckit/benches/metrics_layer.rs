//! Per-call cost of the metrics layer (and of the trace layer while tracing is off) around a
//! trivial inner service that answers one message + `grpc-status: 0` trailers. Compare the
//! `bare` figure with the others: the difference is the layer's cost per call.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use grpckit::middleware::{metrics::MetricsLayer, trace::TraceLayer};
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};

/// One data frame, then trailers with `grpc-status: 0`.
struct Reply(u8);

impl Body for Reply {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0 += 1;
        Poll::Ready(match self.0 {
            1 => Some(Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x02\x08\x01")))),
            2 => {
                let mut t = HeaderMap::new();
                t.insert("grpc-status", http::HeaderValue::from_static("0"));
                Some(Ok(Frame::trailers(t)))
            }
            _ => None,
        })
    }
}

fn inner()
-> impl Service<Request<tonic::body::Body>, Response = Response<Reply>, Error = Infallible, Future: Send>
+ Clone {
    tower::service_fn(|_req: Request<tonic::body::Body>| async {
        Ok::<_, Infallible>(Response::new(Reply(0)))
    })
}

fn request() -> Request<tonic::body::Body> {
    Request::builder()
        .uri("http://x/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .body(tonic::body::Body::empty())
        .expect("static request")
}

fn call<S, B>(svc: &mut S)
where
    S: Service<Request<tonic::body::Body>, Response = Response<B>, Error = Infallible>,
    B: Body<Data = Bytes, Error = Infallible>,
{
    futures::executor::block_on(async {
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(request())
            .await
            .expect("call");
        let collected = resp.into_body().collect().await.expect("body");
        std::hint::black_box(collected);
    });
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_call");
    let mut bare = inner();
    g.bench_function("bare", |b| b.iter(|| call(&mut bare)));
    let mut metered = MetricsLayer::server().layer(inner());
    g.bench_function("metrics", |b| b.iter(|| call(&mut metered)));
    let mut both = TraceLayer::server().layer(MetricsLayer::server().layer(inner()));
    g.bench_function("trace_off+metrics", |b| b.iter(|| call(&mut both)));
    let mut client = grpckit::client::instrument(inner());
    g.bench_function("client_metrics", |b| b.iter(|| call(&mut client)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
