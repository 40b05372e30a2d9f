//! Why a TLS client could not be set up.

use std::path::PathBuf;

/// The `client.tls` file an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// `client.tls.ca_file`
    Ca,
    /// `client.tls.cert_file`
    Cert,
    /// `client.tls.key_file`
    Key,
}

impl TlsFile {
    /// The config key, e.g. `client.tls.ca_file`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Ca => "client.tls.ca_file",
            Self::Cert => "client.tls.cert_file",
            Self::Key => "client.tls.key_file",
        }
    }

    /// What the file must hold.
    fn content(self) -> &'static str {
        match self {
            Self::Ca | Self::Cert => "PEM certificate",
            Self::Key => "PEM private key",
        }
    }
}

/// Why a [`TlsConnector`](super::TlsConnector) could not be built. Each message names the
/// `client.tls` key (and the file when there is one).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or is not PEM.
    #[error("{}: cannot read {}: {source}", file.key(), path.display())]
    Read {
        /// Which key.
        file: TlsFile,
        /// The file.
        path: PathBuf,
        /// The reader's error.
        source: rustls_pki_types::pem::Error,
    },
    /// A file holds no item of the expected kind.
    #[error("{}: no {} in {}", file.key(), file.content(), path.display())]
    Empty {
        /// Which key.
        file: TlsFile,
        /// The file.
        path: PathBuf,
    },
    /// A CA certificate was refused by rustls.
    #[error("client.tls.ca_file: bad CA certificate in {}: {source}", path.display())]
    BadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::Error,
    },
    /// The client certificate and key do not form a usable identity (e.g. they do not match).
    #[error(
        "client.tls.cert_file/key_file: cannot use {} with {}: {source}",
        cert.display(),
        key.display()
    )]
    Identity {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        source: rustls::Error,
    },
    /// Only one of `cert_file` and `key_file` was given.
    #[error("client.tls: cert_file and key_file go together (mutual TLS needs both)")]
    HalfIdentity,
    /// Neither `ca_file` nor `insecure_skip_verify`.
    #[error(
        "client.tls.ca_file: required (no system roots are bundled); or set \
         insecure_skip_verify: true for tests"
    )]
    NoRoots,
    /// `server_name` is neither a DNS name nor an IP address.
    #[error("client.tls.server_name: '{0}' is not a DNS name or IP address")]
    ServerName(String),
    /// rustls refused the protocol setup.
    #[error("client.tls: {0}")]
    Setup(#[source] rustls::Error),
}
