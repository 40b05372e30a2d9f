//! Picking an endpoint for a call.
//!
//! - `round_robin`: each healthy endpoint in turn (one atomic counter).
//! - `weighted_round_robin`: an interleaved schedule precomputed from static weights
//!   (1:2:3 gives `A B C B C C`), indexed by the same counter: O(1) per pick.
//! - `least_connections`: the endpoint with the fewest outstanding calls; ties are broken by
//!   a rotating start so equal endpoints share the load.
//! - `p2c_ewma`: power of two random choices (Mitzenmacher, "The Power of Two Choices in
//!   Randomized Load Balancing") comparing peak-EWMA latency x (outstanding + 1), as
//!   Finagle, Linkerd and tower's `p2c` + `PeakEwma` do.
//! - `first` (load balancing off): the first healthy endpoint in configured order.
//!
//! Ejected endpoints (open breaker) are skipped; a half-open one receives exactly one probe
//! call. Endpoints already tried by this call are avoided while others remain.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use rand::Rng;
use tokio::time::Instant;

use super::{
    breaker::Admit,
    pool::{Backend, Snapshot},
};
use crate::config::LoadBalancingPolicy;

/// A policy by name, plus its state.
#[derive(Debug)]
pub(crate) struct Balancer {
    kind: Kind,
    counter: AtomicUsize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    First,
    RoundRobin,
    Weighted,
    LeastConnections,
    P2cEwma,
}

// === impl Balancer ===

impl Balancer {
    /// `enabled = false` sends everything to the first healthy endpoint.
    pub(crate) fn new(policy: LoadBalancingPolicy, enabled: bool) -> Self {
        let kind = match (enabled, policy) {
            (false, _) => Kind::First,
            (true, LoadBalancingPolicy::RoundRobin) => Kind::RoundRobin,
            (true, LoadBalancingPolicy::WeightedRoundRobin) => Kind::Weighted,
            (true, LoadBalancingPolicy::LeastConnections) => Kind::LeastConnections,
            (true, LoadBalancingPolicy::P2cEwma) => Kind::P2cEwma,
        };
        Self {
            kind,
            counter: AtomicUsize::new(0),
        }
    }

    /// Picks an endpoint, or `None` when every endpoint is ejected (or the set is empty).
    pub(crate) fn pick(
        &self,
        snap: &Snapshot,
        now: Instant,
        avoid: &[Arc<Backend>],
    ) -> Option<Arc<Backend>> {
        let n = snap.backends.len();
        if n == 0 {
            return None;
        }
        let found = match self.kind {
            Kind::First => self.scan(snap, 0, now, avoid),
            Kind::RoundRobin => self.scan(snap, self.next(), now, avoid),
            Kind::Weighted => self.weighted(snap, now, avoid),
            Kind::LeastConnections => self.least(snap, now, avoid, |b| {
                b.outstanding.load(Ordering::Relaxed) as f64
            }),
            Kind::P2cEwma => self.p2c(snap, now, avoid),
        };
        if found.is_none() && !avoid.is_empty() {
            // Every untried endpoint is down: a tried one is better than none.
            return self.pick(snap, now, &[]);
        }
        found
    }

    fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// First usable endpoint from `start` on (wrapping).
    fn scan(
        &self,
        snap: &Snapshot,
        start: usize,
        now: Instant,
        avoid: &[Arc<Backend>],
    ) -> Option<Arc<Backend>> {
        let n = snap.backends.len();
        for i in 0..n {
            let b = &snap.backends[(start + i) % n];
            if usable(b, now, avoid) {
                return Some(b.clone());
            }
        }
        None
    }

    fn weighted(
        &self,
        snap: &Snapshot,
        now: Instant,
        avoid: &[Arc<Backend>],
    ) -> Option<Arc<Backend>> {
        if snap.schedule.is_empty() {
            return None;
        }
        let idx = snap.schedule[self.next() % snap.schedule.len()] as usize;
        self.scan(snap, idx, now, avoid)
    }

    /// Lowest `score` among usable endpoints, scanning from a rotating start.
    fn least(
        &self,
        snap: &Snapshot,
        now: Instant,
        avoid: &[Arc<Backend>],
        score: impl Fn(&Backend) -> f64,
    ) -> Option<Arc<Backend>> {
        let n = snap.backends.len();
        let start = self.next();
        let mut best: Option<(&Arc<Backend>, f64, Admit)> = None;
        for i in 0..n {
            let b = &snap.backends[(start + i) % n];
            if avoid.iter().any(|a| Arc::ptr_eq(a, b)) {
                continue;
            }
            let admit = b.breaker.check(now);
            if admit == Admit::No {
                continue;
            }
            let s = score(b);
            if best.as_ref().is_none_or(|(_, bs, _)| s < *bs) {
                best = Some((b, s, admit));
            }
        }
        match best {
            Some((b, _, Admit::Yes)) => Some(b.clone()),
            Some((b, _, _)) if b.breaker.claim_probe(now) => Some(b.clone()),
            // Lost the probe race: any closed endpoint will do.
            Some(_) => self.scan_closed(snap, start, avoid),
            None => None,
        }
    }

    fn scan_closed(
        &self,
        snap: &Snapshot,
        start: usize,
        avoid: &[Arc<Backend>],
    ) -> Option<Arc<Backend>> {
        let n = snap.backends.len();
        (0..n)
            .map(|i| &snap.backends[(start + i) % n])
            .find(|b| b.breaker.is_closed() && !avoid.iter().any(|a| Arc::ptr_eq(a, b)))
            .cloned()
    }

    fn p2c(&self, snap: &Snapshot, now: Instant, avoid: &[Arc<Backend>]) -> Option<Arc<Backend>> {
        let n = snap.backends.len();
        if n == 1 {
            return self.scan(snap, 0, now, avoid);
        }
        let mut rng = rand::rng();
        let a = rng.random_range(0..n);
        let mut b = rng.random_range(0..n - 1);
        if b >= a {
            b += 1;
        }
        let (ba, bb) = (&snap.backends[a], &snap.backends[b]);
        let ok = |x: &Arc<Backend>| {
            !avoid.iter().any(|v| Arc::ptr_eq(v, x)) && x.breaker.check(now) == Admit::Yes
        };
        match (ok(ba), ok(bb)) {
            (true, true) => Some(if bb.cost() < ba.cost() {
                bb.clone()
            } else {
                ba.clone()
            }),
            (true, false) => Some(ba.clone()),
            (false, true) => Some(bb.clone()),
            // Both unusable (or half-open): fall back to the cheapest usable endpoint.
            (false, false) => self.least(snap, now, avoid, Backend::cost),
        }
    }
}

fn usable(b: &Arc<Backend>, now: Instant, avoid: &[Arc<Backend>]) -> bool {
    if avoid.iter().any(|a| Arc::ptr_eq(a, b)) {
        return false;
    }
    match b.breaker.check(now) {
        Admit::Yes => true,
        Admit::Probe => b.breaker.claim_probe(now),
        Admit::No => false,
    }
}

#[cfg(test)]
mod tests;
