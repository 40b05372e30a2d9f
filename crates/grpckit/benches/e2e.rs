//! End to end: 32 concurrent `grpc.health.v1.Health/Check` calls against a loopback tonic
//! server, through a plain tonic `Channel` and through a `BalancedChannel` (round robin and
//! p2c_ewma) to the same single endpoint. The ratio of the two is the cost of balancing,
//! retry bookkeeping and breakers.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::join_all;
use grpckit::{
    client::ClientBuilder,
    config::{ClientConfig, LoadBalancingPolicy},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const BATCH: usize = 32;

async fn batch<T>(client: &HealthClient<T>)
where
    T: tonic::client::GrpcService<tonic::body::Body> + Clone,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let calls = (0..BATCH).map(|_| {
        let mut c = client.clone();
        async move { c.check(HealthCheckRequest::default()).await.expect("check") }
    });
    join_all(calls).await;
}

fn e2e(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (reporter, health) = tonic_health::server::health_reporter();
        tokio::spawn(async move {
            let _keep = reporter;
            tonic::transport::Server::builder()
                .add_service(health)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
        });
        addr
    });
    let url = format!("http://{addr}");
    let plain = rt.block_on(async {
        HealthClient::new(
            grpckit::client::connect(&url, &ClientConfig::default())
                .await
                .expect("connect"),
        )
    });
    let balanced = |p| {
        let _g = rt.enter();
        HealthClient::new(
            ClientBuilder::new(ClientConfig::default())
                .policy(p)
                .endpoint(&url)
                .build()
                .expect("build"),
        )
    };
    let rr = balanced(LoadBalancingPolicy::RoundRobin);
    let p2c = balanced(LoadBalancingPolicy::P2cEwma);

    let mut g = c.benchmark_group("e2e_32_concurrent_checks");
    g.bench_function("plain_tonic_channel", |b| {
        b.to_async(&rt).iter(|| batch(&plain))
    });
    g.bench_function("balanced_round_robin", |b| {
        b.to_async(&rt).iter(|| batch(&rr))
    });
    g.bench_function("balanced_p2c_ewma", |b| {
        b.to_async(&rt).iter(|| batch(&p2c))
    });
    g.finish();
}

criterion_group!(benches, e2e);
criterion_main!(benches);
