//! [`BalancedChannel`]: the `tower::Service` that tonic-generated clients call through.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use arc_swap::ArcSwap;
use tokio::{sync::watch, task::AbortHandle, time::Instant};
use tonic::{Code, body::Body};
use tower::Service;

use super::{
    ClientError,
    balance::Balancer,
    breaker::{Breaker, BreakerSettings},
    call, classify,
    discovery::Discovery,
    pool::{Backend, Pool},
    response::ResponseBody,
    retry::{Budget, RetryPolicy},
};
use crate::config::{CircuitBreakerConfig, ClientConfig, EndpointSpec};

/// Boxed error, as tonic's transport uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A load-balanced, retrying, health-aware channel over a set of endpoints, built by
/// [`super::ClientBuilder`]. Cheap to clone; every clone shares endpoints, connections,
/// counters, breakers and the retry budget. Works with any tonic-generated client:
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use grpckit::{client::ClientBuilder, config::ClientConfig};
/// use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
///
/// let channel = ClientBuilder::new(ClientConfig::default())
///     .endpoints(["127.0.0.1:9090", "127.0.0.1:9091"])
///     .idempotent("/grpc.health.v1.Health/*")
///     .build()?;
/// let mut health = HealthClient::new(channel);
/// health.check(HealthCheckRequest::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BalancedChannel {
    shared: Arc<Shared>,
    /// The layers added with [`super::ClientBuilder::layer`] around the bare channel.
    layered: Option<ClientService>,
}

/// The service a layer added with [`super::ClientBuilder::layer`] wraps: the balanced
/// channel (balancing, retries, breakers), boxed.
pub type ClientService =
    tower::util::BoxCloneSyncService<http::Request<Body>, http::Response<ResponseBody>, BoxError>;

impl std::fmt::Debug for BalancedChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BalancedChannel")
            .field("shared", &self.shared)
            .field("layered", &self.layered.is_some())
            .finish()
    }
}

/// State shared by all clones of a channel.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) pool: Arc<Pool>,
    /// Balancing and retry policy; each call loads it once, at its start.
    pub(crate) policy: ArcSwap<CallPolicy>,
    pub(crate) budget: Budget,
    pub(crate) resolved: watch::Receiver<bool>,
    pub(crate) resolve_wait: std::time::Duration,
    pub(crate) discovery: Arc<Discovery>,
    pub(crate) tasks: Vec<AbortHandle>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The policies a call reads once, at its start: [`BalancedChannel::set_policies`] swaps
/// them whole.
#[derive(Debug)]
pub(crate) struct CallPolicy {
    pub(crate) balancer: Balancer,
    pub(crate) retry: RetryPolicy,
    /// The client circuit breaker (`client.circuit_breaker`), when on.
    pub(crate) breaker: Option<Arc<Breaker>>,
    breaker_cfg: CircuitBreakerConfig,
}

impl CallPolicy {
    /// The policies of `cfg` (`enable_load_balancing`, `load_balancing_policy`, `retry`,
    /// `circuit_breaker`); the breaker of `before` (and its state) stays when
    /// `circuit_breaker` did not change.
    pub(crate) fn new(cfg: &ClientConfig, before: Option<&Self>) -> Self {
        let cb = &cfg.circuit_breaker;
        let breaker = match before {
            Some(b) if b.breaker_cfg == *cb => b.breaker.clone(),
            _ => cb.enabled.then(|| {
                Arc::new(Breaker::new(BreakerSettings {
                    consecutive_failures: 0,
                    failure_ratio: cb.failure_ratio,
                    min_requests: cb.min_requests,
                    interval: cb.interval,
                    base_open: cb.open_time,
                    max_open: cb.open_time.saturating_mul(8),
                }))
            }),
        };
        Self {
            balancer: Balancer::new(cfg.load_balancing_policy, cfg.enable_load_balancing),
            retry: RetryPolicy::new(&cfg.retry),
            breaker,
            breaker_cfg: cb.clone(),
        }
    }

    /// Feeds a call's final status to the client breaker.
    pub(crate) fn call_outcome(&self, code: Code, now: Instant) {
        if let Some(b) = &self.breaker {
            if classify::is_failure(code) || code == Code::DeadlineExceeded {
                b.failure(now);
            } else {
                b.success(now);
            }
        }
    }
}

// === impl Shared ===

impl Shared {
    /// Feeds one attempt's status to the endpoint's breaker and the retry budget; `retry` is
    /// the policy the call started with.
    pub(crate) fn attempt_outcome(
        &self,
        retry: &RetryPolicy,
        backend: &Backend,
        code: Code,
        now: Instant,
    ) {
        let retryable = retry.is_retryable(code);
        if classify::is_failure(code) || retryable {
            backend.breaker.failure(now);
        } else {
            backend.breaker.success(now);
        }
        if retryable {
            self.budget.failure();
        } else if code == Code::Ok {
            self.budget.success();
        }
    }
}

/// What a channel knows about one endpoint (for status pages and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// Normalised address, e.g. `http://10.0.0.7:9090`.
    pub address: String,
    /// Static weight.
    pub weight: u32,
    /// Calls in flight.
    pub outstanding: usize,
    /// Whether the endpoint is currently ejected (breaker not closed).
    pub ejected: bool,
}

// === impl BalancedChannel ===

impl BalancedChannel {
    pub(crate) fn new(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
            layered: None,
        }
    }

    /// This channel with `wrap` (the composed client layers) around its bare self.
    pub(crate) fn with_layers(self, wrap: impl FnOnce(ClientService) -> ClientService) -> Self {
        let layered = wrap(ClientService::new(self.clone()));
        Self {
            shared: self.shared,
            layered: Some(layered),
        }
    }

    /// Replaces the endpoint set at run time. Endpoints that stay keep their connections;
    /// removed ones get no new calls, and their in-flight calls complete.
    pub fn set_endpoints<I, S>(&self, endpoints: I) -> Result<(), ClientError>
    where
        I: IntoIterator<Item = S>,
        S: Into<EndpointSpec>,
    {
        self.shared
            .discovery
            .set(endpoints.into_iter().map(Into::into).collect())
    }

    /// Replaces, at run time, the load-balancing policy (`enable_load_balancing`,
    /// `load_balancing_policy`), the retry policy (`retry`, except its `budget`, whose tokens
    /// stay) and the client circuit breaker (`circuit_breaker`; a changed one starts closed)
    /// with those of `cfg`; its other keys are ignored. Calls already running keep the
    /// policies they started with; a new balancer starts its round-robin count afresh.
    ///
    /// # Errors
    /// `cfg` is invalid; then nothing changed.
    pub fn set_policies(&self, cfg: &ClientConfig) -> Result<(), ClientError> {
        cfg.validate().map_err(ClientError::Config)?;
        let before = self.shared.policy.load();
        let policy = CallPolicy::new(cfg, Some(&before));
        self.shared.policy.store(Arc::new(policy));
        Ok(())
    }

    /// Re-resolves `dns://` endpoints now instead of waiting for the interval.
    pub async fn refresh(&self) {
        self.shared.discovery.refresh().await;
    }

    /// The current endpoints.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        self.shared
            .pool
            .load()
            .backends
            .iter()
            .map(|b| EndpointStatus {
                address: b.addr.clone(),
                weight: b.weight,
                outstanding: b.outstanding.load(Ordering::Relaxed),
                ejected: !b.breaker.is_closed(),
            })
            .collect()
    }
}

impl From<&str> for EndpointSpec {
    fn from(s: &str) -> Self {
        Self::Address(s.to_owned())
    }
}

impl From<String> for EndpointSpec {
    fn from(s: String) -> Self {
        Self::Address(s)
    }
}

impl Service<http::Request<Body>> for BalancedChannel {
    type Response = http::Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.layered {
            Some(layered) => layered.poll_ready(cx),
            // Each call picks its endpoint and waits for its connection itself.
            None => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        match &mut self.layered {
            Some(layered) => ResponseFuture {
                inner: layered.call(req),
            },
            None => ResponseFuture {
                inner: Box::pin(call::call(self.shared.clone(), req)),
            },
        }
    }
}

/// Future of [`BalancedChannel`]'s `call`.
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody>, BoxError>> + Send>>,
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<http::Response<ResponseBody>, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
