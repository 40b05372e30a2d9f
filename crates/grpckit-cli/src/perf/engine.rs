//! The load loop. `concurrency` workers share an atomic request counter. Closed model by
//! default; with `--rps` each request `i` has an intended send time `start + i / rps` and its
//! latency is measured from that time, so a stalled server shows up as latency instead of
//! silently lowering the send rate (no coordinated omission). Workers record into their own
//! HDR histogram and error table, merged at the end. A [`Breaker`] stops every worker once
//! `max_connect_failures` calls in a row could not reach the server.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use tokio::time::Instant;
use tonic::Status;

use super::breaker::Breaker;

/// What to run and for how long.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) concurrency: usize,
    /// Stop after this many measured requests.
    pub(crate) total: Option<u64>,
    /// Stop issuing after this long (in-flight calls finish and count).
    pub(crate) duration: Option<Duration>,
    /// Constant request rate (open model).
    pub(crate) rps: Option<f64>,
    /// Unrecorded calls before measuring.
    pub(crate) warmup: Duration,
    /// Stop after this many calls in a row failed to reach the server (0 = never).
    pub(crate) max_connect_failures: u32,
}

/// Creates per-worker callers.
pub(crate) trait Workload: Send + Sync + 'static {
    type Worker: WorkerCall;
    fn worker(&self, id: usize) -> Self::Worker;
}

/// One worker's call.
pub(crate) trait WorkerCall: Send + 'static {
    /// Makes request number `seq`.
    fn call(&mut self, seq: u64) -> impl Future<Output = Result<(), Status>> + Send;
}

/// Errors of one status code.
#[derive(Debug, Clone, Default)]
pub(crate) struct CodeStats {
    pub(crate) count: u64,
    pub(crate) sample: Option<String>,
}

/// Raw results, merged over workers.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Latency in microseconds.
    pub(crate) hist: Histogram<u64>,
    /// Indexed by gRPC code (0 unused).
    pub(crate) errors: Vec<CodeStats>,
    /// Completed calls per second of the run.
    pub(crate) per_second: Vec<u64>,
    pub(crate) elapsed: Duration,
    /// The connection error that stopped the run early, if one did (`perf::run` names the
    /// address in it).
    pub(crate) aborted: Option<String>,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds")
}

/// Shared progress counter, readable by a progress bar.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) done: AtomicU64,
    pub(crate) finished: AtomicBool,
}

/// Runs the plan to completion.
pub(crate) async fn run<W: Workload>(
    plan: &Plan,
    workload: Arc<W>,
    progress: Arc<Progress>,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(plan.concurrency > 0, "-c/--concurrency must be at least 1");
    anyhow::ensure!(
        plan.rps.is_none_or(|r| r > 0.0 && r.is_finite()),
        "--rps must be positive"
    );
    anyhow::ensure!(
        plan.total.is_some() || plan.duration.is_some(),
        "give -n or -z"
    );
    let seq = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let warm_end = Instant::now() + plan.warmup;
    let start = warm_end;
    let breaker = Arc::new(Breaker::new(plan.max_connect_failures));
    let mut tasks = Vec::with_capacity(plan.concurrency);
    for id in 0..plan.concurrency {
        let (workload, seq, issued, progress, plan, breaker) = (
            workload.clone(),
            seq.clone(),
            issued.clone(),
            progress.clone(),
            plan.clone(),
            breaker.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut w = workload.worker(id);
            let mut hist = new_hist();
            let mut errors = vec![CodeStats::default(); 17];
            let mut per_second: Vec<u64> = Vec::new();
            while Instant::now() < warm_end && !breaker.is_tripped() {
                let res = w.call(seq.fetch_add(1, Ordering::Relaxed)).await;
                breaker.record(&res);
            }
            let end = plan.duration.map(|d| start + d);
            while !breaker.is_tripped() {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if plan.total.is_some_and(|n| i >= n) {
                    break;
                }
                let intended = match plan.rps {
                    Some(r) => {
                        let at = start + Duration::from_secs_f64(i as f64 / r);
                        if end.is_some_and(|e| at >= e) {
                            break;
                        }
                        tokio::time::sleep_until(at).await;
                        at
                    }
                    None => {
                        let now = Instant::now();
                        if end.is_some_and(|e| now >= e) {
                            break;
                        }
                        now
                    }
                };
                let res = w.call(seq.fetch_add(1, Ordering::Relaxed)).await;
                breaker.record(&res);
                let now = Instant::now();
                let _ =
                    hist.record(now.saturating_duration_since(intended).as_micros().max(1) as u64);
                let sec = now.saturating_duration_since(start).as_secs() as usize;
                if per_second.len() <= sec {
                    per_second.resize(sec + 1, 0);
                }
                per_second[sec] += 1;
                if let Err(s) = res {
                    let e = &mut errors[(s.code() as usize).min(16)];
                    e.count += 1;
                    if e.sample.is_none() {
                        e.sample = Some(s.message().to_owned());
                    }
                }
                progress.done.fetch_add(1, Ordering::Relaxed);
            }
            (hist, errors, per_second)
        }));
    }
    let mut out = Outcome {
        hist: new_hist(),
        errors: vec![CodeStats::default(); 17],
        per_second: Vec::new(),
        elapsed: Duration::ZERO,
        aborted: None,
    };
    for t in tasks {
        let (h, e, p) = t.await?;
        out.hist.add(&h)?;
        for (acc, x) in out.errors.iter_mut().zip(e) {
            acc.count += x.count;
            if acc.sample.is_none() {
                acc.sample = x.sample;
            }
        }
        if out.per_second.len() < p.len() {
            out.per_second.resize(p.len(), 0);
        }
        for (acc, x) in out.per_second.iter_mut().zip(p) {
            *acc += x;
        }
    }
    out.elapsed = Instant::now().saturating_duration_since(start);
    out.aborted = breaker.tripped().map(str::to_owned);
    progress.finished.store(true, Ordering::Relaxed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    struct FakeWorker(usize);

    impl Workload for Fake {
        type Worker = FakeWorker;
        fn worker(&self, id: usize) -> FakeWorker {
            FakeWorker(id)
        }
    }

    impl WorkerCall for FakeWorker {
        async fn call(&mut self, seq: u64) -> Result<(), Status> {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if seq.is_multiple_of(5) && self.0 < usize::MAX {
                Err(Status::not_found(format!("no {seq}")))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn counts_add_up_with_total() {
        let plan = Plan {
            concurrency: 4,
            total: Some(100),
            duration: None,
            rps: None,
            warmup: Duration::ZERO,
            max_connect_failures: 0,
        };
        let out = run(&plan, Arc::new(Fake), Arc::default()).await.unwrap();
        assert_eq!(out.hist.len(), 100);
        assert_eq!(out.errors[5].count, 20);
        assert_eq!(out.per_second.iter().sum::<u64>(), 100);
    }

    struct Dead;
    struct DeadWorker;

    impl Workload for Dead {
        type Worker = DeadWorker;
        fn worker(&self, _: usize) -> DeadWorker {
            DeadWorker
        }
    }

    impl WorkerCall for DeadWorker {
        async fn call(&mut self, _: u64) -> Result<(), Status> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
            Err(Status::from_error(Box::new(io)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stops_after_consecutive_connection_failures() {
        let plan = Plan {
            concurrency: 4,
            total: Some(1_000_000),
            duration: None,
            rps: None,
            warmup: Duration::ZERO,
            max_connect_failures: 20,
        };
        let out = run(&plan, Arc::new(Dead), Arc::default()).await.unwrap();
        // The 20th failure trips the breaker; calls already in flight still finish.
        assert!((20..20 + 4).contains(&out.hist.len()), "{}", out.hist.len());
        assert!(out.aborted.is_some_and(|m| m.contains("refused")));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_and_stops_at_duration() {
        let plan = Plan {
            concurrency: 8,
            total: None,
            duration: Some(Duration::from_secs(2)),
            rps: Some(50.0),
            warmup: Duration::from_millis(100),
            max_connect_failures: 0,
        };
        let out = run(&plan, Arc::new(Fake), Arc::default()).await.unwrap();
        assert_eq!(out.hist.len(), 100);
        // Paused clock: every call takes exactly 10 ms from its intended start.
        assert!(
            out.hist.max() >= 10_000 && out.hist.max() < 11_000,
            "{}",
            out.hist.max()
        );
    }
}
