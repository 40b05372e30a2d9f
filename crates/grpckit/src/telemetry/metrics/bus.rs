//! Event bus gauges, read from registered callbacks at scrape time (grpckit does not know the
//! application's bus; the application registers a closure over it, as the store does for its
//! pool).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus::{
    IntGaugeVec, Opts,
    core::{Collector, Desc},
    proto::MetricFamily,
};

/// A bus's state at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Topics held (subscribed or retaining replay history).
    pub topics: u64,
    /// Approximate bytes of retained replay history.
    pub retained_bytes: u64,
}

type Probe = Arc<dyn Fn() -> BusStats + Send + Sync>;

fn probes() -> &'static Mutex<Vec<(&'static str, Probe)>> {
    static P: Mutex<Vec<(&'static str, Probe)>> = Mutex::new(Vec::new());
    &P
}

/// Registers a bus under `name` (a fixed label value such as `memory`); a later registration
/// with the same name replaces the earlier one (a restarted server in the same process).
pub fn register_event_bus(
    name: &'static str,
    probe: impl Fn() -> BusStats + Send + Sync + 'static,
) {
    let mut p = probes().lock().unwrap_or_else(PoisonError::into_inner);
    p.retain(|(n, _)| *n != name);
    p.push((name, Arc::new(probe)));
}

/// The collector that reads the probes.
pub(crate) struct BusCollector {
    topics: IntGaugeVec,
    retained: IntGaugeVec,
}

impl BusCollector {
    pub(crate) fn new() -> prometheus::Result<Self> {
        Ok(Self {
            topics: IntGaugeVec::new(
                Opts::new(
                    "grpckit_event_bus_topics",
                    "Event bus topics held (subscribed or retaining replay history).",
                ),
                &["bus"],
            )?,
            retained: IntGaugeVec::new(
                Opts::new(
                    "grpckit_event_bus_retained_bytes",
                    "Approximate bytes of replay history the event bus retains.",
                ),
                &["bus"],
            )?,
        })
    }
}

impl Collector for BusCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.topics.desc();
        d.extend(self.retained.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let list: Vec<_> = probes()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (name, probe) in list {
            let s = probe();
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.topics.with_label_values(&[name]).set(clamp(s.topics));
            self.retained
                .with_label_values(&[name])
                .set(clamp(s.retained_bytes));
        }
        let mut out = self.topics.collect();
        out.extend(self.retained.collect());
        out
    }
}
