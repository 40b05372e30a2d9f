//! [`TlsConnector`]: TCP connect, then the rustls handshake, as a `tower::Service<Uri>` that
//! tonic's `Endpoint::connect_with_connector` accepts.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use hyper_util::rt::TokioIo;
use rustls::{ClientConfig, crypto::ring};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::{TlsError, files, verify::NoVerify};
use crate::config::ClientTlsConfig;

/// Connects TCP, then performs the TLS handshake (ALPN `h2`) with the name to verify:
/// `server_name` when configured, else the host of the URI it is called with.
///
/// Cheap to clone (the rustls config is shared); the files are read once, by [`Self::new`].
///
/// # Examples
/// ```no_run
/// # fn demo() -> Result<(), grpckit::client::TlsError> {
/// use grpckit::{client::TlsConnector, config::ClientTlsConfig};
///
/// let tls = TlsConnector::new(&ClientTlsConfig {
///     ca_file: Some("certs/ca.pem".into()),
///     cert_file: Some("certs/client.pem".into()),
///     key_file: Some("certs/client.key".into()),
///     ..ClientTlsConfig::default()
/// })?;
/// # let _ = tls; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

// === impl TlsConnector ===

impl TlsConnector {
    /// Reads the CA, certificate and key files of `cfg` and builds the rustls client config.
    /// `insecure_skip_verify` logs a warning.
    ///
    /// # Errors
    /// A missing or unreadable file, a file without the expected PEM item, a key that does
    /// not match its certificate, an invalid `server_name`: each names its `client.tls` key.
    pub fn new(cfg: &ClientTlsConfig) -> Result<Self, TlsError> {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?;
        let builder = if cfg.insecure_skip_verify {
            tracing::warn!(
                "client.tls.insecure_skip_verify is on: server certificates are NOT verified \
                 (testing only)"
            );
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            let ca = cfg.ca_file.as_deref().ok_or(TlsError::NoRoots)?;
            builder.with_root_certificates(files::roots(ca)?)
        };
        let mut config = match (&cfg.cert_file, &cfg.key_file) {
            (Some(cert), Some(key)) => {
                let chain = files::certificates(super::TlsFile::Cert, cert)?;
                let private = files::private_key(key)?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|source| TlsError::Identity {
                        cert: cert.clone(),
                        key: key.clone(),
                        source,
                    })?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(TlsError::HalfIdentity),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let server_name = cfg
            .server_name
            .as_ref()
            .map(|n| ServerName::try_from(n.clone()).map_err(|_| TlsError::ServerName(n.clone())))
            .transpose()?;
        Ok(Self {
            config: Arc::new(config),
            server_name,
        })
    }

    /// The same connector verifying `name` instead (e.g. the CLI's `--servername`, or the
    /// host of its `--addr`).
    ///
    /// # Errors
    /// `name` is neither a DNS name nor an IP address.
    pub fn with_server_name(mut self, name: &str) -> Result<Self, TlsError> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::ServerName(name.to_owned()))?;
        self.server_name = Some(name);
        Ok(self)
    }

    /// The configured name to verify, if any.
    pub fn server_name(&self) -> Option<&ServerName<'static>> {
        self.server_name.as_ref()
    }
}

/// The host of `uri` without IPv6 brackets.
fn host(uri: &http::Uri) -> &str {
    uri.host()
        .unwrap_or("localhost")
        .trim_start_matches('[')
        .trim_end_matches(']')
}

impl tower::Service<http::Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let config = self.config.clone();
        let configured = self.server_name.clone();
        Box::pin(async move {
            let host = host(&uri).to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let name = match configured {
                Some(n) => n,
                None => ServerName::try_from(host.clone()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("'{host}' is not a valid TLS server name"),
                    )
                })?,
            };
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "TLS handshake with {host}:{port} (verifying '{}') failed: {e}",
                            name.to_str()
                        ),
                    )
                })?;
            Ok(TokioIo::new(tls))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::TlsFile;

    #[test]
    fn missing_ca_file_names_key_and_file() {
        let cfg = ClientTlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..ClientTlsConfig::default()
        };
        let e = TlsConnector::new(&cfg).expect_err("no file");
        let msg = e.to_string();
        assert!(msg.starts_with("client.tls.ca_file: "), "{msg}");
        assert!(msg.contains("/nonexistent/ca.pem"), "{msg}");
    }

    #[test]
    fn a_file_without_pem_names_what_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem\n").expect("write");
        let cfg = ClientTlsConfig {
            ca_file: Some(junk.clone()),
            ..ClientTlsConfig::default()
        };
        let e = TlsConnector::new(&cfg).expect_err("empty");
        assert!(
            matches!(
                e,
                TlsError::Empty {
                    file: TlsFile::Ca,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("junk.pem"), "{e}");
        let cfg = ClientTlsConfig {
            insecure_skip_verify: true,
            cert_file: Some(junk.clone()),
            key_file: Some(junk),
            ..ClientTlsConfig::default()
        };
        let e = TlsConnector::new(&cfg).expect_err("no cert");
        assert!(
            e.to_string()
                .starts_with("client.tls.cert_file: no PEM certificate"),
            "{e}"
        );
    }

    #[test]
    fn roots_are_required_unless_insecure() {
        let e = TlsConnector::new(&ClientTlsConfig::default()).expect_err("no roots");
        assert!(matches!(e, TlsError::NoRoots), "{e:?}");
        let insecure = ClientTlsConfig {
            insecure_skip_verify: true,
            ..ClientTlsConfig::default()
        };
        let c = TlsConnector::new(&insecure).expect("insecure needs no files");
        assert!(c.server_name().is_none());
        let c = c.with_server_name("users.internal").expect("a DNS name");
        assert_eq!(
            c.server_name().map(|n| n.to_str().into_owned()).as_deref(),
            Some("users.internal")
        );
        assert!(
            TlsConnector::new(&insecure)
                .expect("ok")
                .with_server_name("a b")
                .is_err()
        );
    }
}
