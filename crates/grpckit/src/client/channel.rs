//! Channel construction from [`ClientConfig`]: plaintext, or TLS through the
//! [`TlsConnector`] when `client.tls` is set or the endpoint is `https://`.

use tonic::transport::{Channel, Endpoint};

use super::{TlsConnector, TlsError};
use crate::config::ClientConfig;

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not a valid URI.
    #[error("invalid endpoint '{0}': expected http://HOST:PORT, https://HOST:PORT or HOST:PORT")]
    InvalidEndpoint(String),
    /// The client config is out of range.
    #[error("invalid client config: {0}")]
    Config(#[from] crate::config::InvalidValue),
    /// The `client.tls` files could not be used.
    #[error("invalid client TLS setup: {0}")]
    Tls(#[from] TlsError),
    /// An `https://` endpoint without a `client.tls` section to verify it with.
    #[error(
        "endpoint '{0}' is https:// but client.tls is not set (give client.tls.ca_file, or \
         insecure_skip_verify: true for tests)"
    )]
    TlsRequired(String),
    /// Connecting failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address.
        addr: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
}

/// An endpoint and how to reach it.
pub(crate) struct Target {
    endpoint: Endpoint,
    tls: Option<TlsConnector>,
}

impl Target {
    /// Where `addr` is and how to reach it: TLS when `tls` is given (every endpoint of a
    /// client with `client.tls`) and for `https://` addresses, which need it.
    pub(crate) fn new(
        addr: &str,
        cfg: &ClientConfig,
        tls: Option<&TlsConnector>,
    ) -> Result<Self, ClientError> {
        let (https, authority) = match addr.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            Some(_) => return Err(ClientError::InvalidEndpoint(addr.into())),
            None => (false, addr),
        };
        let authority = authority.trim_end_matches('/');
        let tls = match (tls, https) {
            (Some(t), _) => Some(t.clone()),
            (None, true) => return Err(ClientError::TlsRequired(addr.into())),
            (None, false) => None,
        };
        let bad = |_| ClientError::InvalidEndpoint(addr.into());
        // The connector does TLS itself: tonic sees an `http://` endpoint (its own TLS would
        // otherwise insist on doing the handshake), and requests carry `:scheme https`.
        let mut ep = Endpoint::from_shared(format!("http://{authority}")).map_err(bad)?;
        if tls.is_some() {
            ep = ep.origin(
                format!("https://{authority}")
                    .parse()
                    .map_err(|_| ClientError::InvalidEndpoint(addr.into()))?,
            );
        }
        let endpoint = ep
            .connect_timeout(cfg.connection_timeout)
            .http2_keep_alive_interval(cfg.keep_alive.time)
            .keep_alive_timeout(cfg.keep_alive.timeout)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true);
        Ok(Self { endpoint, tls })
    }

    /// A channel that connects on first use.
    pub(crate) fn connect_lazy(self) -> Channel {
        match self.tls {
            Some(tls) => self.endpoint.connect_with_connector_lazy(tls),
            None => self.endpoint.connect_lazy(),
        }
    }

    async fn connect(self) -> Result<Channel, tonic::transport::Error> {
        match self.tls {
            Some(tls) => self.endpoint.connect_with_connector(tls).await,
            None => self.endpoint.connect().await,
        }
    }
}

/// The connector for `cfg.tls`, if set.
pub(crate) fn tls_connector(cfg: &ClientConfig) -> Result<Option<TlsConnector>, ClientError> {
    Ok(cfg.tls.as_ref().map(TlsConnector::new).transpose()?)
}

/// Connects now; fails if the endpoint is unreachable (or the TLS handshake fails).
pub async fn connect(addr: &str, cfg: &ClientConfig) -> Result<Channel, ClientError> {
    let tls = tls_connector(cfg)?;
    Target::new(addr, cfg, tls.as_ref())?
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            addr: addr.into(),
            source,
        })
}

/// A channel that connects on first use (and reconnects after failures).
pub fn connect_lazy(addr: &str, cfg: &ClientConfig) -> Result<Channel, ClientError> {
    let tls = tls_connector(cfg)?;
    Ok(Target::new(addr, cfg, tls.as_ref())?.connect_lazy())
}
