//! Live certificate reload: the certificate, key and client CA files are checked for
//! changes (modification time and size) every 250 ms; on a change, and on SIGHUP, they are
//! read again and new handshakes use them ([`ServerTls::reload`]). The log line of each
//! reload names its trigger (`file change` or `SIGHUP`) and the port (`grpc`, `admin`). A
//! broken or mismatched replacement is refused with a warning (on the gRPC port also
//! `grpckit_tls_reload_total{result="failure"}`); the previous certificate stays in force.
//! `grpckit_tls_cert_not_after_seconds` is the gRPC port's certificate's expiry, for
//! alerts before it passes.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

use prometheus::{IntCounterVec, IntGauge, Opts};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use super::{
    Hangup,
    tls::{Port, ServerTls, not_after},
};
use crate::error_chain::ErrorChain;

/// How often the files are checked.
const POLL: Duration = Duration::from_millis(250);

/// The TLS series, registered in the process registry on first use.
#[derive(Debug)]
struct TlsMetrics {
    reloads: IntCounterVec,
    not_after: IntGauge,
}

fn metrics() -> Option<&'static TlsMetrics> {
    static M: OnceLock<Option<TlsMetrics>> = OnceLock::new();
    M.get_or_init(|| {
        let reloads = IntCounterVec::new(
            Opts::new(
                "grpckit_tls_reload_total",
                "Reloads of the gRPC port's TLS certificate files, by result (success, failure).",
            ),
            &["result"],
        )
        .ok()?;
        let not_after = IntGauge::new(
            "grpckit_tls_cert_not_after_seconds",
            "Expiry (Unix seconds) of the certificate the gRPC port serves.",
        )
        .ok()?;
        let registry = crate::telemetry::metrics::global().registry();
        registry.register(Box::new(reloads.clone())).ok()?;
        registry.register(Box::new(not_after.clone())).ok()?;
        for result in ["success", "failure"] {
            reloads.with_label_values(&[result]);
        }
        Some(TlsMetrics { reloads, not_after })
    })
    .as_ref()
}

/// Records the expiry of the certificate now served (the gRPC port's only).
pub(crate) fn serving_certificate(port: Port, key: &CertifiedKey) {
    if port != Port::Grpc {
        return;
    }
    if let (Some(m), Some(t)) = (metrics(), key.cert.first().and_then(not_after)) {
        m.not_after.set(t);
    }
}

/// Modification time and size of each file (`None` when it cannot be read).
fn stamps(files: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

/// Reloads `tls` whenever one of its files changes, until `stop` fires.
pub(crate) async fn watch_files(tls: Arc<ServerTls>, stop: CancellationToken) {
    let files = tls.files();
    let mut seen = stamps(&files);
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = Hangup::register();
    loop {
        let asked = tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => false,
            () = hangup.recv() => true,
        };
        let now = stamps(&files);
        if now == seen && !asked {
            continue;
        }
        seen = now;
        let trigger = if asked { "SIGHUP" } else { "file change" };
        let port = tls.port().name();
        let result = match tls.reload() {
            Ok(()) => {
                tracing::info!(
                    trigger,
                    port,
                    "TLS certificate files read again ({trigger}): new handshakes use them"
                );
                "success"
            }
            Err(e) => {
                tracing::warn!(
                    trigger,
                    port,
                    error = %ErrorChain(&e),
                    "TLS certificate files read again ({trigger}) but cannot be used; the previous certificate stays in force"
                );
                "failure"
            }
        };
        if tls.port() == Port::Grpc
            && let Some(m) = metrics()
        {
            m.reloads.with_label_values(&[result]).inc();
        }
    }
}
