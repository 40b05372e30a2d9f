//! A circuit breaker: closed -> open (after consecutive failures or a failure ratio over a
//! window) -> half-open (one probe after the open time) -> closed on success, open again with
//! a doubled open time on failure. Used per endpoint (outlier ejection) and per client.
//!
//! The pick path reads one atomic (`open_until`); the bookkeeping of outcomes takes a short
//! uncontended lock. Time is `tokio::time::Instant`, so tests run it with paused time.

use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

use tokio::time::{Duration, Instant};

/// When the breaker opens and for how long.
#[derive(Debug, Clone)]
pub(crate) struct BreakerSettings {
    /// Consecutive failures that open it (0 = off).
    pub(crate) consecutive_failures: u32,
    /// Failure ratio in the window that opens it (0 = off).
    pub(crate) failure_ratio: f64,
    /// Outcomes needed in the window before the ratio applies.
    pub(crate) min_requests: u32,
    /// Ratio window.
    pub(crate) interval: Duration,
    /// First open time.
    pub(crate) base_open: Duration,
    /// Longest open time.
    pub(crate) max_open: Duration,
}

#[derive(Debug)]
struct Counts {
    consecutive: u32,
    window_start: Instant,
    ok: u32,
    failed: u32,
    trips: u32,
}

/// What [`Breaker::check`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Closed: go ahead.
    Yes,
    /// Half-open and the probe slot is free: may be claimed with [`Breaker::claim_probe`].
    Probe,
    /// Open.
    No,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Breaker {
    settings: BreakerSettings,
    origin: Instant,
    /// Millis since `origin` until which the breaker is open; 0 = closed.
    open_until: AtomicU64,
    /// Millis since `origin` when the current probe started; 0 = none.
    probe_at: AtomicU64,
    counts: Mutex<Counts>,
}

// === impl Breaker ===

impl Breaker {
    pub(crate) fn new(settings: BreakerSettings) -> Self {
        let origin = Instant::now();
        Self {
            settings,
            origin,
            open_until: AtomicU64::new(0),
            probe_at: AtomicU64::new(0),
            counts: Mutex::new(Counts {
                consecutive: 0,
                window_start: origin,
                ok: 0,
                failed: 0,
                trips: 0,
            }),
        }
    }

    fn millis(&self, now: Instant) -> u64 {
        // +1 so that 0 keeps meaning "closed"/"none".
        now.saturating_duration_since(self.origin).as_millis() as u64 + 1
    }

    /// Whether a call may go through now (without claiming the probe slot).
    pub(crate) fn check(&self, now: Instant) -> Admit {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return Admit::Yes;
        }
        let now_ms = self.millis(now);
        if now_ms < until {
            return Admit::No;
        }
        let probe = self.probe_at.load(Ordering::Acquire);
        // A probe whose outcome never came back (cancelled call) frees the slot after
        // one base open time.
        if probe == 0 || now_ms.saturating_sub(probe) > self.settings.base_open.as_millis() as u64 {
            Admit::Probe
        } else {
            Admit::No
        }
    }

    /// Claims the half-open probe slot; false when another call took it first.
    pub(crate) fn claim_probe(&self, now: Instant) -> bool {
        let now_ms = self.millis(now);
        let cur = self.probe_at.load(Ordering::Acquire);
        if cur != 0 && now_ms.saturating_sub(cur) <= self.settings.base_open.as_millis() as u64 {
            return false;
        }
        self.probe_at
            .compare_exchange(cur, now_ms, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Checks and, when half-open, claims the probe: the one call to make before a call.
    pub(crate) fn try_acquire(&self, now: Instant) -> bool {
        match self.check(now) {
            Admit::Yes => true,
            Admit::Probe => self.claim_probe(now),
            Admit::No => false,
        }
    }

    /// Whether the breaker is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.open_until.load(Ordering::Acquire) == 0
    }

    /// Records a successful call.
    pub(crate) fn success(&self, now: Instant) {
        let mut c = self.lock();
        c.consecutive = 0;
        self.roll(&mut c, now);
        c.ok = c.ok.saturating_add(1);
        if !self.is_closed() {
            // The probe (or a straggler) succeeded: close.
            c.trips = 0;
            c.ok = 0;
            c.failed = 0;
            self.open_until.store(0, Ordering::Release);
            self.probe_at.store(0, Ordering::Release);
        }
    }

    /// Records a failed call; may open the breaker.
    pub(crate) fn failure(&self, now: Instant) {
        let mut c = self.lock();
        c.consecutive = c.consecutive.saturating_add(1);
        self.roll(&mut c, now);
        c.failed = c.failed.saturating_add(1);
        let s = &self.settings;
        let half_open = !self.is_closed();
        let by_consecutive = s.consecutive_failures > 0 && c.consecutive >= s.consecutive_failures;
        let total = c.ok + c.failed;
        let by_ratio = s.failure_ratio > 0.0
            && total >= s.min_requests
            && f64::from(c.failed) >= s.failure_ratio * f64::from(total);
        if half_open || by_consecutive || by_ratio {
            self.open(&mut c, now);
        }
    }

    /// Opens right away (a connect error, a NOT_SERVING health check, GOAWAY).
    pub(crate) fn trip(&self, now: Instant) {
        let mut c = self.lock();
        self.open(&mut c, now);
    }

    fn open(&self, c: &mut Counts, now: Instant) {
        let s = &self.settings;
        let factor = 1u32 << c.trips.min(16);
        let open_for = s.base_open.saturating_mul(factor).min(s.max_open);
        c.trips = c.trips.saturating_add(1);
        c.consecutive = 0;
        c.ok = 0;
        c.failed = 0;
        c.window_start = now;
        self.open_until
            .store(self.millis(now + open_for), Ordering::Release);
        self.probe_at.store(0, Ordering::Release);
    }

    fn roll(&self, c: &mut Counts, now: Instant) {
        if now.saturating_duration_since(c.window_start) >= self.settings.interval {
            c.window_start = now;
            c.ok = 0;
            c.failed = 0;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: 3,
            failure_ratio: 0.0,
            min_requests: 10,
            interval: Duration::from_secs(10),
            base_open: Duration::from_secs(1),
            max_open: Duration::from_secs(4),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_then_probes() {
        let b = Breaker::new(settings());
        let now = Instant::now();
        b.failure(now);
        b.failure(now);
        assert_eq!(b.check(now), Admit::Yes);
        b.failure(now);
        assert_eq!(b.check(now), Admit::No);

        tokio::time::advance(Duration::from_millis(1100)).await;
        let now = Instant::now();
        assert_eq!(b.check(now), Admit::Probe);
        assert!(b.try_acquire(now));
        // Only one probe at a time.
        assert!(!b.try_acquire(now));
        // Probe fails: open again for twice as long.
        b.failure(now);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(b.check(Instant::now()), Admit::No);
        tokio::time::advance(Duration::from_millis(600)).await;
        let now = Instant::now();
        assert!(b.try_acquire(now));
        b.success(now);
        assert!(b.is_closed());
        assert_eq!(b.check(now), Admit::Yes);
    }

    #[tokio::test(start_paused = true)]
    async fn open_time_is_capped() {
        let b = Breaker::new(settings());
        for _ in 0..10 {
            b.trip(Instant::now());
        }
        tokio::time::advance(Duration::from_millis(4100)).await;
        assert_eq!(b.check(Instant::now()), Admit::Probe);
    }

    #[tokio::test(start_paused = true)]
    async fn ratio_needs_min_requests() {
        let mut s = settings();
        s.consecutive_failures = 0;
        s.failure_ratio = 0.5;
        let b = Breaker::new(s);
        let now = Instant::now();
        for _ in 0..4 {
            b.failure(now);
            b.success(now);
        }
        assert!(b.is_closed(), "8 calls < min_requests");
        b.failure(now);
        b.failure(now);
        assert!(!b.is_closed(), "6 of 10 failed");
    }

    #[tokio::test(start_paused = true)]
    async fn stale_probe_frees_the_slot() {
        let b = Breaker::new(settings());
        b.trip(Instant::now());
        tokio::time::advance(Duration::from_millis(1100)).await;
        assert!(b.try_acquire(Instant::now()));
        assert!(!b.try_acquire(Instant::now()));
        tokio::time::advance(Duration::from_millis(1100)).await;
        assert!(
            b.try_acquire(Instant::now()),
            "lost probe does not wedge the breaker"
        );
    }
}
