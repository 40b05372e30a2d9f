use std::{collections::HashMap, sync::Arc, sync::atomic::Ordering};

use tokio::time::{Duration, Instant};

use super::*;
use crate::client::breaker::BreakerSettings;

fn settings() -> BreakerSettings {
    BreakerSettings {
        consecutive_failures: 1,
        failure_ratio: 0.0,
        min_requests: 1,
        interval: Duration::from_secs(10),
        base_open: Duration::from_secs(1),
        max_open: Duration::from_secs(10),
    }
}

fn snap(weights: &[u32]) -> Snapshot {
    Snapshot::new(
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Arc::new(Backend::new(format!("b{i}"), *w, Vec::new(), settings())))
            .collect(),
    )
}

fn counts(bal: &Balancer, s: &Snapshot, n: usize) -> HashMap<String, usize> {
    let now = Instant::now();
    let mut m = HashMap::new();
    for _ in 0..n {
        let b = bal.pick(s, now, &[]).expect("pick");
        *m.entry(b.addr.clone()).or_default() += 1;
    }
    m
}

#[tokio::test(start_paused = true)]
async fn round_robin_is_exact() {
    let s = snap(&[1, 1, 1]);
    let m = counts(
        &Balancer::new(LoadBalancingPolicy::RoundRobin, true),
        &s,
        300,
    );
    assert!(m.values().all(|c| *c == 100), "{m:?}");
}

#[tokio::test(start_paused = true)]
async fn weighted_follows_weights_interleaved() {
    let s = snap(&[1, 2, 3]);
    assert_eq!(s.schedule, vec![0, 1, 2, 1, 2, 2]);
    let m = counts(
        &Balancer::new(LoadBalancingPolicy::WeightedRoundRobin, true),
        &s,
        600,
    );
    assert_eq!((m["b0"], m["b1"], m["b2"]), (100, 200, 300));
}

#[tokio::test(start_paused = true)]
async fn ejected_endpoint_is_skipped_then_probed_once() {
    let s = snap(&[1, 1, 1]);
    let bal = Balancer::new(LoadBalancingPolicy::RoundRobin, true);
    s.backends[1].breaker.trip(Instant::now());
    let m = counts(&bal, &s, 100);
    assert_eq!(m.get("b1"), None);
    tokio::time::advance(Duration::from_millis(1100)).await;
    let m = counts(&bal, &s, 100);
    assert_eq!(m.get("b1"), Some(&1), "exactly one probe: {m:?}");
}

#[tokio::test(start_paused = true)]
async fn all_ejected_gives_none() {
    let s = snap(&[1, 1]);
    for b in &s.backends {
        b.breaker.trip(Instant::now());
    }
    for p in [
        LoadBalancingPolicy::RoundRobin,
        LoadBalancingPolicy::P2cEwma,
    ] {
        assert!(
            Balancer::new(p, true)
                .pick(&s, Instant::now(), &[])
                .is_none()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn least_connections_prefers_idle() {
    let s = snap(&[1, 1, 1]);
    s.backends[0].outstanding.store(5, Ordering::Relaxed);
    s.backends[2].outstanding.store(2, Ordering::Relaxed);
    let bal = Balancer::new(LoadBalancingPolicy::LeastConnections, true);
    for _ in 0..10 {
        assert_eq!(bal.pick(&s, Instant::now(), &[]).expect("pick").addr, "b1");
    }
}

#[tokio::test(start_paused = true)]
async fn p2c_avoids_slow_endpoint() {
    let s = snap(&[1, 1, 1]);
    s.backends[0]
        .ewma
        .observe(Duration::from_millis(200), Instant::now());
    let m = counts(&Balancer::new(LoadBalancingPolicy::P2cEwma, true), &s, 3000);
    assert!(
        m.get("b0").copied().unwrap_or(0) == 0,
        "slow endpoint never wins a pair: {m:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn avoid_prefers_untried_but_falls_back() {
    let s = snap(&[1, 1]);
    let bal = Balancer::new(LoadBalancingPolicy::RoundRobin, true);
    let avoid = vec![s.backends[0].clone()];
    for _ in 0..4 {
        assert_eq!(
            bal.pick(&s, Instant::now(), &avoid).expect("pick").addr,
            "b1"
        );
    }
    let avoid = s.backends.clone();
    assert!(bal.pick(&s, Instant::now(), &avoid).is_some());
}

#[tokio::test(start_paused = true)]
async fn disabled_balancing_sticks_to_first() {
    let s = snap(&[1, 1, 1]);
    let m = counts(
        &Balancer::new(LoadBalancingPolicy::RoundRobin, false),
        &s,
        10,
    );
    assert_eq!(m["b0"], 10);
}

#[test]
fn peak_ewma_jumps_up_and_decays() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    let rt = rt.expect("runtime");
    rt.block_on(async {
        let e =
            crate::client::pool::PeakEwma::new(Duration::from_millis(1), Duration::from_secs(1));
        e.observe(Duration::from_millis(100), Instant::now());
        assert!((e.get() - 100e6).abs() < 1.0);
        tokio::time::advance(Duration::from_secs(5)).await;
        e.observe(Duration::from_millis(1), Instant::now());
        assert!(e.get() < 3e6, "decayed toward 1ms: {}", e.get());
    });
}
