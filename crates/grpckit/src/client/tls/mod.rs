//! TLS and mutual TLS for outgoing connections: one rustls connector (ring provider, TLS 1.2
//! and 1.3, ALPN `h2`) shared by [`ClientBuilder`](super::ClientBuilder), [`connect`](super::connect)
//! and the `grpckit` command line (`--cacert`, `--cert`/`--key`, `--servername`, `--insecure`).
//!
//! tonic's own TLS cannot skip verification, so the connector does the handshake itself and
//! hands tonic an already encrypted stream (`Endpoint::connect_with_connector`). PEM files
//! are read with `rustls-pki-types` ([`PemObject`](rustls_pki_types::pem::PemObject)); every
//! error names the `client.tls` key and the file. Config: [`ClientTlsConfig`](crate::config::ClientTlsConfig).

mod connector;
mod error;
mod files;
mod verify;

pub use connector::TlsConnector;
pub use error::{TlsError, TlsFile};
