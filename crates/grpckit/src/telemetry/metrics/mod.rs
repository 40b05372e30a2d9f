//! Prometheus metrics: the go-grpc-prometheus series for server and client calls, process
//! metrics, DB pool and event bus gauges, rejection counters, in-flight calls and build info, in one
//! registry rendered at `/metrics` on the admin port; plus the sliding-window call statistics
//! behind the live page (`/`, `/stats`).
//!
//! Handles are resolved once per (method, side) and once per (method, side, code): a call
//! records with a handful of atomic adds and allocates nothing.

mod bus;
mod call;
pub(crate) mod grpc;
mod http;
pub(crate) mod methods;
mod pool;
pub(crate) mod stats;

use std::sync::{
    OnceLock,
    atomic::{AtomicBool, Ordering},
};

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Counts gRPC messages in a byte stream (see [`crate::framing`]).
pub(crate) use crate::framing::FrameScanner as FrameCounter;
pub use bus::{BusStats, register_event_bus};
pub(crate) use call::MeteredBody;
pub(crate) use call::{CallRecorder, count_body, grpc_status};
pub(crate) use grpc::{CODE_NAMES, Side};
pub(crate) use http::routes;
pub(crate) use methods::{MethodInfo, lookup, register_descriptor_set};
pub use pool::{PoolStats, register_db_pool};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns call metrics on or off (`telemetry.metrics.enabled`); on by default.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether call metrics are recorded.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// All series of this process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub(crate) server: grpc::SideVecs,
    pub(crate) client: grpc::SideVecs,
    pub(crate) in_flight: IntGauge,
    auth_rejected: IntCounterVec,
    ip_rejected: IntCounterVec,
    rate_limited: IntCounterVec,
    fault_injected: IntCounterVec,
}

impl Metrics {
    fn build() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let server = grpc::SideVecs::register(Side::Server, &registry)?;
        let client = grpc::SideVecs::register(Side::Client, &registry)?;
        let in_flight = IntGauge::new(
            "grpckit_server_in_flight_calls",
            "Server calls started and not yet finished.",
        )?;
        let auth_rejected = IntCounterVec::new(
            Opts::new(
                "grpckit_auth_rejected_total",
                "Calls rejected by authentication or authorization.",
            ),
            &["reason"],
        )?;
        let ip_rejected = IntCounterVec::new(
            Opts::new(
                "grpckit_ip_rejected_total",
                "Calls rejected by the IP filter (middleware.ip_filter).",
            ),
            &["reason"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "grpckit_rate_limited_total",
                "Calls rejected by rate limiting or load shedding.",
            ),
            &["reason"],
        )?;
        let fault_injected = IntCounterVec::new(
            Opts::new(
                "grpckit_fault_injected_total",
                "Faults injected into server calls (middleware.fault), by kind (delay, abort).",
            ),
            &["grpc_service", "grpc_method", "kind"],
        )?;
        let build = IntGauge::with_opts(
            Opts::new(
                "grpckit_build_info",
                "Build information; the value is always 1.",
            )
            .const_label("version", env!("CARGO_PKG_VERSION"))
            .const_label("name", "grpckit"),
        )?;
        build.set(1);
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(auth_rejected.clone()))?;
        registry.register(Box::new(ip_rejected.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(fault_injected.clone()))?;
        registry.register(Box::new(build))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        registry.register(Box::new(pool::PoolCollector::new()?))?;
        registry.register(Box::new(bus::BusCollector::new()?))?;
        Ok(Self {
            registry,
            server,
            client,
            in_flight,
            auth_rejected,
            ip_rejected,
            rate_limited,
            fault_injected,
        })
    }

    /// The registry, to add application series.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Prometheus text format (version 0.0.4) of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out)
        {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        out
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    // The names are static and distinct: building cannot fail.
    M.get_or_init(|| Metrics::build().expect("static metric definitions are valid"))
}

/// Counts a call rejected by authentication/authorization. `reason` must come from a fixed
/// set (e.g. `missing_token`, `invalid_token`, `expired`, `forbidden`), never from input.
pub fn auth_rejected(reason: &'static str) {
    global().auth_rejected.with_label_values(&[reason]).inc();
}

/// Counts a call rejected by the IP filter. `reason` must come from a fixed set (`denied`,
/// `not_allowed`, `unknown_address`).
pub fn ip_rejected(reason: &'static str) {
    global().ip_rejected.with_label_values(&[reason]).inc();
}

/// Counts a call rejected by a rate limit or the load shedder. `reason` must come from a
/// fixed set (e.g. `per_client`, `global`, `load_shed`).
pub fn rate_limited(reason: &'static str) {
    global().rate_limited.with_label_values(&[reason]).inc();
}

/// Counts a fault injected into a call of `method` (`pkg.Service/Method`, a method the
/// server routes). `kind` is `delay` or `abort`.
pub fn fault_injected(method: &str, kind: &'static str) {
    let (service, name) = method.split_once('/').unwrap_or(("unknown", method));
    global()
        .fault_injected
        .with_label_values(&[service, name, kind])
        .inc();
}
