//! Sliding-window call statistics for the live page: per method, one slot per second for
//! the last [`SLOTS`] seconds, each with a call count, an error count and a log-scale latency
//! histogram (4 buckets per power of two, 1 µs .. ~67 s). Recording is a few relaxed atomic
//! adds; a slot is reset by the first call of a new second (a call racing that reset may be
//! lost, which a live view tolerates).

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU32, AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use serde::Serialize;

use super::methods::{self, MethodInfo};

/// Seconds of history kept (the charts' width).
pub(crate) const SLOTS: usize = 60;
/// Seconds the headline numbers are computed over.
pub(crate) const WINDOW: u64 = 10;
const SUB: u32 = 4;
const BUCKETS: usize = 26 * SUB as usize;

fn epoch() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Seconds since the process' stats epoch.
pub(crate) fn now_sec() -> u64 {
    epoch().elapsed().as_secs()
}

fn bucket_of(d: Duration) -> usize {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    let log = 63 - us.leading_zeros();
    let frac = if log >= 2 {
        ((us >> (log - 2)) & 3) as u32
    } else {
        ((us << (2 - log)) & 3) as u32
    };
    ((log * SUB + frac) as usize).min(BUCKETS - 1)
}

/// Upper bound (µs) of a bucket, used to report a percentile.
fn bucket_upper_us(i: usize) -> f64 {
    let log = (i / SUB as usize) as i32;
    let frac = (i % SUB as usize) as f64;
    2f64.powi(log) * (1.0 + (frac + 1.0) / f64::from(SUB))
}

struct Slot {
    sec: AtomicU64,
    calls: AtomicU64,
    errors: AtomicU64,
    lat: [AtomicU32; BUCKETS],
}

/// The per-method ring of slots.
pub(crate) struct Window {
    slots: [Slot; SLOTS],
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Window")
    }
}

impl Window {
    fn new() -> Box<Self> {
        Box::new(Self {
            slots: std::array::from_fn(|_| Slot {
                sec: AtomicU64::new(u64::MAX),
                calls: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                lat: std::array::from_fn(|_| AtomicU32::new(0)),
            }),
        })
    }

    fn record(&self, sec: u64, latency: Duration, error: bool) {
        let slot = &self.slots[(sec % SLOTS as u64) as usize];
        let seen = slot.sec.load(Relaxed);
        if seen != sec
            && slot
                .sec
                .compare_exchange(seen, sec, Relaxed, Relaxed)
                .is_ok()
        {
            slot.calls.store(0, Relaxed);
            slot.errors.store(0, Relaxed);
            for b in &slot.lat {
                b.store(0, Relaxed);
            }
        }
        slot.calls.fetch_add(1, Relaxed);
        if error {
            slot.errors.fetch_add(1, Relaxed);
        }
        slot.lat[bucket_of(latency)].fetch_add(1, Relaxed);
    }

    fn read(&self, sec: u64, acc: &mut Acc) {
        let slot = &self.slots[(sec % SLOTS as u64) as usize];
        if slot.sec.load(Relaxed) != sec {
            return;
        }
        acc.calls += slot.calls.load(Relaxed);
        acc.errors += slot.errors.load(Relaxed);
        for (a, b) in acc.lat.iter_mut().zip(&slot.lat) {
            *a += u64::from(b.load(Relaxed));
        }
    }
}

/// Records one finished server call.
#[inline]
pub(crate) fn record(m: &MethodInfo, end: Instant, latency: Duration, error: bool) {
    let sec = end.saturating_duration_since(epoch()).as_secs();
    m.window
        .get_or_init(Window::new)
        .record(sec, latency, error);
}

#[derive(Clone)]
struct Acc {
    calls: u64,
    errors: u64,
    lat: [u64; BUCKETS],
}

impl Acc {
    fn new() -> Self {
        Self {
            calls: 0,
            errors: 0,
            lat: [0; BUCKETS],
        }
    }
    fn add(&mut self, o: &Acc) {
        self.calls += o.calls;
        self.errors += o.errors;
        for (a, b) in self.lat.iter_mut().zip(&o.lat) {
            *a += b;
        }
    }
    fn percentile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.lat.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.lat.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return (bucket_upper_us(i) / 1000.0 * 1000.0).round() / 1000.0;
            }
        }
        0.0
    }
}

/// Headline numbers over the window plus per-second series for the charts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Figures {
    /// `pkg.Service/Method`, or `total`.
    pub name: String,
    /// `grpc_type`, empty for the total.
    pub grpc_type: &'static str,
    /// Calls finished in the window.
    pub calls: u64,
    /// Calls per second over the window.
    pub rps: f64,
    /// Share of calls that ended with a code other than OK, 0..1.
    pub error_rate: f64,
    /// Latency percentiles (ms; upper bound of the log bucket, ≤19% above the true value).
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p90_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// Calls per second, one value per second, oldest first.
    pub series_rps: Vec<u64>,
    /// Errors per second.
    pub series_errors: Vec<u64>,
    /// p99 latency (ms) per second.
    pub series_p99_ms: Vec<f64>,
}

/// The `/stats` document.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    /// Seconds the headline numbers cover.
    pub window_seconds: u64,
    /// Seconds since the process started (the last complete second is `now - 1`).
    pub uptime_seconds: u64,
    /// All methods together.
    pub total: Figures,
    /// Methods that had calls in the last minute, busiest first.
    pub methods: Vec<Figures>,
}

fn figures(name: String, grpc_type: &'static str, per_sec: &[Acc]) -> Figures {
    let mut win = Acc::new();
    for a in per_sec.iter().rev().take(WINDOW as usize) {
        win.add(a);
    }
    Figures {
        name,
        grpc_type,
        calls: win.calls,
        rps: win.calls as f64 / WINDOW as f64,
        error_rate: if win.calls == 0 {
            0.0
        } else {
            win.errors as f64 / win.calls as f64
        },
        p50_ms: win.percentile_ms(0.50),
        p90_ms: win.percentile_ms(0.90),
        p99_ms: win.percentile_ms(0.99),
        series_rps: per_sec.iter().map(|a| a.calls).collect(),
        series_errors: per_sec.iter().map(|a| a.errors).collect(),
        series_p99_ms: per_sec.iter().map(|a| a.percentile_ms(0.99)).collect(),
    }
}

/// Reads every method's window: complete seconds only (the current one is still filling).
pub(crate) fn snapshot() -> Snapshot {
    let now = now_sec();
    let secs: Vec<u64> = (0..SLOTS as u64 - 1)
        .rev()
        .filter_map(|back| now.checked_sub(back + 1))
        .collect();
    let mut total = vec![Acc::new(); secs.len()];
    let mut methods = Vec::new();
    for m in methods::all() {
        let Some(w) = m.window.get() else { continue };
        let per_sec: Vec<Acc> = secs
            .iter()
            .map(|s| {
                let mut a = Acc::new();
                w.read(*s, &mut a);
                a
            })
            .collect();
        if per_sec.iter().all(|a| a.calls == 0) {
            continue;
        }
        for (t, a) in total.iter_mut().zip(&per_sec) {
            t.add(a);
        }
        methods.push(figures(m.full_name.to_string(), m.kind.as_str(), &per_sec));
    }
    methods.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
    Snapshot {
        window_seconds: WINDOW,
        uptime_seconds: now,
        total: figures("total".into(), "", &total),
        methods,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_bound_the_value() {
        let mut last = 0;
        for us in [1u64, 2, 3, 5, 8, 100, 999, 1000, 1500, 250_000, 10_000_000] {
            let b = bucket_of(Duration::from_micros(us));
            assert!(b >= last, "{us}");
            last = b;
            let up = bucket_upper_us(b);
            assert!(
                up >= us as f64 && up <= us as f64 * 1.5 + 1.0,
                "{us} -> {up}"
            );
        }
    }

    #[test]
    fn window_counts_and_percentiles() {
        let w = Window::new();
        for i in 0..100u64 {
            w.record(
                5,
                Duration::from_millis(if i < 90 { 1 } else { 100 }),
                i % 10 == 0,
            );
        }
        let mut a = Acc::new();
        w.read(5, &mut a);
        assert_eq!((a.calls, a.errors), (100, 10));
        assert!(a.percentile_ms(0.5) >= 1.0 && a.percentile_ms(0.5) < 1.3);
        assert!(a.percentile_ms(0.99) >= 100.0 && a.percentile_ms(0.99) < 130.0);
        // A later second reuses the slot after a reset.
        w.record(5 + SLOTS as u64, Duration::from_millis(1), false);
        let mut b = Acc::new();
        w.read(5, &mut b);
        assert_eq!(b.calls, 0);
    }
}
