//! Database pool gauges, read from registered callbacks at scrape time (grpckit does not
//! depend on sqlx; the store registers a closure over its pool).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus::{
    IntGaugeVec, Opts,
    core::{Collector, Desc},
    proto::MetricFamily,
};

/// A pool's state at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (idle + in use).
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Configured maximum.
    pub max: u32,
}

type Probe = Arc<dyn Fn() -> PoolStats + Send + Sync>;

fn probes() -> &'static Mutex<Vec<(&'static str, Probe)>> {
    static P: Mutex<Vec<(&'static str, Probe)>> = Mutex::new(Vec::new());
    &P
}

/// Registers a pool under `name` (a fixed label value such as `main`); a later registration
/// with the same name replaces the earlier one (a restarted server in the same process).
pub fn register_db_pool(name: &'static str, probe: impl Fn() -> PoolStats + Send + Sync + 'static) {
    let mut p = probes().lock().unwrap_or_else(PoisonError::into_inner);
    p.retain(|(n, _)| *n != name);
    p.push((name, Arc::new(probe)));
}

/// The collector that reads the probes.
pub(crate) struct PoolCollector {
    size: IntGaugeVec,
    idle: IntGaugeVec,
    max: IntGaugeVec,
}

impl PoolCollector {
    pub(crate) fn new() -> prometheus::Result<Self> {
        Ok(Self {
            size: IntGaugeVec::new(
                Opts::new(
                    "grpckit_db_pool_connections",
                    "Open database connections (idle and in use).",
                ),
                &["pool"],
            )?,
            idle: IntGaugeVec::new(
                Opts::new(
                    "grpckit_db_pool_idle_connections",
                    "Idle database connections.",
                ),
                &["pool"],
            )?,
            max: IntGaugeVec::new(
                Opts::new(
                    "grpckit_db_pool_max_connections",
                    "Configured maximum of database connections.",
                ),
                &["pool"],
            )?,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.size.desc();
        d.extend(self.idle.desc());
        d.extend(self.max.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let list: Vec<_> = probes()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (name, probe) in list {
            let s = probe();
            self.size.with_label_values(&[name]).set(i64::from(s.size));
            self.idle.with_label_values(&[name]).set(i64::from(s.idle));
            self.max.with_label_values(&[name]).set(i64::from(s.max));
        }
        let mut out = self.size.collect();
        out.extend(self.idle.collect());
        out.extend(self.max.collect());
        out
    }
}
