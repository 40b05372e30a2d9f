//! `grpckit_config_reload_total{result}`, registered in the process registry on first use.

use std::sync::OnceLock;

use prometheus::{IntCounterVec, Opts};

use super::ReloadResult;

fn counter() -> Option<&'static IntCounterVec> {
    static C: OnceLock<Option<IntCounterVec>> = OnceLock::new();
    C.get_or_init(|| {
        let c = IntCounterVec::new(
            Opts::new(
                "grpckit_config_reload_total",
                "Configuration reloads, by result (applied, restart_required, rejected, unchanged).",
            ),
            &["result"],
        )
        .ok()?;
        crate::telemetry::metrics::global()
            .registry()
            .register(Box::new(c.clone()))
            .ok()?;
        for r in ReloadResult::ALL {
            c.with_label_values(&[r.as_str()]);
        }
        Some(c)
    })
    .as_ref()
}

/// Counts one reload.
pub(super) fn count(result: ReloadResult) {
    if let Some(c) = counter() {
        c.with_label_values(&[result.as_str()]).inc();
    }
}

/// Registers the series (all results at 0) so they show before the first reload.
pub(super) fn register() {
    let _ = counter();
}
