//! `grpckit server`: config merge (defaults < file < env < flags), listeners, the services,
//! the admin port, background work and graceful shutdown.

use std::{
    convert::Infallible,
    net::{SocketAddr, ToSocketAddrs},
};

use anyhow::{Context, bail};
use grpckit::{
    config::{LogFormat, RuntimeFlavor, check_log_level},
    server::{
        ServerBuilder, Shutdown, Signals,
        runtime::{RuntimePlan, available_cpus, pin_current_thread, reuseport_listener},
        signal_exit_code,
    },
    telemetry::admin::AdminRouter,
};
use grpckit_services::{
    app::App,
    config::{AppConfig, ServiceName},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::{body::Body, service::Routes};
use tower::{Layer, Service};

use crate::args::ServerArgs;

/// Resolves `HOST:PORT` (names such as `localhost` allowed) to one socket address.
pub fn parse_addr(key: &str, s: &str) -> anyhow::Result<SocketAddr> {
    let s = s.strip_prefix("http://").unwrap_or(s);
    s.to_socket_addrs()
        .with_context(|| format!("{key}: '{s}' is not HOST:PORT"))?
        .next()
        .with_context(|| format!("{key}: '{s}' resolves to no address"))
}

/// Builds the effective config: defaults < file < environment/flags.
pub fn effective_config(args: &ServerArgs) -> anyhow::Result<AppConfig> {
    let mut cfg = match &args.config {
        Some(path) => AppConfig::load_file(path)?,
        None => AppConfig::default(),
    };
    if let Some(l) = &args.listen {
        let a = parse_addr("--listen", l)?;
        cfg.server.address = a.ip().to_string();
        cfg.server.port = a.port();
    }
    if let Some(m) = &args.metrics_listen {
        cfg.server.metrics_listen = parse_addr("--metrics-listen", m)?;
    }
    if let Some(u) = &args.database_url {
        cfg.database.url = u.clone();
    }
    if let Some(s) = &args.services {
        let mut v = Vec::new();
        for name in s.iter().filter(|n| !n.trim().is_empty()) {
            let svc: ServiceName = name
                .parse()
                .map_err(|e| anyhow::anyhow!("--services: {e}"))?;
            if !v.contains(&svc) {
                v.push(svc);
            }
        }
        cfg.services.serve = v;
    }
    if let Some(u) = &args.user_service {
        cfg.services.user_service = u.clone();
    }
    if let Some(s) = &args.jwt_secret {
        cfg.auth.jwt_secret = s.clone();
    }
    if let Some(e) = &args.admin_email {
        cfg.auth.admin_email = e.clone();
    }
    if let Some(p) = &args.admin_password {
        cfg.auth.admin_password = p.clone();
    }
    if let Some(l) = &args.log_level {
        check_log_level(l).map_err(|e| anyhow::anyhow!("--log-level: {e}"))?;
        cfg.log.level = l.clone();
    }
    if let Some(f) = &args.log_format {
        cfg.log.format = match f.as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => bail!("--log-format: expected json or pretty, got '{other}'"),
        };
    }
    if let Some(i) = args.logistics_interval {
        cfg.logistics.interval = i;
    }
    if let Some(g) = args.shutdown_grace {
        cfg.server.shutdown_grace = g;
    }
    if let Some(r) = &args.runtime {
        cfg.server.runtime = r
            .parse::<RuntimeFlavor>()
            .map_err(|e| anyhow::anyhow!("--runtime: {e}"))?;
    }
    if let Some(w) = args.workers {
        cfg.server.workers = w;
    }
    if let Some(c) = args.cores {
        cfg.server.cores = c;
    }
    if args.no_auth {
        cfg.middleware.auth.enabled = false;
    }
    if args.pin_cores {
        cfg.server.pin_cores = true;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// A server started in the background.
#[derive(Debug)]
pub struct RunningServer {
    /// Bound gRPC address.
    pub addr: SocketAddr,
    /// Bound admin address.
    pub admin_addr: SocketAddr,
    /// Triggers graceful shutdown.
    pub shutdown: Shutdown,
    /// The app (store, bus) for tests.
    pub app: App,
    grpc: JoinHandle<Result<(), grpckit::server::ServeError>>,
    admin: JoinHandle<std::io::Result<()>>,
    background: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Waits until the server has stopped (after `shutdown.trigger()` or a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.grpc.await.context("server task panicked")??;
        self.shutdown.trigger();
        self.admin.await.context("admin task panicked")??;
        if let Some(b) = self.background {
            let _ = b.await;
        }
        Ok(())
    }

    /// Triggers shutdown and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.wait().await
    }
}

/// Binds the listeners and starts everything; returns once the server accepts calls.
pub async fn start(cfg: AppConfig) -> anyhow::Result<RunningServer> {
    start_with(cfg, |b| b).await
}

/// [`start`] with the app's [`ServerBuilder`] adjusted by `customise` before serving, e.g.
/// to add a layer of one's own ([`ServerBuilder::layer`]).
pub async fn start_with<L>(
    cfg: AppConfig,
    customise: impl FnOnce(ServerBuilder) -> ServerBuilder<L>,
) -> anyhow::Result<RunningServer>
where
    L: Layer<Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
{
    let listen = cfg.server.listen_addr()?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let admin_listener = TcpListener::bind(cfg.server.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {} (metrics)", cfg.server.metrics_listen))?;
    let addr = listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    let shutdown = Shutdown::new();
    grpckit::telemetry::metrics::set_enabled(cfg.telemetry.metrics.enabled);
    let app = App::build(cfg.clone(), shutdown.clone())
        .await
        .context("cannot start the services")?;
    let builder = customise(app.server_builder()?);
    let background = app.spawn_background();
    let grpc = tokio::spawn(builder.serve(listener, shutdown.clone()));
    let admin = tokio::spawn(AdminRouter::new().serve(admin_listener, shutdown.clone()));
    tracing::info!(%addr, %admin_addr, services = ?cfg.services.serve, database = %redact(&cfg.database.url), "grpckit serving");
    Ok(RunningServer {
        addr,
        admin_addr,
        shutdown,
        app,
        grpc,
        admin,
        background,
    })
}

/// Why authentication is off, when it is: the interceptor chain is off as a whole
/// (`middleware.enabled: false`) or auth alone (`--no-auth`, `middleware.auth.enabled: false`).
fn auth_off(cfg: &AppConfig) -> Option<&'static str> {
    if !cfg.middleware.enabled {
        Some("middleware.enabled is false")
    } else if !cfg.middleware.auth.enabled {
        Some("--no-auth / middleware.auth.enabled is false")
    } else {
        None
    }
}

/// Hides a password in a database URL for logging.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// `grpckit server`: picks the runtime from `server.runtime`, serves until SIGINT/SIGTERM,
/// then drains and exits.
pub fn run_blocking(args: ServerArgs) -> anyhow::Result<()> {
    let cfg = effective_config(&args)?;
    let plan = RuntimePlan::resolve(&cfg.server);
    let rt = plan.build_main().context("cannot start the runtime")?;
    let res = rt.block_on(async move {
        // Inside the runtime: the OTLP exporter (when tracing is on) runs on it.
        let tracing = grpckit::telemetry::init(&cfg.log, &cfg.telemetry)?;
        if let Some(why) = auth_off(&cfg) {
            tracing::warn!(
                reason = why,
                "authentication is off: every method is open to anyone who can connect"
            );
        }
        tracing::info!(
            runtime = plan.name(),
            configured = cfg.server.runtime.as_str(),
            available_cpus = available_cpus(),
            plan = ?plan,
            "runtime chosen"
        );
        // Registered before serving: from here on no signal kills the process unhandled.
        let signals = Signals::install().context("cannot listen for signals")?;
        let res = match plan {
            RuntimePlan::ThreadPerCore { cores, pin } => {
                run_thread_per_core(cfg, cores, pin, signals).await
            }
            _ => {
                let server = start(cfg).await?;
                tokio::spawn(handle_signals(signals, server.shutdown.clone()));
                server.wait().await
            }
        };
        if let Some(t) = tracing {
            // Flush queued spans; the exporter runs on this runtime, so block off the workers.
            let _ = tokio::task::spawn_blocking(move || t.shutdown()).await;
        }
        res
    });
    grpckit::telemetry::flush_logs();
    res
}

/// The first SIGINT/SIGTERM starts the graceful drain; a second one exits at once with
/// `128 + signal number`, without waiting for the drain. SIGHUP is logged and ignored.
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
    grpckit::telemetry::flush_logs();
    std::process::exit(i32::from(signal_exit_code(second)));
}

/// Thread-per-core: the shared runtime (this one) owns the database pool, the bus, the admin
/// port and background work; `cores` threads each run a current-thread runtime with their own
/// `SO_REUSEPORT` listener and their own copy of the tower stack. The stack layer is built
/// once and cloned, so rate limits and other shared state are process-wide.
async fn run_thread_per_core(
    cfg: AppConfig,
    cores: usize,
    pin: bool,
    signals: Signals,
) -> anyhow::Result<()> {
    let listen = cfg.server.listen_addr()?;
    let first = reuseport_listener(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let addr = first.local_addr()?;
    let admin_listener = TcpListener::bind(cfg.server.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {} (metrics)", cfg.server.metrics_listen))?;
    let admin_addr = admin_listener.local_addr()?;
    let shutdown = Shutdown::new();
    let app = App::build(cfg.clone(), shutdown.clone())
        .await
        .context("cannot start the services")?;
    let mut listeners = vec![first];
    for _ in 1..cores.max(1) {
        listeners.push(
            reuseport_listener(addr).with_context(|| format!("cannot add a listener on {addr}"))?,
        );
    }
    let mut threads = Vec::new();
    for (i, std_listener) in listeners.into_iter().enumerate() {
        let builder = app.server_builder()?;
        let shutdown = shutdown.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("grpckit-core-{i}"))
                .spawn(move || -> anyhow::Result<()> {
                    if pin && !pin_current_thread(i) {
                        tracing::warn!(core = i, "could not pin the serving thread");
                    }
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async move {
                        let listener = TcpListener::from_std(std_listener)?;
                        builder
                            .serve(listener, shutdown)
                            .await
                            .map_err(anyhow::Error::from)
                    })
                })?,
        );
    }
    let background = app.spawn_background();
    let admin = tokio::spawn(AdminRouter::new().serve(admin_listener, shutdown.clone()));
    tracing::info!(%addr, %admin_addr, cores, services = ?cfg.services.serve, database = %redact(&cfg.database.url), "grpckit serving");
    tokio::spawn(handle_signals(signals, shutdown.clone()));
    shutdown.cancelled().await;
    let results = tokio::task::spawn_blocking(move || {
        threads.into_iter().map(|t| t.join()).collect::<Vec<_>>()
    })
    .await?;
    for r in results {
        r.map_err(|_| anyhow::anyhow!("a serving thread panicked"))??;
    }
    admin.await.context("admin task panicked")??;
    if let Some(b) = background {
        let _ = b.await;
    }
    tracing::info!("all serving threads stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_are_checked() {
        let args = ServerArgs {
            listen: Some("127.0.0.1:1234".into()),
            services: Some(vec!["user".into()]),
            jwt_secret: Some("split-secret".into()),
            ..ServerArgs::default()
        };
        let cfg = effective_config(&args).unwrap();
        assert_eq!(cfg.server.port, 1234);
        assert_eq!(cfg.services.serve, [ServiceName::User]);
        let bad = ServerArgs {
            services: Some(vec!["billing".into()]),
            ..ServerArgs::default()
        };
        assert!(
            effective_config(&bad)
                .unwrap_err()
                .to_string()
                .contains("billing")
        );
        let split = ServerArgs {
            services: Some(vec!["order".into()]),
            ..ServerArgs::default()
        };
        assert!(
            effective_config(&split)
                .unwrap_err()
                .to_string()
                .contains("user_service")
        );
    }

    #[test]
    fn a_file_with_the_earlier_key_spellings_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("old.yaml");
        std::fs::write(
            &file,
            "server:\n  services: [order]\n  user_service: http://127.0.0.1:9090\nauth:\n  jwt_secret: s\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(file),
            ..ServerArgs::default()
        };
        let cfg = effective_config(&args).unwrap();
        assert_eq!(cfg.services.serve, [ServiceName::Order]);
        assert_eq!(cfg.services.user_service, "http://127.0.0.1:9090");
        assert_eq!(cfg.moved_keys().len(), 2);
        // The flags still override the moved keys.
        let flags = ServerArgs {
            services: Some(vec!["user".into(), "order".into()]),
            ..args
        };
        assert_eq!(
            effective_config(&flags).unwrap().services.serve,
            [ServiceName::User, ServiceName::Order]
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
