//! The built-in policy parts fused into one tower service, [`GrpcStack`].
//!
//! The parts run in the canonical order of the server's chain, written once in the `# Order`
//! section of [`ServerBuilder`](crate::server::ServerBuilder). The stack's code reads as
//! that list: one private function per part, each in a file of this folder named after the
//! part, statically dispatched, called one line each in `GrpcStack::before_handler` (the
//! parts up to the handler) and in the call's future (recover and timeout around the
//! handler). A part's policy (its config, state and rules) lives in its own folder under
//! `middleware/`; the files here are only its glue to the call, and the leaf folders never
//! import the stack. A new built-in part brings its folder, its glue file here, its switch
//! on [`GrpcStackBuilder`] and its line in `before_handler`.
//!
//! # Why fused
//! One boxed future and one response body wrapper per call however many parts are on,
//! verified tokens cached, no per-call strings for labels: the chain's cost stays close to
//! bare tonic. The stack records the go-grpc-prometheus metrics itself (what
//! [`super::metrics::MetricsLayer`] does for a server without it), so a server using the
//! stack must not add `MetricsLayer` too.
//!
//! # Building one
//! [`GrpcStackLayer::from_config`] switches on what the `middleware` config asks for;
//! [`GrpcStackLayer::builder`] switches parts on one by one (e.g. only auth and timeouts,
//! in tests). Hot-reloadable parts sit behind [`StackHandles`].

mod audit;
mod auth;
mod body;
mod builder;
mod fault;
mod handles;
mod ip_filter;
mod log;
mod metrics;
mod rate_limit;
mod record;
mod recover;
mod request;
mod route;
mod shared;
mod timeout;
mod validate;

#[cfg(test)]
mod tests;

use std::{
    convert::Infallible,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

pub(crate) use body::ResponseLimits;
pub use body::StackBody;
pub use builder::GrpcStackBuilder;
use futures::future::BoxFuture;
pub use handles::{ReloadError, StackHandles};
use http::{Request, Response};
use tokio::time::Instant;
use tonic::{Status, body::Body, transport::server::TcpConnectInfo};
use tower::{Layer, Service};

use self::{
    body::header_code, fault::Delay, rate_limit::ClusterCheck, record::CallRecord,
    shared::StackShared, timeout::Timing,
};
use super::{audit::AuditSink, switch::Parts};

/// The composed server stack: a [`tower::Layer`] producing [`GrpcStack`].
///
/// Cheap to clone; the clones share the stack's state (rate-limit buckets, hot-reload
/// handles, the audit sink).
///
/// # Examples
/// ```
/// use grpckit::{config::TimeoutConfig, middleware::GrpcStackLayer};
///
/// // Only panic recovery and deadlines (plus the metrics every stack records).
/// let stack = GrpcStackLayer::builder()
///     .recover()
///     .timeout(&TimeoutConfig::default())
///     .build()
///     .expect("no keys to load");
/// # drop(stack);
/// ```
#[derive(Debug, Clone)]
pub struct GrpcStackLayer {
    shared: Arc<StackShared>,
    max_recv: Option<usize>,
    responses: Option<ResponseLimits>,
    routed: Option<Arc<foldhash::HashSet<Box<str>>>>,
}

impl GrpcStackLayer {
    /// Refuses request messages above `max` bytes with `RESOURCE_EXHAUSTED` (what
    /// [`super::msg_size::MessageSizeLayer`] does; here the check shares the request body
    /// wrapper of validation instead of adding one).
    pub fn limit_messages(mut self, max: usize) -> Self {
        self.max_recv = Some(max);
        self
    }

    /// Holds every response body to the server's limits ([`ResponseLimits`]) in the stack's
    /// own body wrapper, so a server with the stack wraps each response once.
    pub(crate) fn limit_responses(mut self, limits: ResponseLimits) -> Self {
        self.responses = Some(limits);
        self
    }

    /// The services the server routes (`pkg.Service`): a call of any other service is
    /// answered `UNIMPLEMENTED` before auth (without it, only unknown methods of services
    /// whose descriptors are registered are).
    pub fn routed_services(mut self, names: &[&str]) -> Self {
        self.routed = Some(Arc::new(names.iter().map(|n| (*n).into()).collect()));
        self
    }

    /// Handles to swap the hot-reloadable parts' state while the server runs.
    pub fn handles(&self) -> StackHandles {
        StackHandles::of(&self.shared)
    }

    /// The audit sink, when auditing is on.
    pub fn audit_sink(&self) -> Option<&AuditSink> {
        self.shared.audit.as_ref()
    }
}

impl<S> Layer<S> for GrpcStackLayer {
    type Service = GrpcStack<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcStack {
            inner,
            shared: self.shared.clone(),
            max_recv: self.max_recv,
            responses: self.responses.clone(),
            routed: self.routed.clone(),
        }
    }
}

/// The fused middleware service (see the module docs).
#[derive(Debug, Clone)]
pub struct GrpcStack<S> {
    inner: S,
    shared: Arc<StackShared>,
    max_recv: Option<usize>,
    responses: Option<ResponseLimits>,
    routed: Option<Arc<foldhash::HashSet<Box<str>>>>,
}

/// What the call's future does first.
enum Next<S, F> {
    /// The inner service's future, created in `call` (boxed once: the layers around it
    /// then move a pointer, not the future).
    Call(Pin<Box<F>>),
    /// A clone of the inner service, called after the awaited checks pass: the
    /// cluster-wide rate limit, then an injected delay.
    AfterCheck(Box<AfterChecks<S>>),
}

/// The inner service and request held for [`Next::AfterCheck`], with the checks to await.
type AfterChecks<S> = (S, Request<Body>, Option<ClusterCheck>, Option<Box<Delay>>);

/// What the parts decided before the handler runs.
struct Before {
    /// Catch panics of the handler future and of the response stream.
    recover: bool,
    /// The cluster-wide rate-limit check still to await.
    cluster: Option<ClusterCheck>,
    /// The injected delay still to await.
    delay: Option<Box<Delay>>,
    /// The call's deadline and the response stream's idle timeout.
    timing: Timing,
}

/// The refusal of a call by a part, or the status of a failed handler, as the response.
fn reject(rec: &mut CallRecord, status: &Status) -> Response<StackBody> {
    rec.finish(status.code());
    let mut resp: Response<StackBody> = status
        .clone()
        .into_http::<Body>()
        .map(|_| StackBody::empty());
    log::echo_request_id_once(rec, resp.headers_mut());
    resp
}

/// The handler's response, wrapped in the ONE response body wrapper of the stack.
fn respond(
    mut rec: Box<CallRecord>,
    handled: Result<Response<Body>, Status>,
    recover: bool,
    timing: Timing,
    limits: Option<&ResponseLimits>,
) -> Response<StackBody> {
    let resp = match handled {
        Ok(r) => r,
        Err(st) => return reject(&mut rec, &st),
    };
    let (mut parts, body) = resp.into_parts();
    log::echo_request_id(&rec, &mut parts.headers);
    if let Some(code) = header_code(&parts.headers) {
        rec.finish(code);
        return Response::from_parts(parts, StackBody::empty());
    }
    let timers = timeout::stream_timers(&rec, timing);
    Response::from_parts(
        parts,
        StackBody::new(body, Some(rec), recover, timers, limits),
    )
}

impl<S> Service<Request<Body>> for GrpcStack<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<StackBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<StackBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let sh = &self.shared;
        let method = sh.methods.lookup(req.uri().path(), &sh.audit_extra);
        let peer = req
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr);
        // One clock read for the call's start and its deadline.
        let now = Instant::now();
        // Boxed once: it travels from here into the call's future and on into the body.
        let mut rec = Box::new(CallRecord::new(sh.clone(), method, now.into_std(), peer));
        if let Some(sw) = &sh.switches
            && sw.is_on()
        {
            rec.off = sw.off(rec.method.index, &rec.method.name);
        }
        let before = if rec.off.is_empty() {
            self.before_handler::<false>(&mut rec, &mut req, now)
        } else {
            self.before_handler::<true>(&mut rec, &mut req, now)
        };
        let Before {
            recover,
            cluster,
            delay,
            timing,
        } = match before {
            Ok(before) => before,
            Err(st) => return Box::pin(std::future::ready(Ok(reject(&mut rec, &st)))),
        };

        // Without a cluster-wide limit or an injected delay the inner service is called right
        // here (it is ready: `poll_ready` said so); only the Redis check or the delay, awaited
        // first, needs a clone of it.
        let next = match (cluster, delay) {
            (None, None) => Next::Call(Box::pin(self.inner.call(req))),
            (check, delay) => {
                let clone = self.inner.clone();
                Next::AfterCheck(Box::new((
                    std::mem::replace(&mut self.inner, clone),
                    req,
                    check,
                    delay,
                )))
            }
        };
        let limits = self.responses.clone();
        Box::pin(async move {
            let fut = match next {
                Next::Call(fut) => fut,
                Next::AfterCheck(after) => {
                    let (mut inner, req, check, delay) = *after;
                    if let Some(check) = check
                        && let Err(st) = rate_limit::cluster(check).await
                    {
                        return Ok(reject(&mut rec, &st));
                    }
                    if let Some(d) = delay
                        && let Err(st) = fault::delay(d, timing.deadline()).await
                    {
                        return Ok(reject(&mut rec, &st));
                    }
                    Box::pin(inner.call(req))
                }
            };
            let handled =
                timeout::within(timing.deadline(), recover::catch(recover, fut, &rec)).await;
            Ok(respond(rec, handled, recover, timing, limits.as_ref()))
        })
    }
}

impl<S> GrpcStack<S> {
    /// The parts in the order of [`ServerBuilder`'s `# Order`](crate::server::ServerBuilder),
    /// one line each, up to the handler (trace is the builder's own layer, outside this
    /// stack). The first refusal answers the call. A new built-in part adds its line here.
    /// `SWITCHED`: some part is switched off for this call (`rec.off`); without, the
    /// switch tests compile away.
    #[inline]
    fn before_handler<const SWITCHED: bool>(
        &self,
        rec: &mut CallRecord,
        req: &mut Request<Body>,
        now: Instant,
    ) -> Result<Before, Status> {
        let off = rec.off;
        let on = |part: Parts| !SWITCHED || !off.contains(part);
        metrics::start(rec, req, now);
        let recover = on(Parts::RECOVER) && recover::enabled(rec);
        if on(Parts::LOG) {
            log::start(rec, req);
        }
        if on(Parts::IP_FILTER) {
            ip_filter::check(rec, req)?;
        }
        route::check(rec, req, self.routed.as_deref())?;
        if on(Parts::AUTH) {
            auth::check(rec, req, now)?;
        }
        let cluster = if on(Parts::RATE_LIMIT) {
            rate_limit::check(rec)?
        } else {
            None
        };
        let timing = if on(Parts::TIMEOUT) {
            timeout::start(rec, req, now)
        } else {
            Timing::default()
        };
        let validate = on(Parts::VALIDATE) && validate::enabled(rec);
        let audited = on(Parts::AUDIT) && audit::enabled(rec);
        let delay = if on(Parts::FAULT) {
            fault::check(rec, req, now)?
        } else {
            None
        };
        // One request body wrapper: size limit, validation, audit target, message count.
        request::wrap_body(rec, req, self.max_recv, validate, audited);
        Ok(Before {
            recover,
            cluster,
            delay,
            timing,
        })
    }
}
