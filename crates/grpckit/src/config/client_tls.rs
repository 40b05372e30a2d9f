//! `client.tls:` TLS and mutual TLS for the framework's client ([`crate::client::TlsConnector`]).
//!
//! ```yaml
//! client:
//!   tls:
//!     ca_file: ca.pem          # CA(s) that sign the server certificates (no system roots are bundled)
//!     cert_file: client.pem    # with key_file: mutual TLS
//!     key_file: client.key
//!     server_name: users.internal   # default: the host of each endpoint
//!     insecure_skip_verify: false   # true: no server certificate check (testing only)
//! ```
//!
//! Only the shape and the cross-field rules are checked here; the files are read when a
//! client is built, and a missing or bad file fails that build naming the key and the file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// `client.tls:` when present, every endpoint of the client is reached over TLS (as is any
/// `https://` endpoint).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// PEM file with the CA certificate(s) the server certificate must chain to. Required
    /// unless `insecure_skip_verify` (no system roots are bundled). Default none.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS; needs `key_file`. Default none.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `cert_file`. Default none.
    pub key_file: Option<PathBuf>,
    /// The name the server certificate must carry (and the SNI sent). Default: the host of
    /// each endpoint; set it for `dns://` endpoints and IP addresses whose certificate names
    /// a host name.
    pub server_name: Option<String>,
    /// Accept any server certificate (handshake signatures are still checked). For tests
    /// only: a warning is logged when a client is built with it. Default `false`.
    pub insecure_skip_verify: bool,
}

impl ClientTlsConfig {
    /// Cross-field checks of `client.tls` (files are not read here).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => {
                return Err(InvalidValue::new(
                    "client.tls.key_file",
                    "required with client.tls.cert_file (mutual TLS needs both)",
                ));
            }
            (None, Some(_)) => {
                return Err(InvalidValue::new(
                    "client.tls.cert_file",
                    "required with client.tls.key_file (mutual TLS needs both)",
                ));
            }
            _ => {}
        }
        if self.ca_file.is_none() && !self.insecure_skip_verify {
            return Err(InvalidValue::new(
                "client.tls.ca_file",
                "required (no system roots are bundled); or set insecure_skip_verify: true \
                 for tests",
            ));
        }
        if let Some(name) = &self.server_name
            && rustls_pki_types::ServerName::try_from(name.as_str()).is_err()
        {
            return Err(InvalidValue::new(
                "client.tls.server_name",
                format!("'{name}' is not a DNS name or IP address"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_yaml;

    #[test]
    fn parses_the_issue_shape() {
        let cfg = parse_yaml(
            "client:\n  tls: {ca_file: ca.pem, cert_file: c.pem, key_file: c.key, \
             server_name: localhost, insecure_skip_verify: false}\n",
        )
        .expect("valid");
        let tls = cfg.client.tls.expect("tls set");
        assert_eq!(tls.ca_file, Some(PathBuf::from("ca.pem")));
        assert_eq!(tls.key_file, Some(PathBuf::from("c.key")));
        assert_eq!(tls.server_name.as_deref(), Some("localhost"));
        assert!(!tls.insecure_skip_verify);
        assert_eq!(parse_yaml("").expect("defaults").client.tls, None);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse_yaml("client:\n  tls: {ca_file: a.pem, cafile: b.pem}\n")
            .expect_err("unknown key");
        assert_eq!(e.key(), Some("client.tls.cafile"), "{e}");
    }

    #[test]
    fn cert_without_key_names_the_missing_key() {
        let e = parse_yaml("client:\n  tls: {ca_file: a.pem, cert_file: c.pem}\n")
            .expect_err("half a pair");
        assert_eq!(e.key(), Some("client.tls.key_file"), "{e}");
        let e = parse_yaml("client:\n  tls: {ca_file: a.pem, key_file: c.key}\n")
            .expect_err("half a pair");
        assert_eq!(e.key(), Some("client.tls.cert_file"), "{e}");
    }

    #[test]
    fn a_ca_is_required_unless_verification_is_off() {
        let e = parse_yaml("client:\n  tls: {}\n").expect_err("no roots");
        assert_eq!(e.key(), Some("client.tls.ca_file"), "{e}");
        assert!(parse_yaml("client:\n  tls: {insecure_skip_verify: true}\n").is_ok());
    }

    #[test]
    fn server_name_must_be_a_name() {
        let e = parse_yaml("client:\n  tls: {ca_file: a.pem, server_name: 'not a name'}\n")
            .expect_err("bad name");
        assert_eq!(e.key(), Some("client.tls.server_name"), "{e}");
    }
}
