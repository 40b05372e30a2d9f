//! Distribution across three real backends.

use std::sync::atomic::Ordering;

use grpckit::{client::ClientBuilder, config::LoadBalancingPolicy};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_spreads_3000_calls_evenly() {
    let bs = backends(3);
    let mut cfg = test_config();
    cfg.load_balancing_policy = LoadBalancingPolicy::RoundRobin;
    let ch = channel(cfg, &bs);
    let errors = run_calls(&ch, 3000, 8, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    for b in &bs {
        assert_near(b.hits(), 1000, 5.0, "round robin share");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_round_robin_follows_1_2_3() {
    let bs = backends(3);
    let mut cfg = test_config();
    cfg.load_balancing_policy = LoadBalancingPolicy::WeightedRoundRobin;
    let ch = ClientBuilder::new(cfg)
        .weighted_endpoint(bs[0].url(), 1)
        .weighted_endpoint(bs[1].url(), 2)
        .weighted_endpoint(bs[2].url(), 3)
        .build()
        .expect("channel");
    let errors = run_calls(&ch, 3000, 8, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_near(bs[0].hits(), 500, 5.0, "weight 1");
    assert_near(bs[1].hits(), 1000, 5.0, "weight 2");
    assert_near(bs[2].hits(), 1500, 5.0, "weight 3");
}

async fn slow_instance_gets_little(policy: LoadBalancingPolicy) {
    let bs = backends(3);
    bs[0].behavior.delay_ms.store(100, Ordering::SeqCst);
    let mut cfg = test_config();
    cfg.load_balancing_policy = policy;
    let ch = channel(cfg, &bs);
    let total = 900;
    let errors = run_calls(&ch, total, 12, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    let slow = bs[0].hits();
    let fast = bs[1].hits().min(bs[2].hits());
    // Round robin would give the slow one a third (300); these policies route around it.
    assert!(
        slow * 5 < total,
        "{policy:?}: slow instance got {slow} of {total}"
    );
    assert!(fast > slow * 2, "{policy:?}: fast {fast} vs slow {slow}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connections_routes_around_slow_instance() {
    slow_instance_gets_little(LoadBalancingPolicy::LeastConnections).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2c_ewma_routes_around_slow_instance() {
    slow_instance_gets_little(LoadBalancingPolicy::P2cEwma).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_connections_per_endpoint_work() {
    let bs = backends(3);
    let mut cfg = test_config();
    cfg.connections_per_endpoint = 4;
    let ch = channel(cfg, &bs);
    let errors = run_calls(&ch, 300, 8, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bs.iter().map(Backend::hits).sum::<usize>(), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_balancing_policy_applies_to_new_calls() {
    let bs = backends(3);
    let mut cfg = test_config();
    cfg.enable_load_balancing = false;
    let ch = channel(cfg.clone(), &bs);
    let errors = run_calls(&ch, 60, 2, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bs[0].hits(), 60, "balancing off: the first endpoint only");

    cfg.enable_load_balancing = true;
    cfg.load_balancing_policy = LoadBalancingPolicy::RoundRobin;
    ch.set_policies(&cfg).expect("valid policy");
    let errors = run_calls(&ch, 300, 2, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_near(bs[1].hits(), 100, 10.0, "round robin after the swap");
    assert_near(bs[2].hits(), 100, 10.0, "round robin after the swap");
}
