//! Channel construction from [`ClientConfig`].

use tonic::transport::{Channel, Endpoint};

use crate::config::ClientConfig;

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not a valid URI.
    #[error("invalid endpoint '{0}': expected http://HOST:PORT or HOST:PORT")]
    InvalidEndpoint(String),
    /// The client config is out of range.
    #[error("invalid client config: {0}")]
    Config(#[from] crate::config::InvalidValue),
    /// Connecting failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address.
        addr: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
}

pub(crate) fn endpoint(addr: &str, cfg: &ClientConfig) -> Result<Endpoint, ClientError> {
    let uri = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let ep = Endpoint::from_shared(uri).map_err(|_| ClientError::InvalidEndpoint(addr.into()))?;
    Ok(ep
        .connect_timeout(cfg.connection_timeout)
        .http2_keep_alive_interval(cfg.keep_alive.time)
        .keep_alive_timeout(cfg.keep_alive.timeout)
        .keep_alive_while_idle(true)
        .tcp_nodelay(true))
}

/// Connects now; fails if the endpoint is unreachable.
pub async fn connect(addr: &str, cfg: &ClientConfig) -> Result<Channel, ClientError> {
    endpoint(addr, cfg)?
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            addr: addr.into(),
            source,
        })
}

/// A channel that connects on first use (and reconnects after failures).
pub fn connect_lazy(addr: &str, cfg: &ClientConfig) -> Result<Channel, ClientError> {
    Ok(endpoint(addr, cfg)?.connect_lazy())
}
