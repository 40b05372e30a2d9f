//! TLS on the gRPC port and, with `server.admin_tls`, on the admin port: rustls with the
//! `ring` provider (its default cipher suites, all AEAD with forward secrecy), TLS 1.3
//! unless `server.tls.min_version: "1.2"` (both ports), ALPN `h2` and `http/1.1`, and on
//! the gRPC port client certificates checked against `server.tls.client_ca_file`.
//!
//! The serving certificate is held by [`CertResolver`], behind an `ArcSwap`, and the rustls
//! settings (client CA included) by [`ServerTls`]: [`ServerTls::reload`] replaces both, so
//! new handshakes use the new files while open connections keep theirs.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use arc_swap::ArcSwap;
use rustls::{
    RootCertStore, ServerConfig as RustlsConfig, SupportedProtocolVersion,
    crypto::{CryptoProvider, ring},
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::TlsAcceptor;

use crate::config::{AdminTlsConfig, ClientAuth, ServerTlsConfig, TlsVersion};

/// Why the TLS settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A key of `server.tls` is required but not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A PEM file could not be read or holds nothing usable.
    #[error("{key}: cannot read {path}: {reason}")]
    Read {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key cannot be used or does not match the certificate.
    #[error("{key} does not fit {cert}")]
    Key {
        /// The config key naming the private key file.
        key: &'static str,
        /// The config key naming the certificate file.
        cert: &'static str,
        /// What rustls found.
        source: rustls::Error,
    },
    /// The client CA cannot check certificates.
    #[error("server.tls.client_ca_file: no usable CA certificate")]
    ClientCa(#[source] rustls::server::VerifierBuilderError),
    /// rustls refused the settings.
    #[error("TLS settings")]
    Config(#[source] rustls::Error),
}

/// The listener a TLS setting serves: it names the config keys in errors and the port in
/// reload logs; only the gRPC port's certificate feeds the TLS metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Port {
    /// The gRPC port (`server.tls`).
    Grpc,
    /// The admin port (`server.admin_tls`).
    Admin,
}

impl Port {
    /// `grpc` or `admin`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::Admin => "admin",
        }
    }

    fn cert_key(self) -> &'static str {
        match self {
            Self::Grpc => "server.tls.cert_file",
            Self::Admin => "server.admin_tls.cert_file",
        }
    }

    fn key_key(self) -> &'static str {
        match self {
            Self::Grpc => "server.tls.key_file",
            Self::Admin => "server.admin_tls.key_file",
        }
    }
}

/// The certificate every new handshake presents; swapped whole on reload.
#[derive(Debug)]
pub(crate) struct CertResolver(ArcSwap<CertifiedKey>);

impl CertResolver {
    /// Presents `key` from the next handshake on.
    pub(crate) fn replace(&self, key: CertifiedKey) {
        self.0.store(Arc::new(key));
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// The ring provider every TLS setting of the server uses.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Reads the PEM certificate chain and private key named by `cfg` (the keys of `port`) into
/// a key rustls can sign with (checked to match the certificate).
pub(crate) fn load_certified_key(
    cfg: &ServerTlsConfig,
    port: Port,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let (cert_key, key_key) = (port.cert_key(), port.key_key());
    let cert_file = cfg
        .cert_file
        .as_deref()
        .ok_or(TlsError::Missing(cert_key))?;
    let key_file = cfg.key_file.as_deref().ok_or(TlsError::Missing(key_key))?;
    let certs = read_certs(cert_key, cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsError::Read {
        key: key_key,
        path: key_file.to_owned(),
        reason: e.to_string(),
    })?;
    CertifiedKey::from_der(certs, key, provider).map_err(|source| TlsError::Key {
        key: key_key,
        cert: cert_key,
        source,
    })
}

/// Every certificate of a PEM file; at least one.
fn read_certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::Read {
        key,
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// The server's TLS: the rustls settings new connections are accepted with and the
/// resolver holding the certificate they are shown; [`ServerTls::reload`] replaces both.
pub(crate) struct ServerTls {
    port: Port,
    settings: ServerTlsConfig,
    provider: Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
    config: ArcSwap<RustlsConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("port", &self.port)
            .field("settings", &self.settings)
            .field("resolver", &self.resolver)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads the certificate, key and client CA of `cfg` (`server.tls`, the gRPC port).
    pub(crate) fn from_config(cfg: &ServerTlsConfig) -> Result<Self, TlsError> {
        Self::load(cfg, Port::Grpc)
    }

    /// Loads the admin port's certificate and key (`server.admin_tls`); the oldest
    /// protocol version accepted is the gRPC port's (`server.tls.min_version`). No client
    /// certificates are asked for.
    pub(crate) fn admin(cfg: &AdminTlsConfig, min_version: TlsVersion) -> Result<Self, TlsError> {
        let settings = ServerTlsConfig {
            cert_file: cfg.cert_file.clone(),
            key_file: cfg.key_file.clone(),
            client_ca_file: None,
            client_auth: Some(ClientAuth::None),
            min_version,
        };
        Self::load(&settings, Port::Admin)
    }

    fn load(cfg: &ServerTlsConfig, port: Port) -> Result<Self, TlsError> {
        let provider = provider();
        let key = load_certified_key(cfg, port, &provider)?;
        super::tls_reload::serving_certificate(port, &key);
        let resolver = Arc::new(CertResolver(ArcSwap::from_pointee(key)));
        let config = build_config(cfg, &provider, resolver.clone())?;
        Ok(Self {
            port,
            settings: cfg.clone(),
            provider,
            resolver,
            config: ArcSwap::from_pointee(config),
        })
    }

    /// The acceptor of the next connection (the settings in force now).
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.load_full())
    }

    /// Re-reads the certificate, key and client CA files: new handshakes use them, open
    /// connections keep what they negotiated. On error nothing changes.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        let key = load_certified_key(&self.settings, self.port, &self.provider)?;
        let config = build_config(&self.settings, &self.provider, self.resolver.clone())?;
        super::tls_reload::serving_certificate(self.port, &key);
        self.resolver.replace(key);
        self.config.store(Arc::new(config));
        Ok(())
    }

    /// The listener these settings serve.
    pub(crate) fn port(&self) -> Port {
        self.port
    }

    /// The files the settings are read from.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        let s = &self.settings;
        [&s.cert_file, &s.key_file, &s.client_ca_file]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// The rustls settings of `cfg` presenting the certificate of `resolver`.
fn build_config(
    cfg: &ServerTlsConfig,
    provider: &Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
) -> Result<RustlsConfig, TlsError> {
    static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    static TLS12_UP: &[&SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    let versions = match cfg.min_version {
        TlsVersion::Tls13 => TLS13_ONLY,
        TlsVersion::Tls12 => TLS12_UP,
    };
    let builder = RustlsConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(TlsError::Config)?;
    let auth = cfg.client_auth();
    let builder = match (&cfg.client_ca_file, auth) {
        (Some(ca), ClientAuth::Optional | ClientAuth::Required) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs("server.tls.client_ca_file", ca)? {
                roots.add(cert).map_err(|e| TlsError::Read {
                    key: "server.tls.client_ca_file",
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(TlsError::ClientCa)?)
        }
        (None, ClientAuth::Optional | ClientAuth::Required) => {
            return Err(TlsError::Missing("server.tls.client_ca_file"));
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// When a certificate stops being valid (Unix seconds).
pub(crate) fn not_after(cert: &CertificateDer<'_>) -> Option<i64> {
    use x509_parser::prelude::FromDer;
    let (_, x) = x509_parser::certificate::X509Certificate::from_der(cert.as_ref()).ok()?;
    Some(x.validity().not_after.timestamp())
}

/// The identity of a verified client certificate: its first URI SAN (a SPIFFE ID such as
/// `spiffe://example.org/ns/prod/sa/order`), else its first DNS SAN, else its subject's CN.
pub(crate) fn certificate_identity(cert: &CertificateDer<'_>) -> Option<String> {
    use x509_parser::{extensions::GeneralName, prelude::FromDer};
    let (_, x) = x509_parser::certificate::X509Certificate::from_der(cert.as_ref()).ok()?;
    if let Ok(Some(san)) = x.subject_alternative_name() {
        let names = &san.value.general_names;
        let uri = names.iter().find_map(|n| match n {
            GeneralName::URI(u) => Some(*u),
            _ => None,
        });
        let dns = || {
            names.iter().find_map(|n| match n {
                GeneralName::DNSName(d) => Some(*d),
                _ => None,
            })
        };
        if let Some(name) = uri.or_else(dns) {
            return Some(name.to_owned());
        }
    }
    x.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    use super::*;

    fn cert(sans: Vec<SanType>, cn: &str) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans;
        params.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn identity_is_the_uri_san_then_the_dns_san_then_the_cn() {
        let spiffe = "spiffe://example.org/ns/prod/sa/order";
        let both = cert(
            vec![
                SanType::DnsName("order.internal".try_into().unwrap()),
                SanType::URI(spiffe.try_into().unwrap()),
            ],
            "order",
        );
        assert_eq!(certificate_identity(&both).as_deref(), Some(spiffe));
        let dns = cert(
            vec![SanType::DnsName("order.internal".try_into().unwrap())],
            "order",
        );
        assert_eq!(
            certificate_identity(&dns).as_deref(),
            Some("order.internal")
        );
        assert_eq!(
            certificate_identity(&cert(Vec::new(), "order")).as_deref(),
            Some("order")
        );
        assert_eq!(
            certificate_identity(&CertificateDer::from(vec![1, 2, 3])),
            None
        );
    }
}
