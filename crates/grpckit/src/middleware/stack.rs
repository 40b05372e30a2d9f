//! The ONE place where the server's tower stack is assembled.
//!
//! # Order (outermost first)
//! `ServerBuilder` puts one base layer around this stack: trace (span + context propagation,
//! `middleware/trace`). So the access line of **log** runs inside the call's span and carries
//! its `trace_id`/`span_id`. Inside, this stack (the go-grpc-prometheus **metrics** are
//! recorded from the call's start to its final status, around all of it, and with
//! [`GrpcStackLayer::limit_messages`] the request messages are held to a size limit):
//! 1. **recover** — panics in the handler future or while a response stream is polled
//! 2. **log** — request id (taken or generated, echoed in `x-request-id`) + access line
//! 3. **auth** — JWT / API key -> [`Principal`]; RBAC -> `PERMISSION_DENIED`. Before it, a
//!    call of an unknown method is answered `UNIMPLEMENTED` with or without credentials
//!    ([`GrpcStackLayer::routed_services`]), as grpc-go routes before its interceptors.
//! 4. **rate_limit** — buckets per (rule, principal | peer IP), Redis budget, load shedding
//! 5. **timeout** — deadline = min(config, `grpc-timeout`); stream lifetime/idle
//! 6. **validate** — `buf.validate` rules on every request message
//! 7. **audit** — record of mutating calls and stream opens
//! 8. handler
//!
//! For speed the layers are FUSED into one service ([`GrpcStack`]): one boxed future and
//! one response body wrapper per call however many parts are on, verified tokens cached,
//! no per-call strings for labels. The stack records the metrics itself (what
//! [`super::metrics::MetricsLayer`] does for a server without it), so a server using the
//! stack must not add `MetricsLayer` too. Each part still has its own module and its own
//! [`tower::Layer`] (e.g. [`super::auth::AuthLayer`]) — that is this stack with only that
//! part switched on. Hot-reloadable parts (auth keys/API keys/RBAC, limits, timeouts, log
//! level) sit behind [`arc_swap::ArcSwap`] handles ([`StackHandles`]).

use std::{
    convert::Infallible,
    hash::BuildHasher,
    net::SocketAddr,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;
use futures::{FutureExt, future::BoxFuture};
use http::{HeaderValue, Request, Response};
use tokio::time::Instant;
use tonic::{Code, Status, body::Body, transport::server::TcpConnectInfo};
use tower::{Layer, Service};

use super::{
    audit::AuditSink,
    auth::{AuthSecrets, AuthState, KeyError, Principal},
    body::{StackBody, Timers, header_code},
    log::{LogPolicy, RequestId, request_id},
    method::{MethodPattern, MethodTable},
    msg_size::LimitedBody,
    rate_limit::{
        ClusterLimiter, ClusterVerdict, RateState, Refused, rate_limited, refused_status,
    },
    record::CallRecord,
    recover,
    timeout::{Deadline, TimeoutState},
    validate::{InspectBody, Inspected, Schemas},
};
use crate::{
    config::MiddlewareConfig,
    telemetry::metrics::{self, CallRecorder, Side, count_body},
};

/// Shared, per-server state of the stack.
#[derive(Debug)]
pub struct StackShared {
    pub(crate) methods: MethodTable,
    pub(crate) schemas: Arc<Schemas>,
    pub(crate) recover: bool,
    pub(crate) log: Option<Arc<ArcSwap<LogPolicy>>>,
    pub(crate) auth: Option<Arc<ArcSwap<AuthState>>>,
    pub(crate) rate: Option<Arc<ArcSwap<RateState>>>,
    pub(crate) cluster: Option<Arc<ClusterLimiter>>,
    pub(crate) timeout: Option<Arc<ArcSwap<TimeoutState>>>,
    pub(crate) validate: bool,
    pub(crate) audit: Option<AuditSink>,
    pub(crate) audit_extra: Vec<MethodPattern>,
    /// Whether this stack records the go-grpc-prometheus series (the full stack does).
    pub(crate) metrics: bool,
    pub(crate) hasher: RandomState,
}

/// Swappable handles for hot reload: store a new state to change behaviour for new calls.
#[derive(Debug, Clone, Default)]
pub struct StackHandles {
    /// Keys, API keys, RBAC rules (`None` when auth is off).
    pub auth: Option<Arc<ArcSwap<AuthState>>>,
    /// Rate limits.
    pub rate: Option<Arc<ArcSwap<RateState>>>,
    /// Timeouts.
    pub timeout: Option<Arc<ArcSwap<TimeoutState>>>,
    /// Access-log level.
    pub log: Option<Arc<ArcSwap<LogPolicy>>>,
}

/// The composed server stack (see the module docs for the order).
#[derive(Debug, Clone)]
pub struct GrpcStackLayer {
    shared: Arc<StackShared>,
    max_recv: Option<usize>,
    routed: Option<Arc<foldhash::HashSet<Box<str>>>>,
}

impl GrpcStackLayer {
    /// Builds the stack from config. `descriptor_sets` are the encoded
    /// `FileDescriptorSet`s of the served services (method kinds, validation rules). The
    /// stack records the go-grpc-prometheus series too (do not add `MetricsLayer` as well).
    pub fn from_config(
        cfg: &MiddlewareConfig,
        secrets: &AuthSecrets,
        descriptor_sets: &[&[u8]],
    ) -> Result<Self, KeyError> {
        Self::build(cfg, secrets, descriptor_sets, true)
    }

    /// One part alone (the per-part layers such as `AuthLayer`): no metrics.
    pub(crate) fn part(
        cfg: &MiddlewareConfig,
        secrets: &AuthSecrets,
        descriptor_sets: &[&[u8]],
    ) -> Result<Self, KeyError> {
        Self::build(cfg, secrets, descriptor_sets, false)
    }

    fn build(
        cfg: &MiddlewareConfig,
        secrets: &AuthSecrets,
        descriptor_sets: &[&[u8]],
        record_metrics: bool,
    ) -> Result<Self, KeyError> {
        for set in descriptor_sets {
            // The stack records the metrics; its method table points at their entries.
            metrics::register_descriptor_set(set);
        }
        let schemas =
            Arc::new(Schemas::new(descriptor_sets).with_audit_targets(&cfg.audit.target_fields));
        let audit_extra: Vec<MethodPattern> = cfg.audit.methods.clone();
        let methods = schemas.method_table(&audit_extra);
        let names: Vec<&str> = methods.methods().iter().map(|m| &*m.name).collect();
        let auth = if cfg.auth.enabled {
            Some(Arc::new(ArcSwap::from_pointee(AuthState::from_config(
                &cfg.auth, secrets,
            )?)))
        } else {
            None
        };
        let rl = &cfg.rate_limit;
        let rate = (rl.enabled && !rl.rules.is_empty())
            .then(|| Arc::new(ArcSwap::from_pointee(RateState::new(&rl.rules, &names))));
        let cluster = (rl.enabled && rl.rules.iter().any(|r| r.cluster_limit > 0))
            .then(|| Arc::new(ClusterLimiter::new(&rl.redis)));
        let timeout = cfg.timeout.enabled.then(|| {
            Arc::new(ArcSwap::from_pointee(TimeoutState::new(
                &cfg.timeout,
                &names,
            )))
        });
        let log = cfg
            .log
            .enabled
            .then(|| Arc::new(ArcSwap::from_pointee(LogPolicy::new(&cfg.log))));
        let audit = cfg
            .audit
            .enabled
            .then(|| AuditSink::from_config(&cfg.audit));
        drop(names);
        Ok(Self {
            max_recv: None,
            routed: None,
            shared: Arc::new(StackShared {
                methods,
                schemas,
                recover: cfg.recover.enabled,
                log,
                auth,
                rate,
                cluster,
                timeout,
                validate: cfg.validate.enabled,
                audit,
                audit_extra,
                metrics: record_metrics,
                hasher: RandomState::default(),
            }),
        })
    }

    /// A config with every part off; the per-layer constructors switch one on.
    pub(crate) fn all_off() -> MiddlewareConfig {
        let mut c = MiddlewareConfig::default();
        c.recover.enabled = false;
        c.log.enabled = false;
        c.auth.enabled = false;
        c.rate_limit.enabled = false;
        c.timeout.enabled = false;
        c.validate.enabled = false;
        c.audit.enabled = false;
        c
    }

    /// Refuses request messages above `max` bytes with `RESOURCE_EXHAUSTED` (what
    /// [`super::msg_size::MessageSizeLayer`] does; here the check shares the request body
    /// wrapper of validation instead of adding one).
    pub fn limit_messages(mut self, max: usize) -> Self {
        self.max_recv = Some(max);
        self
    }

    /// The services the server routes (`pkg.Service`): a call of any other service is
    /// answered `UNIMPLEMENTED` before auth (without it, only unknown methods of services
    /// whose descriptors are registered are).
    pub fn routed_services(mut self, names: &[&str]) -> Self {
        self.routed = Some(Arc::new(names.iter().map(|n| (*n).into()).collect()));
        self
    }

    /// Handles for hot reload.
    pub fn handles(&self) -> StackHandles {
        let s = &self.shared;
        StackHandles {
            auth: s.auth.clone(),
            rate: s.rate.clone(),
            timeout: s.timeout.clone(),
            log: s.log.clone(),
        }
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
            routed: self.routed.clone(),
        }
    }
}

/// The fused middleware service.
#[derive(Debug, Clone)]
pub struct GrpcStack<S> {
    inner: S,
    shared: Arc<StackShared>,
    max_recv: Option<usize>,
    routed: Option<Arc<foldhash::HashSet<Box<str>>>>,
}

fn reject(rec: &mut CallRecord, status: &Status) -> Response<StackBody> {
    rec.finish(status.code());
    let mut resp: Response<StackBody> = status
        .clone()
        .into_http::<Body>()
        .map(|_| StackBody::empty());
    if let Some(id) = rec.request_id.take() {
        echo_request_id(resp.headers_mut(), id);
    }
    resp
}

/// The cluster-wide rate-limit check: limiter, rule name, who, limit, window.
type ClusterCheck = (Arc<ClusterLimiter>, Box<str>, String, u32, Duration);

/// What the call's future does first.
enum Next<S, F> {
    /// The inner service's future, created in `call` (boxed once: the layers around it
    /// then move a pointer, not the future).
    Call(Pin<Box<F>>),
    /// A clone of the inner service, called after the cluster-wide check passes.
    AfterCheck(Box<(S, Request<Body>, ClusterCheck)>),
}

/// Returns the request id to the caller. It is unique per call, so HPACK is told never to
/// index it: a value that never repeats would only churn both sides' header tables.
fn echo_request_id(headers: &mut http::HeaderMap, mut id: HeaderValue) {
    id.set_sensitive(true);
    headers.insert(crate::headers::X_REQUEST_ID, id);
}

fn principal_key(sh: &StackShared, p: Option<&Principal>, peer: Option<SocketAddr>) -> u64 {
    match (p, peer) {
        (Some(p), _) => sh.hasher.hash_one(p.subject()),
        (None, Some(a)) => sh.hasher.hash_one(a.ip()),
        (None, None) => 0,
    }
}

fn who(p: Option<&Principal>, peer: Option<SocketAddr>) -> String {
    match (p, peer) {
        (Some(p), _) => p.subject().to_owned(),
        (None, Some(a)) => a.ip().to_string(),
        (None, None) => "unknown".into(),
    }
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
        let sh = self.shared.clone();
        let method = sh.methods.lookup(req.uri().path(), &sh.audit_extra);
        let peer = req
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr);
        let request_id = sh.log.is_some().then(|| request_id(req.headers()));
        // One clock read for the call's start and its deadline.
        let now = Instant::now();
        let metered = (sh.metrics && metrics::enabled())
            .then(|| CallRecorder::start_at(method.metered, Side::Server, now.into_std()));
        if let Some(m) = &metered
            && method.kind.client_streams()
        {
            let counter = m.request_messages();
            req = req.map(|b| count_body(b, counter));
        }
        // Boxed once: it travels from here into the call's future and on into the body.
        let mut rec = Box::new(CallRecord {
            shared: sh.clone(),
            method: method.clone(),
            start: now.into_std(),
            request_id,
            peer,
            principal: None,
            inspected: None,
            out_msgs: 0,
            permit: None,
            metrics: metered,
            done: false,
        });
        // An unknown method is UNIMPLEMENTED whoever calls, as in grpc-go, which routes
        // before its interceptors run: no credentials needed to learn what reflection lists.
        if method.index == usize::MAX
            && let Some(st) = sh.methods.unknown(req.uri().path(), self.routed.as_deref())
        {
            return Box::pin(std::future::ready(Ok(reject(&mut rec, &st))));
        }
        // 5. auth
        if let Some(auth) = &sh.auth {
            match auth.load().decide_at(
                &method.name,
                req.headers(),
                crate::clock::unix_secs(now.into_std()),
            ) {
                Ok(p) => rec.principal = p,
                Err(st) => {
                    metrics::auth_rejected(if st.code() == Code::PermissionDenied {
                        "forbidden"
                    } else {
                        "unauthenticated"
                    });
                    return Box::pin(std::future::ready(Ok(reject(&mut rec, &st))));
                }
            }
        }
        // 6. rate limit / load shedding (local part; the Redis part is awaited below)
        let mut cluster = None;
        if let Some(rate) = &sh.rate {
            let state = rate.load();
            if let Some(rule) = state.rule(method.index, &method.name) {
                let key = principal_key(&sh, rec.principal.as_ref(), peer);
                match rule.admit(key) {
                    Ok(permit) => rec.permit = permit,
                    Err(r) => {
                        metrics::rate_limited(match r {
                            Refused::RateLimited(_) => "per_client",
                            Refused::Overloaded => "load_shed",
                        });
                        return Box::pin(std::future::ready(Ok(reject(
                            &mut rec,
                            &refused_status(r),
                        ))));
                    }
                }
                if let (Some((limit, window)), Some(cl)) = (rule.cluster, &sh.cluster) {
                    let w = who(rec.principal.as_ref(), peer);
                    cluster = Some((cl.clone(), rule.name.clone(), w, limit, window));
                }
            }
        }
        // 7. timeout
        let streaming = method.kind != super::method::CallKind::Unary;
        let (deadline, idle) = match &sh.timeout {
            Some(t) => {
                let t = t.load();
                let h = req
                    .headers()
                    .get(crate::headers::GRPC_TIMEOUT)
                    .map(HeaderValue::as_bytes);
                (
                    t.deadline(method.index, &method.name, streaming, h, now),
                    t.stream_idle,
                )
            }
            None => (None, None),
        };
        if let Some(d) = deadline {
            req.extensions_mut().insert(Deadline(d));
        }
        // 8./9. validate + audit target (one request body wrapper)
        let audited = sh.audit.is_some() && method.audited;
        let validate = sh.validate && method.has_rules;
        let count_in = sh.log.is_some() && method.kind.client_streams();
        let inspect = method.input_type.is_some() && (validate || audited || count_in);
        if inspect {
            let ins = (audited || count_in).then(|| Arc::new(Inspected::default()));
            rec.inspected = ins.clone();
            let (schemas, m) = (sh.schemas.clone(), method.clone());
            // The size limit (when set) goes in the same boxed wrapper.
            req = match self.max_recv {
                Some(max) => req.map(|b| {
                    let b = LimitedBody::new(b, max);
                    Body::new(InspectBody::new(b, schemas, validate, m, ins, audited))
                }),
                None => {
                    req.map(|b| Body::new(InspectBody::new(b, schemas, validate, m, ins, audited)))
                }
            };
        } else if let Some(max) = self.max_recv {
            req = req.map(|b| Body::new(LimitedBody::new(b, max)));
        }
        if let Some(p) = &rec.principal {
            req.extensions_mut().insert(p.clone());
        }
        if let Some(id) = &rec.request_id {
            req.extensions_mut().insert(RequestId(id.clone()));
        }

        // Without a cluster-wide limit the inner service is called right here (it is ready:
        // `poll_ready` said so); only the Redis check, awaited first, needs a clone of it.
        let next = match cluster {
            None => Next::Call(Box::pin(self.inner.call(req))),
            Some(check) => {
                let clone = self.inner.clone();
                Next::AfterCheck(Box::new((
                    std::mem::replace(&mut self.inner, clone),
                    req,
                    check,
                )))
            }
        };
        let recover_on = sh.recover;
        Box::pin(async move {
            let fut = match next {
                Next::Call(fut) => fut,
                Next::AfterCheck(after) => {
                    let (mut inner, req, (cl, rule, w, limit, window)) = *after;
                    // Boxed: the Redis round trip's state would otherwise widen every
                    // call's future (and the copy that boxes it).
                    match Box::pin(cl.check(&rule, &w, limit, window)).await {
                        ClusterVerdict::Allow => {}
                        ClusterVerdict::Deny(d) => {
                            metrics::rate_limited("cluster");
                            return Ok(reject(&mut rec, &rate_limited(d)));
                        }
                        ClusterVerdict::Unavailable => {
                            return Ok(reject(
                                &mut rec,
                                &crate::reason::RATE_LIMITER_UNAVAILABLE
                                    .status(Code::Unavailable, "rate limiter unavailable"),
                            ));
                        }
                    }
                    Box::pin(inner.call(req))
                }
            };
            let guarded = async {
                if recover_on {
                    match AssertUnwindSafe(fut).catch_unwind().await {
                        Ok(Ok(r)) => Ok(r),
                        Ok(Err(never)) => match never {},
                        Err(panic) => {
                            recover::log_panic(
                                &*panic,
                                &rec.method.name,
                                rec.request_id_str(),
                                false,
                            );
                            Err(recover::panic_status())
                        }
                    }
                } else {
                    match fut.await {
                        Ok(r) => Ok(r),
                        Err(never) => match never {},
                    }
                }
            };
            let result = match deadline {
                // Dropping the handler future on expiry cancels its work.
                Some(d) => tokio::time::timeout_at(d, guarded)
                    .await
                    .unwrap_or_else(|_| {
                        Err(crate::reason::DEADLINE_EXCEEDED
                            .status(Code::DeadlineExceeded, "deadline exceeded"))
                    }),
                None => guarded.await,
            };
            let resp = match result {
                Ok(r) => r,
                Err(st) => return Ok(reject(&mut rec, &st)),
            };
            let (mut parts, body) = resp.into_parts();
            if let Some(id) = &rec.request_id {
                echo_request_id(&mut parts.headers, id.clone());
            }
            if let Some(code) = header_code(&parts.headers) {
                rec.finish(code);
                return Ok(Response::from_parts(parts, StackBody::empty()));
            }
            let timers = if method.kind.server_streams() {
                Timers::new(deadline, idle)
            } else {
                None
            };
            Ok(Response::from_parts(
                parts,
                StackBody::new(body, Some(rec), recover_on, timers),
            ))
        })
    }
}
