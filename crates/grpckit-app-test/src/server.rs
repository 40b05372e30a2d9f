//! [`TestServer`]: the real server (same code path as `grpckit server`) on loopback.

use std::{net::SocketAddr, time::Duration};

use grpckit::config::RateRule;
use grpckit_cli::server::{RunningServer, start};
use grpckit_services::config::AppConfig;
use grpckit_services::proto::{
    order::v1::order_service_client::OrderServiceClient,
    user::v1::user_service_client::UserServiceClient,
};
use tonic::transport::Channel;

/// Per-client-address limits on the public methods roomy enough for suites that sign up and
/// log in many times from 127.0.0.1 (their `.proto` policy allows a burst of 5; a config
/// rule wins over it). Tests of the throttling itself clear `middleware.rate_limit.rules` to
/// get the `.proto` limits back.
pub fn roomy_rate_rules() -> Vec<RateRule> {
    grpckit_services::limits::PUBLIC_METHODS
        .iter()
        .map(|m| RateRule {
            methods: grpckit::config::MethodPattern::exact(m),
            per_second: ROOMY,
            burst: ROOMY,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent: 0,
        })
        .collect()
}

const ROOMY: u32 = 1_000_000;

/// [`roomy_rate_rules`] as a YAML config file, for server processes.
pub fn roomy_rate_rules_yaml() -> String {
    let mut y = String::from("middleware:\n  rate_limit:\n    rules:\n");
    for m in grpckit_services::limits::PUBLIC_METHODS {
        y.push_str(&format!(
            "      - {{ methods: \"{m}\", per_second: {ROOMY}, burst: {ROOMY} }}\n"
        ));
    }
    y
}

/// A config for tests: loopback ephemeral ports, a fresh SQLite file in `dir`, the audit
/// trail in `dir/audit.log`, a fast logistics simulator, a short grace period and
/// [`roomy_rate_rules`].
pub fn test_config(dir: &std::path::Path) -> AppConfig {
    let mut cfg = AppConfig::default();
    cfg.server.address = "127.0.0.1".into();
    cfg.server.port = 0;
    cfg.server.metrics_listen = "127.0.0.1:0".parse().expect("static addr");
    cfg.server.shutdown_grace = Duration::from_secs(2);
    cfg.database.url = format!("sqlite://{}", dir.join("grpckit.db").display());
    cfg.logistics.interval = Duration::from_millis(100);
    cfg.auth.jwt_secret = "test-secret-test-secret-test-secret".into();
    // The audit trail in the test's own file (the default sink is stderr).
    cfg.middleware.audit.sink = grpckit::config::AuditSinkKind::File;
    cfg.middleware.audit.file.path = dir.join("audit.log");
    cfg.middleware.rate_limit.rules = roomy_rate_rules();
    cfg
}

/// A running server plus its temp dir (removed on drop).
#[derive(Debug)]
pub struct TestServer {
    /// The running server.
    pub server: Option<RunningServer>,
    /// gRPC address.
    pub addr: SocketAddr,
    /// Admin address.
    pub admin_addr: SocketAddr,
    /// Holds the SQLite file.
    pub dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts with [`test_config`] adjusted by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut AppConfig)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut cfg = test_config(dir.path());
        tweak(&mut cfg);
        Self::start_config(cfg, dir).await
    }

    /// Starts with [`test_config`]: the full middleware chain, authentication included.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts with authentication off (every other layer on), for tests of service behaviour
    /// that call as an anonymous client; the `middleware_*` tests cover authentication.
    pub async fn start_open() -> anyhow::Result<Self> {
        Self::start_open_with(|_| {}).await
    }

    /// [`TestServer::start_open`] with [`test_config`] adjusted by `tweak`.
    pub async fn start_open_with(tweak: impl FnOnce(&mut AppConfig)) -> anyhow::Result<Self> {
        Self::start_with(|c| {
            c.middleware.auth.enabled = false;
            tweak(c);
        })
        .await
    }

    /// Starts with a full config; `dir` is kept alive with the server.
    pub async fn start_config(cfg: AppConfig, dir: tempfile::TempDir) -> anyhow::Result<Self> {
        let server = start(cfg).await?;
        Ok(Self {
            addr: server.addr,
            admin_addr: server.admin_addr,
            server: Some(server),
            dir: Some(dir),
        })
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected channel.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .expect("valid url")
            .connect()
            .await
            .expect("connect to test server")
    }

    /// A UserService client.
    pub async fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel().await)
    }

    /// An OrderService client.
    pub async fn orders(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::new(self.channel().await)
    }

    /// Graceful stop; returns the temp dir so a restart can reuse the database.
    pub async fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        if let Some(s) = self.server.take() {
            s.stop().await?;
        }
        self.dir
            .take()
            .ok_or_else(|| anyhow::anyhow!("already stopped"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.shutdown.trigger();
        }
    }
}
