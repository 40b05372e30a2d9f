//! Cost of one balancer pick with 100 healthy endpoints, per policy.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use grpckit::{client::bench::PickBench, config::LoadBalancingPolicy};

fn picks(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick_100_endpoints");
    for (name, policy) in [
        ("round_robin", LoadBalancingPolicy::RoundRobin),
        (
            "weighted_round_robin",
            LoadBalancingPolicy::WeightedRoundRobin,
        ),
        ("least_connections", LoadBalancingPolicy::LeastConnections),
        ("p2c_ewma", LoadBalancingPolicy::P2cEwma),
    ] {
        let bench = PickBench::new(policy, 100);
        g.bench_function(name, |b| b.iter(|| std::hint::black_box(bench.pick())));
    }
    g.finish();
}

criterion_group!(benches, picks);
criterion_main!(benches);
