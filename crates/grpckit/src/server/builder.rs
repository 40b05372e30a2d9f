//! The server builder. The order of the tower stack is written once, on [`ServerBuilder`]
//! (its `# Order` section).

use std::{convert::Infallible, net::SocketAddr};

use http::{Request, Response};
use tokio::net::TcpListener;
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
    transport::Server,
};
use tonic_health::{
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};
use tower::{
    Layer, Service,
    layer::util::{Identity, Stack},
};

use super::{
    Shutdown,
    health::DrainingHealth,
    incoming::{tcp_incoming, tcp_keepalive},
};
use crate::{
    config::{KeepAliveProbe, MiddlewareConfig, ServerConfig},
    middleware::{
        GrpcStackLayer, StackHandles,
        auth::{AuthSecrets, KeyError},
        metrics::MetricsLayer,
        msg_size::MessageSizeLayer,
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
    /// The configuration asks for a feature that does not exist yet, e.g.
    /// `server.enable_tls: true` (the message names the key).
    #[error("{0}")]
    NotAvailable(String),
}

/// Builds and runs a gRPC server with health, reflection and graceful shutdown.
///
/// Reflection describes every registered descriptor set and, for every server, the
/// `google.rpc` error details ([`super::google_rpc_descriptors`]).
///
/// # Order
/// The canonical order of the server's tower stack, outermost first:
///
/// `trace -> metrics + message size -> recover -> request id + access log -> auth ->
/// rate limit / load shed -> timeout -> validate -> audit -> user layers -> handler`
///
/// - `trace` is always on ([`TraceLayer`]).
/// - `metrics + message size` through `audit` are the fused stack,
///   [`GrpcStackLayer`](crate::middleware::GrpcStackLayer), one service that runs these parts
///   in this order (set by [`ServerBuilder::middleware`] or [`ServerBuilder::stack`]). Without
///   it (`middleware.enabled: false`) only the metrics and the size check run, as
///   [`MetricsLayer`] and [`MessageSizeLayer`].
/// - `user layers` are the layers added with [`ServerBuilder::layer`], in the order added
///   (the first added runs first). They see the request extensions the fused stack sets:
///   [`Principal`](crate::middleware::auth::Principal),
///   [`Deadline`](crate::middleware::timeout::Deadline) and
///   [`RequestId`](crate::middleware::log::RequestId).
/// - The handler is the router of the added services, health and reflection.
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
#[derive(Debug)]
#[must_use]
pub struct ServerBuilder<L = Identity> {
    config: ServerConfig,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    stack: Option<GrpcStackLayer>,
    health: HealthReporter,
    layer: L,
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
            health,
            layer: Identity::new(),
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
            health: self.health,
            layer: Stack::new(layer, self.layer),
        }
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

    /// Registers an encoded `FileDescriptorSet` for server reflection.
    pub fn file_descriptor_set(mut self, bytes: &'static [u8]) -> Self {
        // Registered now, not when serving starts: metrics of calls made as soon as the
        // listener accepts (client side included) must find their method.
        crate::telemetry::metrics::register_descriptor_set(bytes);
        self.descriptor_sets.push(bytes);
        self
    }

    /// Sets the middleware stack. Without it (the default) the server runs with NO layers.
    pub fn stack(mut self, stack: GrpcStackLayer) -> Self {
        self.stack = Some(stack);
        self
    }

    /// Builds the middleware stack from config for every service and descriptor set added
    /// so far (call it after `add_service`/`file_descriptor_set`). `middleware.enabled:
    /// false` serves with no layers at all.
    pub fn middleware(
        mut self,
        cfg: &MiddlewareConfig,
        secrets: &AuthSecrets,
    ) -> Result<Self, KeyError> {
        if !cfg.enabled {
            self.stack = None;
            return Ok(self);
        }
        let mut sets = self.descriptor_sets.clone();
        sets.push(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET);
        sets.push(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET);
        self.stack = Some(GrpcStackLayer::from_config(cfg, secrets, &sets)?);
        Ok(self)
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
    /// Health watches end (`UNAVAILABLE`) once `drained` fires.
    fn all_routes(&self, drained: &Shutdown) -> Result<(Routes, Vec<&'static str>), ServeError> {
        let mut routes = self.routes.clone();
        let health = HealthServer::new(DrainingHealth::new(
            HealthService::from_health_reporter(self.health.clone()),
            drained.clone(),
        ));
        let mut names = self.service_names.clone();
        names.push(super::reflection::name_of(&health));
        routes.add_service(health);
        names.extend(super::reflection::add_routes(
            &mut routes,
            &self.descriptor_sets,
        )?);
        Ok((routes.routes(), names))
    }

    /// Serves on `listener` until `shutdown` fires, then drains for `shutdown_grace`.
    ///
    /// Refuses a config asking for a feature that does not exist yet
    /// ([`ServerConfig::check_available`]) and logs a warning for each key that is set but
    /// not enforced yet ([`ServerConfig::unenforced_keys`]).
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> Result<(), ServeError>
    where
        L: Layer<Routes> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        self.config
            .check_available()
            .map_err(ServeError::NotAvailable)?;
        for (key, value) in self.config.unenforced_keys() {
            tracing::warn!(
                key,
                value,
                "{key} is not enforced yet: the setting is ignored"
            );
        }
        let reporter = self.health.clone();
        // Fired once every status reads NOT_SERVING: health watches then end (UNAVAILABLE).
        let drained = Shutdown::new();
        for name in &self.service_names {
            reporter
                .set_service_status(*name, tonic_health::ServingStatus::Serving)
                .await;
        }
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;

        let (routes, routed) = self.all_routes(&drained)?;

        let cfg = &self.config;
        let base = Server::builder()
            .max_concurrent_streams(Some(cfg.max_concurrent_streams))
            // HTTP/2 PINGs only when asked for: hyper pays for them on every frame read
            // (`server.keep_alive.probe`); the default probes with TCP keep-alive instead.
            .http2_keepalive_interval(
                (cfg.keep_alive.probe == KeepAliveProbe::Http2).then_some(cfg.keep_alive.time),
            )
            .http2_keepalive_timeout(Some(cfg.keep_alive.timeout))
            .http2_max_header_list_size(Some(16 * 1024))
            .tcp_nodelay(true)
            // Always on, outermost: tracing (zero cost when off). Then either the fused
            // interceptor chain (`self.stack`), which records the go-grpc-prometheus metrics
            // and checks the message size itself (oversized -> RESOURCE_EXHAUSTED; tonic
            // alone says OUT_OF_RANGE), or, without it, the metrics and size layers (below).
            .layer(TraceLayer::server());

        let names = self.service_names.clone();
        let grace = cfg.shutdown_grace;
        let drain_signal = {
            let shutdown = shutdown.clone();
            let reporter = reporter.clone();
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
                drained.trigger();
                tracing::info!(grace = ?grace, "draining: health NOT_SERVING, no new connections");
            }
        };
        let incoming = tcp_incoming(listener, tcp_keepalive(&cfg.keep_alive));
        // Two arms because the layered and the bare router are different types.
        macro_rules! run {
            ($server:expr) => {{
                let serve = $server.add_routes(routes).serve_with_incoming_shutdown(incoming, drain_signal);
                tokio::pin!(serve);
                tokio::select! {
                    res = &mut serve => res?,
                    _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                        tracing::warn!(grace = ?grace, "grace period over; dropping the calls still running");
                    }
                }
            }};
        }
        // The user layers go last, i.e. innermost, just around the routes; `Identity` (no
        // user layer) hands the routes through unchanged.
        match self.stack.clone() {
            // The stack records the metrics and checks the size itself.
            Some(stack) => run!(
                base.layer(
                    stack
                        .limit_messages(cfg.max_recv_size)
                        .routed_services(&routed)
                )
                .layer(self.layer)
            ),
            None => run!(
                base.layer(MetricsLayer::server())
                    .layer(MessageSizeLayer::new(cfg.max_recv_size))
                    .layer(self.layer)
            ),
        }
        tracing::info!("server stopped");
        Ok(())
    }
}
