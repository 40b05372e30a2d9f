//! Running a server as a process: the runtime `server.runtime` asks for, telemetry, the
//! listeners (one, or one per core), the admin port, signals and the final flush.
//! [`App`](super::App) puts these together for the quick start; a program with setup of its
//! own (a database, background work) calls [`run_blocking`] and [`start`] itself.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use http::{Request, Response};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::{body::Body, service::Routes};
use tower::{Layer, Service};

use super::{
    ServeError, ServerBuilder, Shutdown, Signals, TlsError,
    runtime::{RuntimePlan, available_cpus, pin_current_thread, reuseport_listener},
    signal_exit_code,
    tls::ServerTls,
};
use crate::telemetry::debug::DebugAccess;
use crate::{
    config::{LogConfig, ServerConfig, TelemetryConfig},
    telemetry::admin::AdminRouter,
};

/// Why running a server failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The runtime could not be built.
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    /// Tracing could not be set up.
    #[error("telemetry")]
    Telemetry(#[from] crate::telemetry::otel::TracingError),
    /// The signal handlers could not be installed.
    #[error("cannot listen for signals")]
    Signals(#[source] std::io::Error),
    /// `server.address`/`server.port` do not form an address.
    #[error("invalid server address")]
    Address(#[source] crate::config::InvalidValue),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({what})")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// `grpc` or `admin`.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The middleware stack could not be built.
    #[error("middleware config")]
    Middleware(#[from] crate::middleware::auth::KeyError),
    /// Serving failed.
    #[error("serving failed")]
    Serve(#[from] ServeError),
    /// The admin port failed.
    #[error("admin port failed")]
    Admin(#[source] std::io::Error),
    /// The admin port's certificate or key (`server.admin_tls`) could not be loaded (the
    /// message names the key).
    #[error("admin port TLS: {0}")]
    AdminTls(#[source] TlsError),
    /// `server.debug.enabled` on a server whose auth is off: nobody could be checked.
    #[error(
        "server.debug.enabled: the debug endpoints need authentication, but auth is off (remove --no-auth or disable server.debug)"
    )]
    DebugWithoutAuth,
    /// A serving task or thread panicked.
    #[error("a serving task panicked")]
    Panicked,
    /// The program's own start-up or shutdown work failed.
    #[error(transparent)]
    App(Box<dyn std::error::Error + Send + Sync>),
}

/// Runs `main` as a server process: builds the runtime `server.runtime` asks for (the
/// shared runtime with `thread_per_core`; [`start`] adds the serving threads), installs
/// logging, metrics and (when `telemetry.tracing` is on) the OTLP exporter inside it,
/// registers SIGINT/SIGTERM/SIGHUP and hands them to `main`; once `main` returns, flushes
/// the queued spans and log lines.
///
/// # Errors
/// Runtime, telemetry or signal set-up, or `main`'s error ([`RunError::App`] unless it is
/// a [`RunError`] already).
pub fn run_blocking<F, Fut, E>(
    server: &ServerConfig,
    log: &LogConfig,
    telemetry: &TelemetryConfig,
    main: F,
) -> Result<(), RunError>
where
    F: FnOnce(Signals) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let plan = RuntimePlan::resolve(server);
    let rt = plan.build_main().map_err(RunError::Runtime)?;
    let res = rt.block_on(async move {
        // Inside the runtime: the OTLP exporter (when tracing is on) runs on it.
        let tracing = crate::telemetry::init(log, telemetry)?;
        tracing::info!(
            runtime = plan.name(),
            configured = server.runtime.as_str(),
            available_cpus = available_cpus(),
            plan = ?plan,
            "runtime chosen"
        );
        // Registered before serving: from here on no signal kills the process unhandled.
        let res = match Signals::install() {
            Ok(signals) => main(signals).await.map_err(|e| {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                match e.downcast::<RunError>() {
                    Ok(run) => *run,
                    Err(other) => RunError::App(other),
                }
            }),
            Err(e) => Err(RunError::Signals(e)),
        };
        if let Some(t) = tracing {
            // Flush queued spans; the exporter runs on this runtime, so block off the workers.
            let _ = tokio::task::spawn_blocking(move || t.shutdown()).await;
        }
        res
    });
    crate::telemetry::flush_logs();
    res
}

/// How the gRPC listener(s) are served.
#[derive(Debug)]
enum Serving {
    /// A task on the current runtime.
    Task(JoinHandle<Result<(), ServeError>>),
    /// One thread per core, each with its own current-thread runtime and listener.
    Threads(Vec<std::thread::JoinHandle<Result<(), RunError>>>),
}

/// A server started by [`start`]: its addresses and the handle that stops it.
#[derive(Debug)]
pub struct Running {
    /// The bound gRPC address.
    pub addr: SocketAddr,
    /// The bound admin address (`/metrics`, `/healthz`, `/livez`, `/readyz`); it serves
    /// until serving has stopped, through the drain.
    pub admin_addr: SocketAddr,
    /// Starts the shutdown sequence (see `# Shutdown` on [`ServerBuilder::serve`]).
    pub shutdown: Shutdown,
    serving: Serving,
    admin: JoinHandle<std::io::Result<()>>,
    /// Stops the admin port (after serving ended, see [`Running::wait`]).
    admin_stop: Shutdown,
}

impl Running {
    /// The first SIGINT/SIGTERM starts the shutdown sequence; a second one exits the
    /// process at once with `128 + signal number`, without waiting for the drain. SIGHUP is
    /// logged here (the reload watches act on it).
    pub fn exit_on_signals(&self, signals: Signals) {
        tokio::spawn(handle_signals(signals, self.shutdown.clone()));
    }

    /// Waits until the server has stopped (after [`Shutdown::trigger`] or a signal), then
    /// stops the admin port.
    ///
    /// # Errors
    /// Serving failed, or a serving task panicked.
    pub async fn wait(self) -> Result<(), RunError> {
        let served = match self.serving {
            Serving::Task(task) => task
                .await
                .map_err(|_| RunError::Panicked)
                .and_then(|r| r.map_err(RunError::from)),
            Serving::Threads(threads) => {
                let joined = tokio::task::spawn_blocking(move || {
                    threads.into_iter().map(|t| t.join()).collect::<Vec<_>>()
                })
                .await
                .map_err(|_| RunError::Panicked)?;
                joined
                    .into_iter()
                    .try_for_each(|r| r.map_err(|_| RunError::Panicked)?)
            }
        };
        self.shutdown.trigger();
        self.admin_stop.trigger();
        let admin = self.admin.await.map_err(|_| RunError::Panicked)?;
        served?;
        admin.map_err(RunError::Admin)
    }

    /// Starts the shutdown sequence and waits for it.
    ///
    /// # Errors
    /// As [`Running::wait`].
    pub async fn stop(self) -> Result<(), RunError> {
        self.shutdown.trigger();
        self.wait().await
    }
}

async fn handle_signals(mut signals: Signals, shutdown: Shutdown) {
    let first = signals.terminate().await;
    tracing::info!(
        signal = first,
        "{first} received, shutting down (send it again to exit at once)"
    );
    shutdown.trigger();
    let second = signals.terminate().await;
    tracing::warn!(
        signal = second,
        "{second} received again: exiting now without waiting for in-flight calls"
    );
    crate::telemetry::flush_logs();
    std::process::exit(i32::from(signal_exit_code(second)));
}

/// Binds `server.address:port` and `server.metrics_listen` and serves `builder` there on the
/// current runtime until `shutdown` fires; with `server.runtime: thread_per_core`, on
/// `cores` threads of their own instead, each with its own `SO_REUSEPORT` listener and a
/// clone of the builder (the middleware stack's state, e.g. rate limits, is shared). Returns
/// once the server accepts calls.
///
/// With `server.admin_tls`, the admin port serves HTTPS (its certificate files are read
/// here, then reloaded like the gRPC port's).
///
/// # Errors
/// An address that does not parse or cannot be bound, or admin certificate files that
/// cannot be loaded.
pub async fn start<L>(builder: ServerBuilder<L>, shutdown: Shutdown) -> Result<Running, RunError>
where
    L: Layer<Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<Request<Body>>>::Future: Send + 'static,
{
    let cfg = builder.server_config().clone();
    let builder_health = builder.health_reporter();
    let debug = match (
        cfg.debug.enabled,
        builder.stack_handles().and_then(|h| h.auth),
    ) {
        (false, _) => None,
        (true, Some(auth)) => Some(DebugAccess::new(&cfg.debug, auth)),
        (true, None) => return Err(RunError::DebugWithoutAuth),
    };
    // Not ready (`/readyz`) until serving starts and reports SERVING.
    builder_health
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    let listen = cfg.listen_addr().map_err(RunError::Address)?;
    let bind_err = |addr, what| move |source| RunError::Bind { addr, what, source };
    // Certificate files are read before anything listens.
    let admin_tls = if cfg.admin_tls.is_set() {
        let tls = ServerTls::admin(&cfg.admin_tls, cfg.tls.min_version);
        Some(Arc::new(tls.map_err(RunError::AdminTls)?))
    } else {
        None
    };
    let admin_listener = TcpListener::bind(cfg.metrics_listen)
        .await
        .map_err(bind_err(cfg.metrics_listen, "admin"))?;
    let admin_addr = admin_listener.local_addr().map_err(RunError::Admin)?;
    let (addr, serving) = match RuntimePlan::resolve(&cfg) {
        RuntimePlan::ThreadPerCore { cores, pin } => {
            let first = reuseport_listener(listen).map_err(bind_err(listen, "grpc"))?;
            let addr = first.local_addr().map_err(bind_err(listen, "grpc"))?;
            let mut listeners = vec![first];
            for _ in 1..cores.max(1) {
                listeners.push(reuseport_listener(addr).map_err(bind_err(addr, "grpc"))?);
            }
            let mut threads = Vec::new();
            for (i, listener) in listeners.into_iter().enumerate() {
                let builder = builder.clone();
                let shutdown = shutdown.clone();
                let thread = std::thread::Builder::new()
                    .name(format!("grpckit-core-{i}"))
                    .spawn(move || serve_on_core(i, pin, listener, builder, shutdown))
                    .map_err(RunError::Runtime)?;
                threads.push(thread);
            }
            (addr, Serving::Threads(threads))
        }
        _ => {
            let listener = super::runtime::grpc_listener(listen)
                .and_then(TcpListener::from_std)
                .map_err(bind_err(listen, "grpc"))?;
            let addr = listener.local_addr().map_err(bind_err(listen, "grpc"))?;
            let task = tokio::spawn(builder.serve(listener, shutdown.clone()));
            (addr, Serving::Task(task))
        }
    };
    // The admin port outlives the drain, so `/readyz` answers 503 and `/metrics` can be
    // scraped until serving has stopped.
    let admin_stop = Shutdown::new();
    let mut router = AdminRouter::new().readiness(builder_health);
    if let Some(access) = debug {
        crate::telemetry::debug::register_runtime("main");
        router = router.merge(crate::telemetry::debug::routes(access));
    }
    let admin = match admin_tls {
        Some(tls) => tokio::spawn(super::admin_tls::serve(
            router.into_router(),
            admin_listener,
            tls,
            admin_stop.clone(),
        )),
        None => tokio::spawn(router.serve(admin_listener, admin_stop.clone())),
    };
    tokio::spawn(stop_admin_after_drain(
        shutdown.clone(),
        admin_stop.clone(),
        cfg.drain_delay + cfg.shutdown_grace,
    ));
    let admin_scheme = if cfg.admin_tls.is_set() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%addr, %admin_addr, admin_scheme, "grpckit serving");
    Ok(Running {
        addr,
        admin_addr,
        shutdown,
        serving,
        admin,
        admin_stop,
    })
}

/// Stops the admin port once shutdown started and `limit` (the drain delay and the grace
/// period) plus a few seconds passed, in case [`Running::wait`] is never called; it stops
/// it as soon as serving has ended otherwise.
async fn stop_admin_after_drain(shutdown: Shutdown, admin_stop: Shutdown, limit: Duration) {
    tokio::select! {
        () = admin_stop.cancelled() => {}
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(limit + Duration::from_secs(5)).await;
        } => admin_stop.trigger(),
    }
}

/// One `thread_per_core` serving thread.
fn serve_on_core<L>(
    i: usize,
    pin: bool,
    listener: std::net::TcpListener,
    builder: ServerBuilder<L>,
    shutdown: Shutdown,
) -> Result<(), RunError>
where
    L: Layer<Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<Request<Body>>>::Future: Send + 'static,
{
    if pin && !pin_current_thread(i) {
        tracing::warn!(core = i, "could not pin the serving thread");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    rt.block_on(async move {
        if builder.server_config().debug.enabled {
            crate::telemetry::debug::register_runtime(&format!("core-{i}"));
        }
        let listener = TcpListener::from_std(listener).map_err(RunError::Runtime)?;
        builder.serve(listener, shutdown).await?;
        Ok(())
    })
}
