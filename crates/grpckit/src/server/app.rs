//! [`App`]: the quick start. One config, the services, one call.

use std::convert::Infallible;

use http::{Request, Response};
use tonic::{body::Body, server::NamedService, service::Routes};
use tower::{Layer, Service, layer::util::Identity, layer::util::Stack};

use super::{
    OuterService, ServerBuilder, Shutdown,
    run::{RunError, Running, run_blocking, start},
};
use crate::{config::Config, middleware::auth::AuthSecrets};

/// A gRPC server process: the services you add, served with the full default stack
/// configured by `config` (`server`, `middleware`, `log`, `telemetry` sections).
///
/// [`App::run`] does everything a process needs, in order: builds the runtime
/// `server.runtime` asks for, installs logging, metrics and (when `telemetry.tracing` is on)
/// the OTLP exporter, builds the middleware stack, binds the gRPC port and the admin port
/// (`server.metrics_listen`: `/metrics`, `/healthz`), serves until SIGINT/SIGTERM, runs the
/// shutdown sequence (`# Shutdown` on [`ServerBuilder::serve`]), then flushes the queued
/// spans and log lines and returns. The order of the layers is `# Order` on
/// [`ServerBuilder`].
///
/// Builder calls may come in any order. JWT verification needs its keys in
/// `middleware.auth.jwt.keys` (or a JWKS file), or a login secret given with
/// [`App::auth_secrets`]; without an issuer or audience to check, a warning is logged at
/// start (see [`ServerBuilder::middleware`]).
///
/// # Examples
/// ```no_run
/// # fn main() -> Result<(), grpckit::server::RunError> {
/// # let my_service = tonic_health::pb::health_server::HealthServer::new(
/// #     tonic_health::server::HealthService::from_health_reporter(tonic_health::server::HealthReporter::new()));
/// # const MY_FILE_DESCRIPTOR_SET: &[u8] = &[];
/// let config = grpckit::config::Config::default();
/// grpckit::App::new(config)
///     .add_service(my_service)
///     .file_descriptor_set(MY_FILE_DESCRIPTOR_SET)
///     .run()
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct App<L = Identity> {
    config: Config,
    secrets: AuthSecrets,
    server: ServerBuilder<L>,
}

impl App {
    /// An app configured by `config`, serving nothing but health and reflection yet.
    pub fn new(config: Config) -> Self {
        Self {
            server: ServerBuilder::new(config.server.clone()),
            secrets: AuthSecrets::default(),
            config,
        }
    }
}

impl<L> App<L> {
    /// Adds a tonic service ([`ServerBuilder::add_service`]).
    pub fn add_service<S>(mut self, svc: S) -> Self
    where
        S: Service<Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.server = self.server.add_service(svc);
        self
    }

    /// Registers a descriptor set: reflection, method kinds and `buf.validate` rules
    /// ([`ServerBuilder::file_descriptor_set`]).
    pub fn file_descriptor_set(mut self, bytes: &'static [u8]) -> Self {
        self.server = self.server.file_descriptor_set(bytes);
        self
    }

    /// Adds a layer after the policy parts, just before the handler
    /// ([`ServerBuilder::layer`]).
    pub fn layer<N>(self, layer: N) -> App<Stack<N, L>> {
        App {
            config: self.config,
            secrets: self.secrets,
            server: self.server.layer(layer),
        }
    }

    /// Adds a layer outside trace, the first thing every call passes
    /// ([`ServerBuilder::layer_outer`]).
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
        self.server = self.server.layer_outer(layer);
        self
    }

    /// Secrets the config file does not hold: the HS256 secret of tokens without `kid` and
    /// the issuer and audience they must name.
    pub fn auth_secrets(mut self, secrets: AuthSecrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl<L> App<L>
where
    L: Layer<Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<Request<Body>>>::Future: Send + 'static,
{
    /// Runs the server process until SIGINT/SIGTERM and the end of the shutdown sequence
    /// (see [`App`]). Call it from `main`, outside any Tokio runtime.
    ///
    /// # Errors
    /// Start-up failed (runtime, telemetry, middleware keys, listeners) or serving failed.
    pub fn run(self) -> Result<(), RunError> {
        let config = self.config.clone();
        run_blocking(
            &config.server,
            &config.log,
            &config.telemetry,
            |signals| async move {
                let running = self.start().await?;
                running.exit_on_signals(signals);
                running.wait().await
            },
        )
    }

    /// Starts serving on the current runtime (no telemetry set-up, no signal handling; for
    /// tests and programs that run their own runtime) and returns once the server accepts
    /// calls. Stop it with [`Running::stop`].
    ///
    /// # Errors
    /// Middleware keys or listeners.
    pub async fn start(self) -> Result<Running, RunError> {
        let server = self
            .server
            .middleware(&self.config.middleware, &self.secrets)?;
        start(server, Shutdown::new()).await
    }
}
