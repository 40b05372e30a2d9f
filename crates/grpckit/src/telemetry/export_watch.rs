//! [`WatchedExporter`]: the OTLP span exporter, watched. A collector that is down would
//! otherwise lose spans silently until a warning at exit; this wrapper logs once when export
//! starts failing, once when it recovers, and counts the spans lost to failed exports in
//! `grpckit_otlp_spans_dropped_total` on `/metrics`.

use std::{
    future::Future,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};
use prometheus::IntCounter;

/// Spans lost because their export failed, registered on first use.
fn dropped_counter() -> &'static IntCounter {
    static C: OnceLock<IntCounter> = OnceLock::new();
    C.get_or_init(|| {
        let c = IntCounter::new(
            "grpckit_otlp_spans_dropped_total",
            "Spans lost because their OTLP export failed (collector down or rejecting).",
        )
        .expect("static metric definition is valid");
        if let Err(e) = crate::telemetry::metrics::global()
            .registry()
            .register(Box::new(c.clone()))
        {
            tracing::warn!(error = %e, "metrics: cannot register grpckit_otlp_spans_dropped_total");
        }
        c
    })
}

/// Whether the last export failed, and how many spans were lost since it started failing.
#[derive(Debug, Default)]
struct Health {
    failing: AtomicBool,
    lost: AtomicU64,
}

/// Wraps a [`SpanExporter`]: same exports, plus the failure/recovery log lines and the
/// dropped-span counter.
#[derive(Debug)]
pub(crate) struct WatchedExporter<E> {
    inner: E,
    endpoint: String,
    health: Arc<Health>,
}

impl<E> WatchedExporter<E> {
    /// Watches `inner`, which sends to `endpoint` (named in the log lines). Registers the
    /// counter, so it reads 0 on `/metrics` from the start.
    pub(crate) fn new(inner: E, endpoint: impl Into<String>) -> Self {
        let _ = dropped_counter();
        Self {
            inner,
            endpoint: endpoint.into(),
            health: Arc::default(),
        }
    }
}

impl<E: SpanExporter> SpanExporter for WatchedExporter<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let spans = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        let health = self.health.clone();
        let endpoint = self.endpoint.clone();
        let export = self.inner.export(batch);
        async move {
            let res = export.await;
            match &res {
                Ok(()) => {
                    if health.failing.swap(false, Ordering::Relaxed) {
                        let lost = health.lost.swap(0, Ordering::Relaxed);
                        tracing::info!(endpoint, spans_lost = lost, "OTLP span export recovered");
                    }
                }
                Err(e) => {
                    dropped_counter().inc_by(spans);
                    health.lost.fetch_add(spans, Ordering::Relaxed);
                    if !health.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            endpoint,
                            error = %crate::ErrorChain(e),
                            "OTLP span export failing: spans are dropped until it recovers \
                             (counted in grpckit_otlp_spans_dropped_total)"
                        );
                    }
                }
            }
            res
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::error::OTelSdkError;

    use super::*;

    #[derive(Debug, Default)]
    struct Flaky {
        down: AtomicBool,
    }

    impl SpanExporter for Flaky {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            if self.down.load(Ordering::Relaxed) {
                Err(OTelSdkError::InternalFailure("connection refused".into()))
            } else {
                Ok(())
            }
        }
    }

    fn span() -> SpanData {
        use opentelemetry::{
            InstrumentationScope,
            trace::{SpanContext, SpanId, SpanKind, Status},
        };
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "s".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    #[tokio::test]
    async fn counts_spans_of_failed_exports_and_tracks_recovery() {
        let w = WatchedExporter::new(Flaky::default(), "http://127.0.0.1:4317");
        let before = dropped_counter().get();
        w.export(vec![span()]).await.unwrap();
        assert!(!w.health.failing.load(Ordering::Relaxed));
        w.inner.down.store(true, Ordering::Relaxed);
        assert!(w.export(vec![span(), span()]).await.is_err());
        assert!(w.export(vec![span()]).await.is_err());
        assert!(w.health.failing.load(Ordering::Relaxed));
        assert_eq!(w.health.lost.load(Ordering::Relaxed), 3);
        assert!(dropped_counter().get() >= before + 3);
        w.inner.down.store(false, Ordering::Relaxed);
        w.export(vec![span()]).await.unwrap();
        assert!(!w.health.failing.load(Ordering::Relaxed));
        assert_eq!(w.health.lost.load(Ordering::Relaxed), 0);
        let text = crate::telemetry::metrics::global().render();
        assert!(text.contains("grpckit_otlp_spans_dropped_total"), "{text}");
    }
}
