//! `GET /debug/tasks`: tokio's stable runtime counters for every runtime that serves.

use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use tokio::runtime::Handle;

fn runtimes() -> &'static Mutex<Vec<(String, Handle)>> {
    static RUNTIMES: OnceLock<Mutex<Vec<(String, Handle)>>> = OnceLock::new();
    RUNTIMES.get_or_init(Mutex::default)
}

/// Lists the current runtime as `name` (`main`, `core-0`, ...); a name registered again
/// replaces the earlier runtime.
pub(crate) fn register_runtime(name: &str) {
    let Ok(handle) = Handle::try_current() else {
        return;
    };
    let mut list = runtimes().lock().unwrap_or_else(|e| e.into_inner());
    list.retain(|(n, _)| n != name);
    list.push((name.to_owned(), handle));
}

/// One runtime's counters.
#[derive(Debug, Serialize)]
pub(crate) struct RuntimeView {
    name: String,
    flavor: String,
    workers: usize,
    alive_tasks: usize,
    global_queue_depth: usize,
    worker_busy_seconds: Vec<f64>,
    worker_parks: Vec<u64>,
}

/// Every registered runtime's counters.
pub(crate) fn snapshot() -> serde_json::Value {
    let list = runtimes().lock().unwrap_or_else(|e| e.into_inner());
    let views: Vec<RuntimeView> = list
        .iter()
        .map(|(name, h)| {
            let m = h.metrics();
            let workers = m.num_workers();
            RuntimeView {
                name: name.clone(),
                flavor: format!("{:?}", h.runtime_flavor()),
                workers,
                alive_tasks: m.num_alive_tasks(),
                global_queue_depth: m.global_queue_depth(),
                worker_busy_seconds: (0..workers)
                    .map(|w| m.worker_total_busy_duration(w).as_secs_f64())
                    .collect(),
                worker_parks: (0..workers).map(|w| m.worker_park_count(w)).collect(),
            }
        })
        .collect();
    let alive: usize = views.iter().map(|v| v.alive_tasks).sum();
    serde_json::json!({ "alive_tasks": alive, "runtimes": views })
}
