//! The server builder. The order of the tower stack is written once, on [`ServerBuilder`]
//! (its `# Order` section).

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use http::{Request, Response};
use tokio::net::TcpListener;
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
};
use tonic_health::{
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};
use tower::{
    Layer, Service, ServiceBuilder, ServiceExt,
    layer::util::{Identity, Stack},
    util::BoxCloneSyncService,
};

use super::{
    Shutdown,
    accept::{Connections, serve_connections},
    response_body::ResponseLimitsLayer,
    tls::{ServerTls, TlsError},
    tls_reload::watch_files,
};
use crate::{
    bridge::{Bridges, OpenApiOptions},
    config::{MiddlewareConfig, ServerConfig},
    middleware::{
        GrpcStackLayer, StackHandles,
        auth::{AuthSecrets, KeyError},
        metrics::MetricsLayer,
        msg_size::MessageSizeLayer,
        stack::ResponseLimits,
        trace::TraceLayer,
    },
};

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The reflection descriptors are broken.
    #[error("invalid reflection descriptors")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport failed")]
    Transport(#[from] tonic::transport::Error),
    /// The configuration asks for a feature that does not exist yet or cannot work
    /// (`server.enable_tls: true` without `server.tls.cert_file`/`key_file`); the message
    /// names the key.
    #[error("{0}")]
    NotAvailable(String),
    /// The TLS certificate, key or client CA could not be loaded (the message names the
    /// key).
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The middleware stack could not be rebuilt when a descriptor set was added after
    /// [`ServerBuilder::middleware`].
    #[error("middleware config")]
    Middleware(#[source] Arc<KeyError>),
}

/// The service a layer added with [`ServerBuilder::layer_outer`] wraps: everything inside
/// it (trace, the policy parts, the user layers and the handler), boxed.
pub type OuterService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// The outer layers added so far, composed into one function (first added outermost).
#[derive(Clone)]
struct OuterLayers(Arc<dyn Fn(OuterService) -> OuterService + Send + Sync>);

impl std::fmt::Debug for OuterLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OuterLayers")
    }
}

impl<S, B> Layer<S> for OuterLayers
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Service = OuterService;

    fn layer(&self, inner: S) -> OuterService {
        (self.0)(BoxCloneSyncService::new(
            inner.map_response(|r: Response<B>| r.map(Body::new)),
        ))
    }
}

/// The middleware config the stack is built from, kept to rebuild it when a descriptor set
/// is registered after [`ServerBuilder::middleware`].
#[derive(Debug, Clone)]
struct MiddlewareSource {
    config: MiddlewareConfig,
    secrets: AuthSecrets,
}

/// Builds and runs a gRPC server with health, reflection and graceful shutdown.
///
/// Reflection describes every registered descriptor set and, for every server, the
/// `google.rpc` error details ([`super::google_rpc_descriptors`]).
///
/// # Order
/// The canonical order of the server's tower stack, outermost first:
///
/// `outer layers -> trace -> metrics + message size -> recover -> request id + access log ->
/// IP filter -> auth -> rate limit / load shed -> timeout -> validate -> audit -> fault ->
/// user layers -> handler`
///
/// - `outer layers` are the layers added with [`ServerBuilder::layer_outer`], in the order
///   added (the first added runs first). They see every call as it arrives, before
///   anything else: calls of unknown methods, unauthenticated and rate-limited calls
///   included, and no request extension set by the stack.
/// - `trace` is always on ([`TraceLayer`]).
/// - `IP filter` (`middleware.ip_filter`, in the stack only when it has a list) refuses a
///   client address before routing and auth: a denied address gets `PERMISSION_DENIED`
///   (reason `IP_DENIED`) even for an unknown method, and its token is never read. Routing
///   (an unknown method is `UNIMPLEMENTED`) is the first step of `auth`.
/// - `fault` (`middleware.fault`, off by default) injects delays (awaited before the handler,
///   within the call's deadline) and aborts into matching calls.
/// - `metrics + message size` through `fault` are the fused stack,
///   [`GrpcStackLayer`](crate::middleware::GrpcStackLayer), one service that runs these parts
///   in this order (set by [`ServerBuilder::middleware`] or [`ServerBuilder::stack`]). Without
///   it (`middleware.enabled: false`) only the metrics and the size check run, as
///   [`MetricsLayer`] and [`MessageSizeLayer`].
/// - `user layers` are the layers added with [`ServerBuilder::layer`], in the order added
///   (the first added runs first). They see the request extensions the fused stack sets:
///   [`Principal`](crate::middleware::auth::Principal),
///   [`Deadline`](crate::middleware::timeout::Deadline) and
///   [`RequestId`](crate::middleware::log::RequestId).
/// - Between the fused stack and the user layers the server holds every response to
///   `server.max_send_size` (`RESOURCE_EXHAUSTED`) and ends the response streams still open
///   when the drain starts (`UNAVAILABLE`, see [`ServerBuilder::serve`]).
/// - The handler is the router of the added services, health and reflection.
///
/// Calls are order-independent: the stack set by [`ServerBuilder::middleware`] describes
/// every descriptor set and service added before or after it.
///
/// # Examples
/// ```no_run
/// # async fn run() -> Result<(), grpckit::server::ServeError> {
/// use grpckit::{config::ServerConfig, server::{ServerBuilder, Shutdown}};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// ServerBuilder::new(ServerConfig::default())
///     .serve(listener, Shutdown::new())
///     .await
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerBuilder<L = Identity> {
    config: ServerConfig,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    stack: Option<GrpcStackLayer>,
    middleware: Option<Arc<MiddlewareSource>>,
    /// A rebuild of the stack failed (reported when serving starts).
    stack_error: Option<Arc<KeyError>>,
    /// Settings that weaken a check, logged when serving starts.
    warnings: Vec<String>,
    health: HealthReporter,
    layer: L,
    outer: Option<OuterLayers>,
    /// The open-connection budget (`server.max_connections`), shared by the clones of this
    /// builder (the `thread_per_core` threads).
    connections: Arc<std::sync::OnceLock<Arc<tokio::sync::Semaphore>>>,
}

impl ServerBuilder {
    /// A builder with the given listener/HTTP/2 settings, the default (empty) stack and no
    /// user layers.
    pub fn new(config: ServerConfig) -> Self {
        let health = HealthReporter::new();
        Self {
            config,
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            descriptor_sets: vec![tonic_health::pb::FILE_DESCRIPTOR_SET],
            stack: None,
            middleware: None,
            stack_error: None,
            warnings: Vec::new(),
            health,
            layer: Identity::new(),
            outer: None,
            connections: Arc::default(),
        }
    }
}

impl<L> ServerBuilder<L> {
    /// Adds a team's own tower layer, run after the built-in policy parts, just before the
    /// handler (see `# Order` on [`ServerBuilder`]); layers added first run first.
    ///
    /// The layer wraps the router of every service (health and reflection included). Its
    /// service takes and returns `http` messages with [`tonic::body::Body`] and never fails
    /// (`Error = Infallible`): to reject a call, answer with a gRPC status response,
    /// [`tonic::Status::into_http`]. The request carries the extensions the fused stack set
    /// ([`Principal`](crate::middleware::auth::Principal) when authenticated,
    /// [`Deadline`](crate::middleware::timeout::Deadline),
    /// [`RequestId`](crate::middleware::log::RequestId)). It runs once per call, unary and
    /// streaming alike.
    ///
    /// # Examples
    /// ```rust,no_run
    /// use std::convert::Infallible;
    /// use grpckit::{config::ServerConfig, middleware::auth::Principal, server::ServerBuilder};
    /// use http::{Request, Response};
    /// use tonic::body::Body;
    /// use tower::{ServiceExt, service_fn, util::BoxCloneSyncService};
    ///
    /// /// Lets only authenticated callers through.
    /// fn only_signed_in(
    ///     inner: BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
    /// ) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
    ///     BoxCloneSyncService::new(service_fn(move |req: Request<Body>| {
    ///         let inner = inner.clone();
    ///         async move {
    ///             if req.extensions().get::<Principal>().is_none() {
    ///                 return Ok(tonic::Status::permission_denied("sign in first").into_http());
    ///             }
    ///             inner.oneshot(req).await
    ///         }
    ///     }))
    /// }
    ///
    /// let builder = ServerBuilder::new(ServerConfig::default()).layer(tower::layer::layer_fn(
    ///     |inner: tonic::service::Routes| only_signed_in(BoxCloneSyncService::new(inner)),
    /// ));
    /// # drop(builder);
    /// ```
    pub fn layer<N>(self, layer: N) -> ServerBuilder<Stack<N, L>> {
        ServerBuilder {
            config: self.config,
            routes: self.routes,
            service_names: self.service_names,
            descriptor_sets: self.descriptor_sets,
            stack: self.stack,
            middleware: self.middleware,
            stack_error: self.stack_error,
            warnings: self.warnings,
            health: self.health,
            layer: Stack::new(layer, self.layer),
            outer: self.outer,
            connections: self.connections,
        }
    }

    /// Adds a tower layer OUTSIDE trace, the first thing every call passes (see `# Order` on
    /// [`ServerBuilder`]); layers added first run first.
    ///
    /// It sees every call as it arrives: calls of unknown methods (`UNIMPLEMENTED`),
    /// unauthenticated, rate-limited and invalid calls included, before any request
    /// extension is set. Its service wraps an [`OuterService`] and answers `http`
    /// messages with a [`tonic::body::Body`]; to reject a call, answer with
    /// [`tonic::Status::into_http`]. With outer layers, each call pays one boxed future.
    ///
    /// # Examples
    /// ```rust,no_run
    /// use grpckit::{config::ServerConfig, server::{OuterService, ServerBuilder}};
    /// use http::Request;
    /// use tonic::body::Body;
    /// use tower::{ServiceExt, layer::layer_fn};
    ///
    /// // Counts every call that reaches the server, whatever happens to it next.
    /// let builder = ServerBuilder::new(ServerConfig::default()).layer_outer(layer_fn(
    ///     |inner: OuterService| {
    ///         inner.map_request(|req: Request<Body>| {
    ///             tracing::debug!(path = req.uri().path(), "call arrived");
    ///             req
    ///         })
    ///     },
    /// ));
    /// # drop(builder);
    /// ```
    pub fn layer_outer<N>(mut self, layer: N) -> Self
    where
        N: Layer<OuterService> + Send + Sync + 'static,
        N::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <N::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let wrap = move |inner: OuterService| BoxCloneSyncService::new(layer.layer(inner));
        self.outer = Some(OuterLayers(match self.outer.take() {
            None => Arc::new(wrap),
            Some(OuterLayers(first)) => Arc::new(move |inner| first(wrap(inner))),
        }));
        self
    }

    /// Adds a tonic service; it is reported SERVING by the health service under its name.
    pub fn add_service<S>(mut self, svc: S) -> Self
    where
        S: tower::Service<Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.service_names.push(S::NAME);
        self.routes.add_service(svc);
        self
    }

    /// Registers an encoded `FileDescriptorSet` for server reflection, method kinds and
    /// validation rules; before or after [`ServerBuilder::middleware`] alike.
    pub fn file_descriptor_set(mut self, bytes: &'static [u8]) -> Self {
        // Registered now, not when serving starts: metrics of calls made as soon as the
        // listener accepts (client side included) must find their method.
        crate::telemetry::metrics::register_descriptor_set(bytes);
        self.descriptor_sets.push(bytes);
        if let Some(src) = self.middleware.clone() {
            // The stack reads method kinds and validation rules from the sets: rebuild it.
            match self.build_stack(&src) {
                Ok(stack) => self.stack = Some(stack),
                Err(e) => self.stack_error = Some(Arc::new(e)),
            }
        }
        self
    }

    /// Sets a prebuilt middleware stack (e.g. one shared by several builders). Without a
    /// stack (the default) the server runs with no policy parts, only the metrics and the
    /// message size checks.
    pub fn stack(mut self, stack: GrpcStackLayer) -> Self {
        self.stack = Some(stack);
        self.middleware = None;
        self.stack_error = None;
        self
    }

    /// Builds the middleware stack from config. It covers every service and descriptor set
    /// of this builder, added before or after this call. `middleware.enabled: false` serves
    /// with no policy parts at all.
    ///
    /// JWT verification without an issuer or an audience to check (neither
    /// `middleware.auth.jwt.issuer`/`audience` nor [`AuthSecrets`] name one) accepts tokens
    /// whatever their `iss`/`aud` claim, as jsonwebtoken libraries do by default: the
    /// server logs a warning naming the key when it starts.
    ///
    /// # Errors
    /// A JWT key that cannot be read or parsed.
    pub fn middleware(
        mut self,
        cfg: &MiddlewareConfig,
        secrets: &AuthSecrets,
    ) -> Result<Self, KeyError> {
        self.stack_error = None;
        if !cfg.enabled {
            self.stack = None;
            self.middleware = None;
            return Ok(self);
        }
        let src = MiddlewareSource {
            config: cfg.clone(),
            secrets: secrets.clone(),
        };
        self.stack = Some(self.build_stack(&src)?);
        self.warnings = unchecked_claims(cfg, secrets);
        self.middleware = Some(Arc::new(src));
        Ok(self)
    }

    fn build_stack(&self, src: &MiddlewareSource) -> Result<GrpcStackLayer, KeyError> {
        let mut sets = self.descriptor_sets.clone();
        sets.push(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET);
        sets.push(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET);
        GrpcStackLayer::from_config(&src.config, &src.secrets, &sets)
    }

    /// The listener/HTTP/2 settings.
    pub fn server_config(&self) -> &ServerConfig {
        &self.config
    }

    /// The middleware stack (`None` without middleware); clone it into other builders to
    /// share its state (rate limits, hot-reload handles).
    pub fn stack_layer(&self) -> Option<GrpcStackLayer> {
        self.stack.clone()
    }

    /// Hot-reload handles of the stack (`None` without middleware).
    pub fn stack_handles(&self) -> Option<StackHandles> {
        self.stack.as_ref().map(GrpcStackLayer::handles)
    }

    /// The health reporter, to flip services to NOT_SERVING from outside.
    pub fn health_reporter(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Adds health and reflection to the added services' routes; returns the routes and
    /// every routed service name (for the stack's unknown-method answer).
    fn all_routes(&self) -> Result<(Routes, Vec<&'static str>), ServeError> {
        let mut routes = self.routes.clone();
        let health = HealthServer::new(HealthService::from_health_reporter(self.health.clone()));
        let mut names = self.service_names.clone();
        names.push(super::reflection::name_of(&health));
        routes.add_service(health);
        names.extend(super::reflection::add_routes(
            &mut routes,
            &self.descriptor_sets,
        )?);
        Ok((routes.routes(), names))
    }

    /// Serves on `listener` until `shutdown` fires, then drains.
    ///
    /// Connections are served by the server's own accept loop: TCP_NODELAY and
    /// `server.keep_alive`, then TLS when `server.enable_tls` is on (`server.tls`: rustls,
    /// TLS 1.3 unless `min_version: "1.2"`, ALPN `h2` and `http/1.1`, client certificates
    /// checked against `client_ca_file`), then HTTP/2 or HTTP/1.1 (hyper-util's automatic
    /// builder, upgrades allowed) with `server.max_concurrent_streams` and the limits of
    /// `server.http2` (header list size, windows, frame size, reset-stream floods). A
    /// connection guard around each connection's IO closes it unless the TLS handshake and
    /// the HTTP/2 preface are done within `server.handshake_timeout`, and ends it with
    /// GOAWAY `ENHANCE_YOUR_CALM` when the client pings faster than
    /// `server.keep_alive.min_time` or floods control frames. At most
    /// `server.max_connections` connections are open (one more is closed when accepted);
    /// a connection older than `server.max_connection_age` gets GOAWAY and is closed
    /// `server.max_connection_age_grace` later. Every request
    /// carries tonic's `TcpConnectInfo` (and on TLS `TlsConnectInfo`, and the verified
    /// client's [`CertIdentity`](crate::middleware::auth::CertIdentity)), so
    /// `remote_addr()` and `peer_certs()` work as with tonic's server; a call still running
    /// when the caller's `grpc-timeout` passes is answered `CANCELLED`.
    ///
    /// # Shutdown
    /// The one shutdown sequence of a grpckit server, for every service it serves:
    ///
    /// 1. `shutdown` fires (the first SIGINT/SIGTERM when [`App::run`](super::App::run)
    ///    runs the server): health reports `NOT_SERVING` for `""` and every service; open
    ///    health `Watch` streams receive it.
    /// 2. `server.drain_delay` (default `0s`) passes, so load balancers stop sending.
    /// 3. The listener closes and every connection gets GOAWAY; every response stream still
    ///    open (server and bidi streams, health `Watch` included) ends at once with
    ///    `UNAVAILABLE` ("server shutting down; reconnect to continue": retryable). Handlers
    ///    need not watch for shutdown themselves.
    /// 4. In-flight unary and client-streaming calls get up to `server.shutdown_grace`
    ///    (default `10s`) to finish; any still running then are dropped (logged).
    /// 5. `serve` returns `Ok(())` (the process exits 0). A second signal during the drain
    ///    exits at once ([`Running::exit_on_signals`](super::Running::exit_on_signals)).
    ///
    /// Refuses a config asking for a feature that does not exist yet
    /// ([`ServerConfig::check_available`]) and logs a warning for each key that is set but
    /// not enforced yet ([`ServerConfig::unenforced_keys`]) and for each check the
    /// middleware config leaves out (see [`ServerBuilder::middleware`]).
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> Result<(), ServeError>
    where
        L: Layer<Routes> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        self.config
            .check_available()
            .map_err(ServeError::NotAvailable)?;
        if let Some(e) = &self.stack_error {
            return Err(ServeError::Middleware(e.clone()));
        }
        for (key, value) in self.config.unenforced_keys() {
            tracing::warn!(
                key,
                value,
                "{key} is not enforced yet: the setting is ignored"
            );
        }
        for warning in &self.warnings {
            tracing::warn!("{warning}");
        }
        if self.config.max_recv_size > TONIC_DEFAULT_MAX_RECV {
            tracing::warn!(
                max_recv_size = self.config.max_recv_size,
                "server.max_recv_size is above 4 MiB, the limit tonic-generated servers keep \
                 unless `.max_decoding_message_size(..)` is set on each of them"
            );
        }
        // Certificate files are read before health reports SERVING.
        let tls = if self.config.enable_tls {
            Some(Arc::new(ServerTls::from_config(&self.config.tls)?))
        } else {
            None
        };
        let reporter = self.health.clone();
        // Fired after health reported NOT_SERVING and `drain_delay` passed: the listener
        // closes, GOAWAY goes out and open response streams end (UNAVAILABLE).
        let drained = Shutdown::new();
        for name in &self.service_names {
            reporter
                .set_service_status(*name, tonic_health::ServingStatus::Serving)
                .await;
        }
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;

        let (routes, routed) = self.all_routes()?;
        if let Some(tls) = &tls {
            // New handshakes use the certificate files as they change on disk (or on SIGHUP).
            tokio::spawn(watch_files(tls.clone(), drained.token().clone()));
        }

        let cfg = &self.config;
        let budget = (cfg.max_connections > 0).then(|| {
            self.connections
                .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(cfg.max_connections)))
                .clone()
        });
        let conns = Connections::new(cfg, tls, budget);

        let names = self.service_names.clone();
        let grace = cfg.shutdown_grace;
        let delay = cfg.drain_delay;
        let drain_signal = {
            let shutdown = shutdown.clone();
            let reporter = reporter.clone();
            let drained = drained.clone();
            async move {
                shutdown.cancelled().await;
                for name in &names {
                    reporter
                        .set_service_status(*name, tonic_health::ServingStatus::NotServing)
                        .await;
                }
                reporter
                    .set_service_status("", tonic_health::ServingStatus::NotServing)
                    .await;
                tracing::info!(drain_delay = ?delay, "draining: health NOT_SERVING");
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                drained.trigger();
                tracing::info!(grace = ?grace, "GOAWAY sent, open streams ended (UNAVAILABLE); in-flight calls may finish within the grace period");
            }
        };
        let responses = ResponseLimitsLayer::new(cfg.max_send_size, drained.token().clone());
        let token = drained.token().clone();
        let bridges = Bridges::new(&cfg.http, &self.descriptor_sets, cfg.max_recv_size);
        bridges.openapi_options(match (&self.middleware, &self.stack) {
            (Some(src), _) => OpenApiOptions {
                auth: src.config.auth.enabled,
                public_methods: crate::policy::effective_config(&src.config, &self.descriptor_sets)
                    .auth
                    .public_methods,
                ..OpenApiOptions::default()
            },
            // A prebuilt stack: its auth settings are not known here; assume credentials.
            (None, Some(_)) => OpenApiOptions::default(),
            (None, None) => OpenApiOptions {
                auth: false,
                ..OpenApiOptions::default()
            },
        });
        let conns = conns.with_bridges(bridges);
        // One arm per type of the layered router.
        macro_rules! run {
            ($layers:expr) => {{
                // The HTTP bridges sit in front of everything (in the connection's service):
                // a bridged call becomes a gRPC call through the whole stack, outer layers
                // included.
                let svc = $layers.service(routes.prepare());
                let ((), closed) = tokio::join!(
                    drain_signal,
                    serve_connections(listener, conns, svc, token, grace)
                );
                if !closed {
                    tracing::warn!(grace = ?grace, "grace period over; dropping the calls still running");
                }
            }};
        }
        // Outermost the outer layers, then trace (always on, zero cost when off); then either
        // the fused interceptor chain (`self.stack`), which records the go-grpc-prometheus
        // metrics and checks the request size itself (oversized -> RESOURCE_EXHAUSTED; tonic
        // alone says OUT_OF_RANGE), or, without it, the metrics and size layers. Then the
        // response limits, the user layers (innermost, just around the routes; `Identity`
        // hands the routes through unchanged) and the routes.
        // With the stack, its own body wrapper holds responses to the limits (one wrapper
        // per call); without it, `responses` does.
        let stack = self.stack.clone().map(|s| {
            s.limit_messages(cfg.max_recv_size)
                .routed_services(&routed)
                .limit_responses(ResponseLimits {
                    max_send: cfg.max_send_size,
                    drained: drained.token().clone(),
                })
        });
        let base = ServiceBuilder::new();
        match (stack, self.outer.clone()) {
            (Some(stack), None) => run!(
                base.layer(TraceLayer::server())
                    .layer(stack)
                    .layer(self.layer)
            ),
            (None, None) => run!(
                base.layer(TraceLayer::server())
                    .layer(MetricsLayer::server())
                    .layer(MessageSizeLayer::new(cfg.max_recv_size))
                    .layer(responses)
                    .layer(self.layer)
            ),
            (Some(stack), Some(outer)) => run!(
                base.layer(outer)
                    .layer(TraceLayer::server())
                    .layer(stack)
                    .layer(self.layer)
            ),
            (None, Some(outer)) => run!(
                base.layer(outer)
                    .layer(TraceLayer::server())
                    .layer(MetricsLayer::server())
                    .layer(MessageSizeLayer::new(cfg.max_recv_size))
                    .layer(responses)
                    .layer(self.layer)
            ),
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// tonic-generated servers decode messages up to this size unless told otherwise.
const TONIC_DEFAULT_MAX_RECV: usize = 4 * 1024 * 1024;

/// Warnings for JWT verification that checks no issuer or no audience.
fn unchecked_claims(cfg: &MiddlewareConfig, secrets: &AuthSecrets) -> Vec<String> {
    let auth = &cfg.auth;
    let jwt = &auth.jwt;
    let verifies = auth.enabled
        && ((jwt.accept_login_tokens && !secrets.login_secret.is_empty())
            || !jwt.keys.is_empty()
            || jwt.jwks_file.is_some());
    if !verifies {
        return Vec::new();
    }
    let mut out = Vec::new();
    if jwt.issuer.as_deref().unwrap_or(&secrets.issuer).is_empty() {
        out.push(
            "middleware.auth.jwt.issuer is not set: tokens are accepted whatever their iss claim"
                .to_owned(),
        );
    }
    if jwt
        .audience
        .as_deref()
        .unwrap_or(&secrets.audience)
        .is_empty()
    {
        out.push(
            "middleware.auth.jwt.audience is not set: tokens are accepted whatever their aud claim"
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JwtAlgorithm, JwtKeyConfig};

    fn with_key() -> MiddlewareConfig {
        let mut cfg = MiddlewareConfig::default();
        cfg.auth.jwt.keys.push(JwtKeyConfig {
            kid: "k".into(),
            algorithm: JwtAlgorithm::HS256,
            secret: Some("s".into()),
            file: None,
        });
        cfg
    }

    #[test]
    fn jwt_without_issuer_or_audience_is_warned_about() {
        let warnings = unchecked_claims(&with_key(), &AuthSecrets::default());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("middleware.auth.jwt.issuer"));
        assert!(warnings[1].contains("middleware.auth.jwt.audience"));

        let mut named = with_key();
        named.auth.jwt.issuer = Some("me".into());
        named.auth.jwt.audience = Some("you".into());
        assert!(unchecked_claims(&named, &AuthSecrets::default()).is_empty());
        let secrets = AuthSecrets {
            login_secret: b"x".to_vec(),
            issuer: "me".into(),
            audience: "you".into(),
        };
        assert!(unchecked_claims(&with_key(), &secrets).is_empty());
        // No JWT verification at all: nothing to warn about.
        assert!(unchecked_claims(&MiddlewareConfig::default(), &AuthSecrets::default()).is_empty());
    }
}
