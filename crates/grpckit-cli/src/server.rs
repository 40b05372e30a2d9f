//! `grpckit server`: config merge (defaults < file < env < flags), the app's services and
//! background work, served by the framework's process runner.

use std::{
    convert::Infallible,
    net::{SocketAddr, ToSocketAddrs},
    sync::Arc,
};

use anyhow::Context;
use grpckit::{
    config::reload::{ConfigState, Reloader},
    server::{Running, ServerBuilder, Shutdown},
};
use grpckit_services::{
    app::App,
    config::AppConfig,
    live::{LiveParts, SECRET_KEYS},
};
use tokio::task::JoinHandle;
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

/// Builds the effective config from the process's environment: defaults < file < nested
/// `GRPCKIT_SECTION__KEY` variables < flags and their flat variables ([`crate::layers`]).
pub fn effective_config(args: &ServerArgs) -> anyhow::Result<AppConfig> {
    Ok(crate::layers::load(args, std::env::vars_os())?.config)
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
    /// The config in force (served at the admin port's `GET /config`).
    pub config: Arc<ConfigState<AppConfig>>,
    running: Running,
    background: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Waits until the server has stopped (after `shutdown.trigger()` or a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.running.wait().await?;
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
///
/// The framework serves it ([`grpckit::server::start`]): one listener on this runtime, or
/// with `server.runtime: thread_per_core` one per core on threads of their own, sharing the
/// stack's state; the database pool, the bus, the admin port and background work stay on
/// this runtime.
pub async fn start_with<L>(
    cfg: AppConfig,
    customise: impl FnOnce(ServerBuilder) -> ServerBuilder<L>,
) -> anyhow::Result<RunningServer>
where
    L: Layer<Routes> + Clone + Send + Sync + 'static,
    L::Service: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
{
    let shutdown = Shutdown::new();
    grpckit::telemetry::metrics::set_enabled(cfg.telemetry.metrics.enabled);
    let app = App::build(cfg.clone(), shutdown.clone())
        .await
        .context("cannot start the services")?;
    let builder = customise(app.server_builder()?);
    let running = grpckit::server::start(builder, shutdown.clone()).await?;
    let background = app.spawn_background();
    tracing::info!(services = ?cfg.services.serve, database = %redact(&cfg.database.url), "services started");
    let config = ConfigState::new(cfg, SECRET_KEYS)
        .map_err(|e| anyhow::anyhow!(e))?
        .with_derived("effective_policy", |c: &AppConfig| {
            serde_json::to_value(c.effective_policy()).unwrap_or_default()
        });
    let config = Arc::new(config);
    config.publish();
    Ok(RunningServer {
        addr: running.addr,
        admin_addr: running.admin_addr,
        shutdown,
        app,
        config,
        running,
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

/// Reloads `path` on change and on SIGHUP until shutdown: the whole config is loaded as at
/// start (defaults < file < environment < flags, [`effective_config`]); the app's live
/// parts ([`LiveParts`]) are put in force, other changed keys are reported as needing a
/// restart.
fn spawn_reload(server: &RunningServer, args: ServerArgs, path: std::path::PathBuf) {
    let live = LiveParts::of(&server.app);
    let is_live = {
        let live = live.clone();
        move |key: &str| live.is_live(key)
    };
    let reloader = Reloader::new(
        server.config.clone(),
        move || effective_config(&args).map_err(Into::into),
        is_live,
        move |cfg: &AppConfig, keys: &[String]| live.apply(cfg, keys),
    );
    tracing::info!(file = %path.display(), "watching the configuration file (reloads on change and on SIGHUP)");
    tokio::spawn(reloader.watch(path, server.shutdown.clone()));
}

/// `grpckit server`: the framework runs the process ([`grpckit::server::run_blocking`]:
/// runtime from `server.runtime`, telemetry, signals, final flush); this starts the app's
/// services in it, reloads the config file on change and SIGHUP, and serves until
/// SIGINT/SIGTERM and the end of the drain.
pub fn run_blocking(args: ServerArgs) -> anyhow::Result<()> {
    let cfg = effective_config(&args)?;
    let (server, log, telemetry) = (cfg.server.clone(), cfg.log.clone(), cfg.telemetry.clone());
    grpckit::server::run_blocking(&server, &log, &telemetry, |signals| async move {
        if let Some(why) = auth_off(&cfg) {
            tracing::warn!(
                reason = why,
                "authentication is off: every method is open to anyone who can connect"
            );
        }
        let server = start(cfg).await?;
        if let Some(path) = args.config.clone() {
            spawn_reload(&server, args, path);
        }
        server.running.exit_on_signals(signals);
        server.wait().await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use grpckit_services::config::ServiceName;

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
    fn tls_flags_turn_tls_on() {
        let args = ServerArgs {
            tls_cert: Some("s.pem".into()),
            tls_key: Some("s.key".into()),
            tls_client_ca: Some("ca.pem".into()),
            ..ServerArgs::default()
        };
        let cfg = effective_config(&args).unwrap();
        assert!(cfg.server.enable_tls);
        assert_eq!(cfg.server.tls.cert_file.as_deref(), Some("s.pem".as_ref()));
        assert_eq!(cfg.server.tls.key_file.as_deref(), Some("s.key".as_ref()));
        assert_eq!(
            cfg.server.tls.client_auth(),
            grpckit::config::ClientAuth::Required
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
