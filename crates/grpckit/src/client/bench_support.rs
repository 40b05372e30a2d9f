//! A balancer over `n` in-memory endpoints, so benches can time `pick` alone.

use std::sync::Arc;

use tokio::time::{Duration, Instant};

use super::{
    balance::Balancer,
    breaker::BreakerSettings,
    pool::{Backend, Snapshot},
};
use crate::config::LoadBalancingPolicy;

/// See the module docs.
#[derive(Debug)]
pub struct PickBench {
    balancer: Balancer,
    snap: Snapshot,
}

impl PickBench {
    /// `n` endpoints with weights 1..=3 cycling.
    pub fn new(policy: LoadBalancingPolicy, n: usize) -> Self {
        let settings = BreakerSettings {
            consecutive_failures: 5,
            failure_ratio: 0.0,
            min_requests: 20,
            interval: Duration::from_secs(10),
            base_open: Duration::from_secs(1),
            max_open: Duration::from_secs(30),
        };
        let backends = (0..n)
            .map(|i| {
                let b = Backend::new(
                    format!("b{i}"),
                    (i % 3) as u32 + 1,
                    Vec::new(),
                    settings.clone(),
                );
                b.ewma
                    .observe(Duration::from_micros(100 + i as u64), Instant::now());
                Arc::new(b)
            })
            .collect();
        Self {
            balancer: Balancer::new(policy, true),
            snap: Snapshot::new(backends),
        }
    }

    /// One pick; returns the weight of the endpoint picked.
    pub fn pick(&self) -> u32 {
        self.balancer
            .pick(&self.snap, Instant::now(), &[])
            .map_or(0, |b| b.weight)
    }
}
