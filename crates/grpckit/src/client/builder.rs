//! [`ClientBuilder`]: `client:` config + endpoints -> [`BalancedChannel`].

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{
    BalancedChannel, BoxError, ClientError, ClientService, ResponseBody,
    breaker::BreakerSettings,
    channel::{Target, tls_connector},
    discovery::{self, Discovery},
    health,
    pool::Pool,
    retry::Budget,
    service::{CallPolicy, Shared},
};
use crate::config::{ClientConfig, EndpointSpec, LoadBalancingPolicy};

/// Builds a [`BalancedChannel`] from the `client:` config.
///
/// Defaults come from [`ClientConfig`]: `round_robin`, 3 attempts, back-off 100ms..5s,
/// retry only `UNAVAILABLE`, no method idempotent, budget 10 tokens / 0.1, ejection after 5
/// consecutive failures for 1s (doubling up to 30s), client breaker at 50% failures of at
/// least 20 calls in 10s, DNS refresh 30s, 1 connection per endpoint, plaintext.
///
/// With `client.tls` set, every endpoint is reached over TLS (mutual TLS when it has
/// `cert_file` and `key_file`); an `https://` endpoint needs `client.tls`.
///
/// ```no_run
/// # fn demo() -> Result<(), grpckit::client::ClientError> {
/// use grpckit::{client::ClientBuilder, config::{ClientConfig, LoadBalancingPolicy}};
///
/// let channel = ClientBuilder::new(ClientConfig::default())
///     .policy(LoadBalancingPolicy::P2cEwma)
///     .endpoint("dns://users-headless.default.svc.cluster.local:9090")
///     .idempotent("/user.v1.UserService/GetUser")
///     .build()?; // needs a Tokio runtime
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    cfg: ClientConfig,
    layers: Option<ClientLayers>,
}

/// The client layers added so far, composed into one function (first added outermost).
type ClientLayers = Arc<dyn Fn(ClientService) -> ClientService + Send + Sync>;

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("cfg", &self.cfg)
            .field("layers", &self.layers.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// Starts from `cfg` (its `endpoints` included).
    pub fn new(cfg: ClientConfig) -> Self {
        Self { cfg, layers: None }
    }

    /// Adds a tower layer every call of the channel passes, before the balancer picks an
    /// endpoint (so once per call, not per retry attempt): token attachment, custom headers,
    /// client-side metrics of one's own. Layers added first run first. Its service wraps a
    /// [`ClientService`]; with layers, each call pays one more boxed future.
    ///
    /// # Examples
    /// ```no_run
    /// # fn demo() -> Result<(), grpckit::client::ClientError> {
    /// use grpckit::{client::{ClientBuilder, ClientService}, config::ClientConfig};
    /// use tower::{ServiceExt, layer::layer_fn};
    ///
    /// let token = http::HeaderValue::from_static("Bearer eyJ...");
    /// let channel = ClientBuilder::new(ClientConfig::default())
    ///     .endpoints(["10.0.0.7:9090", "10.0.0.8:9090"])
    ///     .layer(layer_fn(move |inner: ClientService| {
    ///         let token = token.clone();
    ///         inner.map_request(move |mut req: http::Request<tonic::body::Body>| {
    ///             req.headers_mut().insert("authorization", token.clone());
    ///             req
    ///         })
    ///     }))
    ///     .build()?; // needs a Tokio runtime
    /// # let _ = channel; Ok(()) }
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<ClientService> + Send + Sync + 'static,
        L::Service: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<ResponseBody>,
                Error = BoxError,
            > + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Future: Send + 'static,
    {
        let wrap = move |inner: ClientService| ClientService::new(layer.layer(inner));
        self.layers = Some(match self.layers.take() {
            None => Arc::new(wrap),
            Some(first) => Arc::new(move |inner| first(wrap(inner))),
        });
        self
    }

    /// Adds an endpoint: `HOST:PORT`, `http://HOST:PORT` or `dns://NAME:PORT`.
    pub fn endpoint(mut self, addr: impl Into<String>) -> Self {
        self.cfg.endpoints.push(EndpointSpec::Address(addr.into()));
        self
    }

    /// Adds several endpoints.
    pub fn endpoints<I, S>(mut self, addrs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cfg
            .endpoints
            .extend(addrs.into_iter().map(|a| EndpointSpec::Address(a.into())));
        self
    }

    /// Adds an endpoint with a weight for `weighted_round_robin`.
    pub fn weighted_endpoint(mut self, addr: impl Into<String>, weight: u32) -> Self {
        self.cfg.endpoints.push(EndpointSpec::Weighted {
            address: addr.into(),
            weight,
        });
        self
    }

    /// Adds endpoints from a comma-separated list (as `services.user_service` accepts).
    pub fn endpoint_list(self, list: &str) -> Self {
        self.endpoints(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Sets the balancing policy (and turns balancing on).
    pub fn policy(mut self, policy: LoadBalancingPolicy) -> Self {
        self.cfg.load_balancing_policy = policy;
        self.cfg.enable_load_balancing = true;
        self
    }

    /// Marks methods safe to retry: `/pkg.Service/Method`, a `*`-suffixed prefix, or `*`.
    pub fn idempotent(mut self, pattern: impl Into<String>) -> Self {
        self.cfg.retry.idempotent_methods.push(pattern.into());
        self
    }

    /// Sets `client.tls`: every endpoint is reached over TLS, with a client certificate when
    /// `cert_file` and `key_file` are given. The files are read by [`Self::build`].
    ///
    /// # Examples
    /// ```no_run
    /// # fn demo() -> Result<(), grpckit::client::ClientError> {
    /// use grpckit::{client::ClientBuilder, config::{ClientConfig, ClientTlsConfig}};
    ///
    /// let channel = ClientBuilder::new(ClientConfig::default())
    ///     .endpoint("users.internal:9090")
    ///     .tls(ClientTlsConfig {
    ///         ca_file: Some("certs/ca.pem".into()),
    ///         cert_file: Some("certs/client.pem".into()),
    ///         key_file: Some("certs/client.key".into()),
    ///         ..ClientTlsConfig::default()
    ///     })
    ///     .build()?; // needs a Tokio runtime
    /// # let _ = channel; Ok(()) }
    /// ```
    pub fn tls(mut self, tls: crate::config::ClientTlsConfig) -> Self {
        self.cfg.tls = Some(tls);
        self
    }

    /// The config as it stands.
    pub fn config_mut(&mut self) -> &mut ClientConfig {
        &mut self.cfg
    }

    /// Builds the channel and starts discovery (and health probing when configured).
    /// Connections are made lazily, on first use.
    ///
    /// # Errors
    /// An invalid config or endpoint address; a `client.tls` file that cannot be read or
    /// used (the error names the key and the file); an `https://` endpoint without
    /// `client.tls`.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn build(self) -> Result<BalancedChannel, ClientError> {
        let layers = self.layers;
        let cfg = self.cfg;
        cfg.validate().map_err(ClientError::Config)?;
        let tls = tls_connector(&cfg)?;
        for e in &cfg.endpoints {
            if tls.is_none() && e.address().trim().starts_with("https://") {
                return Err(ClientError::TlsRequired(e.address().trim().to_owned()));
            }
        }
        let conn_cfg = cfg.clone();
        let per = cfg.connections_per_endpoint.max(1);
        let connector = Box::new(move |addr: &str| {
            (0..per)
                .map(|_| match Target::new(addr, &conn_cfg, tls.as_ref()) {
                    Ok(t) => Some(t.connect_lazy()),
                    Err(e) => {
                        tracing::warn!(endpoint = %addr, error = %e, "client endpoint skipped");
                        None
                    }
                })
                .collect()
        });
        let od = &cfg.outlier_detection;
        let ejection = BreakerSettings {
            consecutive_failures: if od.enabled {
                od.consecutive_failures
            } else {
                0
            },
            failure_ratio: if od.enabled { od.failure_ratio } else { 0.0 },
            min_requests: od.min_requests,
            interval: od.interval,
            base_open: od.base_ejection_time,
            max_open: od.max_ejection_time,
        };
        let pool = Arc::new(Pool::new(connector, ejection));
        let (disc, resolved) = Discovery::new(pool.clone());
        let disc = Arc::new(disc);
        disc.set(cfg.endpoints.clone())?;

        let mut tasks = vec![
            tokio::spawn(discovery::run(disc.clone(), cfg.dns_refresh_interval)).abort_handle(),
        ];
        let hc = &cfg.health_check;
        if hc.enabled {
            let fut = health::run(pool.clone(), hc.service.clone(), hc.interval, hc.timeout);
            tasks.push(tokio::spawn(fut).abort_handle());
        }
        let channel = BalancedChannel::new(Shared {
            pool,
            policy: ArcSwap::from_pointee(CallPolicy::new(&cfg, None)),
            budget: Budget::new(&cfg.retry.budget),
            resolved,
            resolve_wait: cfg.connection_timeout,
            discovery: disc,
            tasks,
        });
        Ok(match layers {
            Some(wrap) => channel.with_layers(|bare| wrap(bare)),
            None => channel,
        })
    }
}
