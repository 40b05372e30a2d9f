//! OpenTelemetry tracing: an OTLP/gRPC exporter with batching and ratio sampling, W3C trace
//! context + baggage propagation, and the switch the trace layers read. Off by default: then
//! no provider exists and the trace layers pass calls straight through.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapCompositePropagator},
    trace::TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    runtime,
    trace::{
        BatchConfigBuilder, Sampler, SdkTracerProvider,
        span_processor_with_async_runtime::BatchSpanProcessor,
    },
};

use crate::config::TracingConfig;

static ON: AtomicBool = AtomicBool::new(false);
/// `sample_ratio` as f64 bits.
static RATIO: AtomicU64 = AtomicU64::new(0);

/// Whether a call with this parent gets a span at all. With `sample_ratio: 0` an unsampled
/// call skips the span entirely (so "tracing on, sampling 0" costs one header lookup);
/// otherwise the sampler decides.
#[inline]
pub(crate) fn worth_a_span(parent: &opentelemetry::trace::SpanContext) -> bool {
    parent.is_sampled() || f64::from_bits(RATIO.load(Ordering::Relaxed)) > 0.0
}

/// Whether spans are created (set by [`init`] once a provider is installed).
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    /// The exporter could not be built (bad endpoint).
    #[error("otlp exporter: {0}")]
    Exporter(String),
}

/// Keeps the provider; [`TracingGuard::shutdown`] flushes the queued spans.
#[derive(Debug, Clone)]
pub struct TracingGuard {
    provider: SdkTracerProvider,
}

impl TracingGuard {
    /// Flushes and stops the exporter (blocking; run it off the async workers).
    pub fn shutdown(&self) {
        ON.store(false, Ordering::Relaxed);
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "tracing: shutdown failed");
        }
    }
}

/// Builds the exporter and provider, installs the W3C propagators and turns the trace layers
/// on. Must run inside a Tokio runtime (the batch exporter runs on it). Returns the
/// `tracing-opentelemetry` layer to add to the subscriber.
pub fn init<S>(
    cfg: &TracingConfig,
) -> Result<
    (
        tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
        TracingGuard,
    ),
    TracingError,
>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(cfg.endpoint.clone())
        .with_timeout(cfg.export_timeout)
        .build()
        .map_err(|e| TracingError::Exporter(crate::ErrorChain(&e).to_string()))?;
    let exporter = super::export_watch::WatchedExporter::new(exporter, cfg.endpoint.clone());
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(cfg.batch_delay)
        .with_max_queue_size(cfg.max_queue_size)
        .build();
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio)
        .with_batch_config(batch)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(cfg.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("grpckit");
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    RATIO.store(cfg.sample_ratio.to_bits(), Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_error_records_to_exceptions(true);
    Ok((layer, TracingGuard { provider }))
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// The remote parent (`traceparent`/`tracestate`) and baggage of incoming metadata.
pub fn extract(headers: &HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes `cx` into outgoing metadata.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(cx, &mut HeaderInjector(headers))
    });
}
