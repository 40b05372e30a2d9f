//! The endpoint set: one [`Backend`] per address with its connections, load counters and
//! breaker. Discovery swaps in a new [`Snapshot`] atomically; a backend that leaves the set
//! stays alive (connections included) until its in-flight calls drop their `Arc`, so removing
//! an endpoint never cuts a call short.

use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

use arc_swap::ArcSwap;
use tokio::time::{Duration, Instant};
use tonic::transport::Channel;

use super::breaker::{Breaker, BreakerSettings};

/// Peak-EWMA latency estimate (Finagle/Linkerd): jumps up to a slower sample at once and
/// decays toward faster samples with time constant `decay`. Lock-free; racing updates lose
/// a sample at worst.
#[derive(Debug)]
pub(crate) struct PeakEwma {
    /// f64 nanoseconds, as bits.
    estimate: AtomicU64,
    /// Nanoseconds since `origin` of the last update.
    stamp: AtomicU64,
    origin: Instant,
    decay_ns: f64,
}

impl PeakEwma {
    pub(crate) fn new(initial: Duration, decay: Duration) -> Self {
        Self {
            estimate: AtomicU64::new((initial.as_nanos() as f64).to_bits()),
            stamp: AtomicU64::new(0),
            origin: Instant::now(),
            decay_ns: decay.as_nanos().max(1) as f64,
        }
    }

    /// Current estimate in nanoseconds.
    pub(crate) fn get(&self) -> f64 {
        f64::from_bits(self.estimate.load(Ordering::Relaxed))
    }

    /// Folds in one round-trip time.
    pub(crate) fn observe(&self, rtt: Duration, now: Instant) {
        let rtt = rtt.as_nanos() as f64;
        let now_ns = now.saturating_duration_since(self.origin).as_nanos() as u64;
        let prev_ns = self.stamp.swap(now_ns, Ordering::Relaxed);
        let est = self.get();
        let next = if rtt > est {
            rtt
        } else {
            let elapsed = now_ns.saturating_sub(prev_ns) as f64;
            let w = (-elapsed / self.decay_ns).exp();
            est * w + rtt * (1.0 - w)
        };
        self.estimate.store(next.to_bits(), Ordering::Relaxed);
    }
}

/// One endpoint.
#[derive(Debug)]
pub(crate) struct Backend {
    /// Normalised URI, e.g. `http://10.0.0.7:9090`; the identity in the set.
    pub(crate) addr: String,
    /// Static weight (1 when not configured).
    pub(crate) weight: u32,
    channels: Box<[Channel]>,
    next_conn: AtomicUsize,
    /// Calls sent and not finished (response body not yet dropped).
    pub(crate) outstanding: AtomicUsize,
    /// Latency estimate for `p2c_ewma`.
    pub(crate) ewma: PeakEwma,
    /// Outlier ejection.
    pub(crate) breaker: Breaker,
}

// === impl Backend ===

impl Backend {
    pub(crate) fn new(
        addr: String,
        weight: u32,
        channels: Vec<Channel>,
        breaker: BreakerSettings,
    ) -> Self {
        Self {
            addr,
            weight,
            channels: channels.into_boxed_slice(),
            next_conn: AtomicUsize::new(0),
            outstanding: AtomicUsize::new(0),
            ewma: PeakEwma::new(Duration::from_millis(1), Duration::from_secs(10)),
            breaker: Breaker::new(breaker),
        }
    }

    /// One of the endpoint's connections (spread round robin).
    pub(crate) fn channel(&self) -> Channel {
        if self.channels.len() == 1 {
            return self.channels[0].clone();
        }
        let i = self.next_conn.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        self.channels[i].clone()
    }

    /// P2C cost: latency estimate times (outstanding + 1).
    pub(crate) fn cost(&self) -> f64 {
        self.ewma.get() * (self.outstanding.load(Ordering::Relaxed) + 1) as f64
    }
}

/// Counts a call as outstanding on a backend until dropped.
#[derive(Debug)]
pub(crate) struct InFlight(pub(crate) Arc<Backend>);

impl InFlight {
    pub(crate) fn new(b: Arc<Backend>) -> Self {
        b.outstanding.fetch_add(1, Ordering::Relaxed);
        Self(b)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The set of endpoints at one moment.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) backends: Vec<Arc<Backend>>,
    /// Interleaved weighted schedule: indexes into `backends`, each appearing `weight` times
    /// (round `r` holds every backend whose weight exceeds `r`).
    pub(crate) schedule: Vec<u32>,
}

impl Snapshot {
    pub(crate) fn new(backends: Vec<Arc<Backend>>) -> Self {
        let max = backends.iter().map(|b| b.weight).max().unwrap_or(0);
        let mut schedule = Vec::new();
        for round in 0..max {
            for (i, b) in backends.iter().enumerate() {
                if b.weight > round {
                    schedule.push(i as u32);
                }
            }
        }
        Self { backends, schedule }
    }
}

/// Builds the connections of a new backend.
pub(crate) type Connector = dyn Fn(&str) -> Option<Vec<Channel>> + Send + Sync;

/// The live endpoint set.
pub(crate) struct Pool {
    current: ArcSwap<Snapshot>,
    connect: Box<Connector>,
    breaker: BreakerSettings,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("current", &self.current.load())
            .finish()
    }
}

// === impl Pool ===

impl Pool {
    pub(crate) fn new(connect: Box<Connector>, breaker: BreakerSettings) -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot::default()),
            connect,
            breaker,
        }
    }

    /// The current set.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// Replaces the set with `wanted` (address, weight): known addresses keep their backend
    /// (connections, counters, breaker), new ones get fresh connections, missing ones leave
    /// the set (their in-flight calls finish on the connections they hold).
    pub(crate) fn update(&self, wanted: &[(String, u32)]) {
        let old = self.current.load_full();
        let mut next = Vec::with_capacity(wanted.len());
        for (addr, weight) in wanted {
            if next.iter().any(|b: &Arc<Backend>| &b.addr == addr) {
                continue;
            }
            if let Some(b) = old
                .backends
                .iter()
                .find(|b| &b.addr == addr && b.weight == *weight)
            {
                next.push(b.clone());
            } else if let Some(channels) = (self.connect)(addr) {
                tracing::debug!(endpoint = %addr, "client endpoint added");
                next.push(Arc::new(Backend::new(
                    addr.clone(),
                    *weight,
                    channels,
                    self.breaker.clone(),
                )));
            }
        }
        for b in &old.backends {
            if !next.iter().any(|n| Arc::ptr_eq(n, b)) {
                tracing::debug!(endpoint = %b.addr, "client endpoint removed");
            }
        }
        self.current.store(Arc::new(Snapshot::new(next)));
    }
}
