//! One call through a [`super::BalancedChannel`]: client breaker, then attempts (pick an
//! endpoint, send, read the status) until success, a non-retryable outcome, `max_attempts`,
//! the budget or the deadline says stop. One deadline (`grpc-timeout` of the request) covers
//! all attempts; each attempt carries the remaining time.

use std::sync::Arc;

use tokio::time::{Instant, timeout_at};
use tonic::{Code, Status, body::Body};
use tower::ServiceExt;

use super::{
    classify::{self, TransportFailure},
    pool::{Backend, InFlight},
    response::{ResponseBody, Track},
    retry::{Pushback, RequestBody, pushback},
    service::{BoxError, CallPolicy, Shared},
};

type CallResult = Result<http::Response<ResponseBody>, BoxError>;

/// Hard cap on attempts including transparent ones (connect errors, refused streams).
const EXTRA_TRANSPARENT: u32 = 8;

pub(crate) async fn call(sh: Arc<Shared>, req: http::Request<Body>) -> CallResult {
    let start = Instant::now();
    let deadline = classify::grpc_timeout(req.headers()).map(|t| start + t);
    // The policies in force when the call starts serve all its attempts (one atomic load).
    let policy = sh.policy.load_full();
    if let Some(b) = &policy.breaker
        && !b.try_acquire(start)
    {
        return Err(Status::unavailable("client circuit breaker is open").into());
    }
    let idempotent = policy.retry.is_idempotent(req.uri().path());
    let (parts, body) = req.into_parts();
    let body = if idempotent && policy.retry.max_attempts > 1 {
        match RequestBody::prefetch(body, policy.retry.max_buffer).await {
            Ok(b) => b,
            Err(status) => return Err(status.into()),
        }
    } else {
        RequestBody::once(body)
    };
    Attempts {
        sh: &sh,
        policy: &policy,
        parts: &parts,
        body: &body,
        deadline,
        idempotent,
    }
    .run()
    .await
}

struct Attempts<'a> {
    sh: &'a Arc<Shared>,
    policy: &'a Arc<CallPolicy>,
    parts: &'a http::request::Parts,
    body: &'a RequestBody,
    deadline: Option<Instant>,
    idempotent: bool,
}

impl Attempts<'_> {
    async fn run(self) -> CallResult {
        let (sh, policy) = (self.sh, self.policy);
        let max = policy.retry.max_attempts;
        let mut tried: Vec<Arc<Backend>> = Vec::new();
        let mut sent = 0u32; // attempts that count toward max_attempts
        let mut retries = 0u32; // back-off exponent
        // The last transport failure of this call, said again when no endpoint is left (a
        // connect or TLS handshake error ejects its endpoint at once).
        let mut last_error = String::new();
        for total in 0..max + EXTRA_TRANSPARENT {
            self.wait_resolved().await;
            let now = Instant::now();
            if self.deadline.is_some_and(|d| now >= d) {
                return self.fail(Status::deadline_exceeded(
                    "deadline exceeded before an endpoint answered",
                ));
            }
            let picked = {
                let snap = sh.pool.load();
                policy
                    .balancer
                    .pick(&snap, now, &tried)
                    .ok_or(snap.backends.len())
            };
            let backend = match picked {
                Ok(b) => b,
                Err(0) => return self.fail(Status::unavailable("no endpoints to send to")),
                Err(n) => {
                    return self.fail(Status::unavailable(format!(
                        "all {n} endpoints are ejected{last_error}"
                    )));
                }
            };
            let Some(body) = self.body.for_attempt() else {
                return self.fail(Status::unavailable(
                    "request stream already sent; not retried",
                ));
            };
            let req = self.request(body, total, now);
            let inflight = InFlight::new(backend.clone());
            let fut = backend.channel().oneshot(req);
            let result = match self.deadline {
                Some(d) => match timeout_at(d, fut).await {
                    Ok(r) => r,
                    Err(_) => {
                        return self.fail(Status::deadline_exceeded(format!(
                            "deadline exceeded waiting for {}",
                            backend.addr
                        )));
                    }
                },
                None => fut.await,
            };
            let now2 = Instant::now();
            match result {
                Ok(resp) => {
                    backend
                        .ewma
                        .observe(now2.saturating_duration_since(now), now2);
                    let Some(code) = classify::grpc_status(resp.headers()) else {
                        // Response headers arrived: committed, never retried.
                        let track = Track {
                            shared: sh.clone(),
                            policy: policy.clone(),
                            inflight,
                            report: true,
                        };
                        return Ok(resp.map(|b| ResponseBody::new(b, Some(track))));
                    };
                    sent += 1;
                    sh.attempt_outcome(&policy.retry, &backend, code, now2);
                    if let Some(wait) = self.retry_wait(code, resp.headers(), sent, retries)
                        && self.sleep(wait).await
                    {
                        retries += 1;
                        tried.push(backend);
                        continue;
                    }
                    policy.call_outcome(code, now2);
                    let track = Track {
                        shared: sh.clone(),
                        policy: policy.clone(),
                        inflight,
                        report: false,
                    };
                    return Ok(resp.map(|b| ResponseBody::new(b, Some(track))));
                }
                Err(err) => {
                    drop(inflight);
                    let kind = classify::transport_failure(&err);
                    let status = Status::unavailable(format!(
                        "{}: {}",
                        backend.addr,
                        crate::ErrorChain(&err)
                    ));
                    let may_retry = match kind {
                        TransportFailure::Connect | TransportFailure::Refused => {
                            // Down or draining: eject at once; the request never got processed.
                            backend.breaker.trip(now2);
                            self.body.replayable()
                        }
                        TransportFailure::MaybeSent => {
                            backend.breaker.failure(now2);
                            sent += 1;
                            sh.budget.failure();
                            self.idempotent
                                && sent < max
                                && self.body.replayable()
                                && sh.budget.allows_retry()
                        }
                    };
                    tracing::debug!(endpoint = %backend.addr, ?kind, may_retry, "client attempt failed");
                    last_error = format!("; last error: {}", status.message());
                    if !may_retry {
                        return self.fail(status);
                    }
                    if kind == TransportFailure::MaybeSent {
                        retries += 1;
                        if !self.sleep(policy.retry.backoff(retries)).await {
                            return self.fail(status);
                        }
                    }
                    tried.push(backend);
                }
            }
        }
        self.fail(Status::unavailable(format!(
            "too many attempts{last_error}"
        )))
    }

    /// How long to wait before retrying a trailers-only failure, or `None` to stop.
    fn retry_wait(
        &self,
        code: Code,
        headers: &http::HeaderMap,
        sent: u32,
        retries: u32,
    ) -> Option<std::time::Duration> {
        let (sh, retry) = (self.sh, &self.policy.retry);
        if code == Code::Ok
            || !retry.is_retryable(code)
            || !self.idempotent
            || sent >= retry.max_attempts
            || !self.body.replayable()
            || !sh.budget.allows_retry()
        {
            return None;
        }
        match pushback(headers) {
            Pushback::Stop => None,
            Pushback::After(d) => Some(d),
            Pushback::None => Some(retry.backoff(retries + 1)),
        }
    }

    /// Sleeps `wait` unless that would pass the deadline (then returns false at once).
    async fn sleep(&self, wait: std::time::Duration) -> bool {
        let until = Instant::now() + wait;
        if self.deadline.is_some_and(|d| until >= d) {
            return false;
        }
        tokio::time::sleep_until(until).await;
        true
    }

    async fn wait_resolved(&self) {
        if *self.sh.resolved.borrow() {
            return;
        }
        let mut rx = self.sh.resolved.clone();
        let limit = self
            .deadline
            .unwrap_or_else(|| Instant::now() + self.sh.resolve_wait);
        let _ = timeout_at(limit, rx.wait_for(|v| *v)).await;
    }

    fn request(&self, body: Body, attempt: u32, now: Instant) -> http::Request<Body> {
        let p = self.parts;
        let mut r = http::Request::new(body);
        *r.method_mut() = p.method.clone();
        *r.uri_mut() = p.uri.clone();
        *r.version_mut() = p.version;
        *r.headers_mut() = p.headers.clone();
        *r.extensions_mut() = p.extensions.clone();
        let h = r.headers_mut();
        if attempt > 0 {
            h.insert(
                "grpc-previous-rpc-attempts",
                http::HeaderValue::from(attempt),
            );
        }
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(now);
            if let Ok(v) = classify::format_grpc_timeout(left).parse() {
                h.insert("grpc-timeout", v);
            }
        }
        r
    }

    fn fail(&self, status: Status) -> CallResult {
        self.policy.call_outcome(status.code(), Instant::now());
        Err(status.into())
    }
}
