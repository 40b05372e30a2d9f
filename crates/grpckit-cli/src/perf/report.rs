//! The perf report and its text, JSON and CSV forms (HTML is in `html.rs`).

use std::fmt;

use serde::Serialize;

use super::engine::Outcome;

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Fastest call.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest call.
    pub max: f64,
}

/// One latency histogram bucket: calls with latency in (previous upper, `upper_ms`].
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Upper bound in milliseconds.
    pub upper_ms: f64,
    /// Calls in the bucket.
    pub count: u64,
}

/// Failures of one status code.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorCount {
    /// Numeric gRPC code.
    pub code: i32,
    /// Name, e.g. `NOT_FOUND`.
    pub name: String,
    /// How many.
    pub count: u64,
    /// The first message seen.
    pub sample: String,
}

/// The result of a run. The failure figures come first (in the JSON too): a run whose calls
/// mostly failed measures the failures, not the service.
#[derive(Debug, Clone, Serialize)]
pub struct PerfReport {
    /// What was called (`pkg.Service/Method` or `mix`).
    pub target: String,
    /// Set when more than half of the calls failed (or none completed).
    pub warning: Option<String>,
    /// Set when the run stopped early because calls in a row could not reach the server.
    pub aborted: Option<String>,
    /// Measured calls (warm-up excluded).
    pub total: u64,
    /// Calls that returned OK.
    pub ok: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Failed calls over measured calls, 0.0 to 1.0 (0.0 when nothing was measured).
    pub error_rate: f64,
    /// Failures by status code.
    pub errors_by_code: Vec<ErrorCount>,
    /// Successful calls per second.
    pub ok_rps: f64,
    /// All completed calls per second, failures included.
    pub rps: f64,
    /// Concurrent workers.
    pub concurrency: usize,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Requested rate, when open-model.
    pub rps_target: Option<f64>,
    /// Measured wall time in seconds.
    pub duration_s: f64,
    /// Latency summary (every completed call, failures included).
    pub latency_ms: Latency,
    /// Median latency in ms (same as `latency_ms.p50`; kept for older consumers).
    pub p50_ms: f64,
    /// 90th percentile in ms (same as `latency_ms.p90`).
    pub p90_ms: f64,
    /// 99th percentile in ms (same as `latency_ms.p99`).
    pub p99_ms: f64,
    /// Slowest call in ms (same as `latency_ms.max`).
    pub max_ms: f64,
    /// Latency histogram (log-spaced buckets).
    pub histogram: Vec<Bucket>,
    /// Completed calls in each second of the run.
    pub per_second: Vec<u64>,
}

/// Error rate above which a report warns that it measures failures.
pub(crate) const MOSTLY_FAILED: f64 = 0.5;

/// Number of histogram buckets.
const BUCKETS: usize = 20;

impl PerfReport {
    pub(crate) fn new(
        target: String,
        concurrency: usize,
        connections: usize,
        rps_target: Option<f64>,
        o: Outcome,
    ) -> Self {
        let h = &o.hist;
        let ms = |us: u64| us as f64 / 1000.0;
        let q = |x: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(x))
            }
        };
        let errors_by_code: Vec<ErrorCount> = o
            .errors
            .iter()
            .enumerate()
            .filter(|(_, e)| e.count > 0)
            .map(|(c, e)| ErrorCount {
                code: c as i32,
                name: grpckit::error::code_name(tonic::Code::from_i32(c as i32)).to_owned(),
                count: e.count,
                sample: e.sample.clone().unwrap_or_default(),
            })
            .collect();
        let errors: u64 = errors_by_code.iter().map(|e| e.count).sum();
        let (total, secs) = (h.len(), o.elapsed.as_secs_f64());
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let error_rate = percent(errors, total) / 100.0;
        Self {
            warning: warning(total, errors, error_rate, &errors_by_code),
            aborted: o.aborted,
            target,
            total,
            ok: total - errors,
            errors,
            error_rate,
            ok_rps: per_sec(total - errors),
            rps: per_sec(total),
            errors_by_code,
            concurrency,
            connections,
            rps_target,
            duration_s: secs,
            latency_ms: Latency {
                min: if h.is_empty() { 0.0 } else { ms(h.min()) },
                mean: h.mean() / 1000.0,
                stdev: h.stdev() / 1000.0,
                p50: q(0.5),
                p75: q(0.75),
                p90: q(0.9),
                p95: q(0.95),
                p99: q(0.99),
                p999: q(0.999),
                max: ms(h.max()),
            },
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            max_ms: ms(h.max()),
            histogram: buckets(h),
            per_second: o.per_second,
        }
    }

    /// Whether more than half of the calls failed (or none completed).
    pub fn mostly_failed(&self) -> bool {
        self.warning.is_some()
    }

    /// Every status seen with its count and share, OK first: `OK 0 (0.0%), NOT_FOUND 40 (100.0%)`.
    pub fn status_breakdown(&self) -> String {
        let share = |n: u64| percent(n, self.total);
        std::iter::once(format!("OK {} ({:.1}%)", self.ok, share(self.ok)))
            .chain(
                self.errors_by_code
                    .iter()
                    .map(|e| format!("{} {} ({:.1}%)", e.name, e.count, share(e.count))),
            )
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A few lines for the terminal: warnings, status codes, throughput and latency.
    pub fn summary(&self) -> String {
        let l = &self.latency_ms;
        let mut lines = vec![format!(
            "perf {}: {} calls in {:.2} s, {} worker(s) over {} connection(s)",
            self.target, self.total, self.duration_s, self.concurrency, self.connections
        )];
        lines.extend(self.alerts().into_iter().map(|a| format!("  {a}")));
        lines.extend([
            format!("  Status:      {}", self.status_breakdown()),
            format!("  Error rate:  {:.1}%", 100.0 * self.error_rate),
            format!(
                "  OK req/s:    {:.1} (all calls, failures included: {:.1}/s)",
                self.ok_rps, self.rps
            ),
            format!(
                "  Latency ms:  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
                l.p50, l.p90, l.p99, l.max
            ),
        ]);
        lines.join("\n") + "\n"
    }

    /// The lines every form of the report shows first: the warning and the early stop.
    pub fn alerts(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(w) = &self.warning {
            v.push(format!("WARNING: {w}"));
        }
        if let Some(a) = &self.aborted {
            v.push(format!("STOPPED EARLY: {a}"));
        }
        v
    }

    /// CSV: a header line and one row.
    pub fn to_csv(&self) -> String {
        let l = &self.latency_ms;
        format!(
            "{}\n{},{},{},{},{},{},{:.3},{:.1},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.4},{:.1}\n",
            CSV_HEADER,
            self.target,
            self.concurrency,
            self.connections,
            self.total,
            self.ok,
            self.errors,
            self.duration_s,
            self.rps,
            l.min,
            l.mean,
            l.p50,
            l.p75,
            l.p90,
            l.p95,
            l.p99,
            l.p999,
            l.max,
            self.error_rate,
            self.ok_rps
        )
    }
}

/// Header of [`PerfReport::to_csv`].
pub const CSV_HEADER: &str = "target,concurrency,connections,total,ok,errors,duration_s,rps,min_ms,mean_ms,p50_ms,p75_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,error_rate,ok_rps";

/// `n` as a percentage of `total` (0 when `total` is 0).
pub(crate) fn percent(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * n as f64 / total as f64
    }
}

/// The warning of a run where most calls failed, naming the commonest failure.
fn warning(total: u64, errors: u64, error_rate: f64, by_code: &[ErrorCount]) -> Option<String> {
    if total == 0 {
        return Some("no call completed: nothing was measured".to_owned());
    }
    if error_rate <= MOSTLY_FAILED {
        return None;
    }
    let worst = by_code
        .iter()
        .max_by_key(|e| e.count)
        .map(|e| format!("; mostly {} ({:?})", e.name, e.sample))
        .unwrap_or_default();
    Some(format!(
        "{:.1}% of calls failed ({errors} of {total}){worst}: the req/s figures measure \
         failures, not the service",
        100.0 * error_rate
    ))
}

fn buckets(h: &hdrhistogram::Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = (h.min().max(1) as f64, h.max().max(2) as f64);
    let ratio = (hi / lo).max(1.0001).powf(1.0 / BUCKETS as f64);
    let mut uppers: Vec<u64> = (1..=BUCKETS)
        .map(|i| {
            if i == BUCKETS {
                h.max()
            } else {
                (lo * ratio.powi(i as i32)).ceil() as u64
            }
        })
        .collect();
    uppers.dedup();
    let mut counts = vec![0u64; uppers.len()];
    // Each recorded value goes to exactly one bucket, so the counts add up to the total.
    for v in h.iter_recorded() {
        let x = h.highest_equivalent(v.value_iterated_to()).min(h.max());
        let i = uppers.partition_point(|u| *u < x).min(uppers.len() - 1);
        counts[i] += v.count_at_value();
    }
    uppers
        .into_iter()
        .zip(counts)
        .map(|(u, count)| Bucket {
            upper_ms: u as f64 / 1000.0,
            count,
        })
        .collect()
}

impl fmt::Display for PerfReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency_ms;
        writeln!(f, "Summary ({}):", self.target)?;
        for line in self.alerts() {
            writeln!(f, "  {line}")?;
        }
        writeln!(f, "  Status:       {}", self.status_breakdown())?;
        writeln!(f, "  Error rate:   {:.1}%", 100.0 * self.error_rate)?;
        writeln!(
            f,
            "  Requests:     {} ({} ok, {} errors)",
            self.total, self.ok, self.errors
        )?;
        writeln!(f, "  OK/sec:       {:.1}", self.ok_rps)?;
        writeln!(
            f,
            "  Requests/sec: {:.1} (all calls, failures included)",
            self.rps
        )?;
        writeln!(f, "  Duration:     {:.2} s", self.duration_s)?;
        writeln!(
            f,
            "  Workers:      {} over {} connection(s){}",
            self.concurrency,
            self.connections,
            self.rps_target
                .map(|r| format!(", target {r} req/s"))
                .unwrap_or_default()
        )?;
        if !self.errors_by_code.is_empty() {
            writeln!(f)?;
            writeln!(f, "Errors by status code:")?;
            for e in &self.errors_by_code {
                writeln!(
                    f,
                    "  {} ({}): {}  e.g. {:?}",
                    e.name, e.code, e.count, e.sample
                )?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Latency (ms, failed calls included):")?;
        writeln!(
            f,
            "  min {:.3}  mean {:.3}  stdev {:.3}  max {:.3}",
            l.min, l.mean, l.stdev, l.max
        )?;
        writeln!(
            f,
            "  p50 {:.3}  p75 {:.3}  p90 {:.3}  p95 {:.3}  p99 {:.3}  p99.9 {:.3}",
            l.p50, l.p75, l.p90, l.p95, l.p99, l.p999
        )?;
        writeln!(f)?;
        writeln!(f, "Histogram (ms):")?;
        let peak = self
            .histogram
            .iter()
            .map(|b| b.count)
            .max()
            .unwrap_or(1)
            .max(1);
        for b in &self.histogram {
            let bar = "#".repeat(((b.count as f64 / peak as f64) * 40.0).round() as usize);
            writeln!(f, "  {:>10.3} [{:>8}] |{bar}", b.upper_ms, b.count)?;
        }
        Ok(())
    }
}
