//! `server.tls:` and `server.admin_tls:`: TLS on the gRPC port and on the admin port.
//!
//! ```yaml
//! server:
//!   enable_tls: true
//!   tls:
//!     cert_file: server.pem
//!     key_file: server.key
//!     client_ca_file: ca.pem
//!     client_auth: required
//!     min_version: "1.3"
//!   admin_tls:
//!     cert_file: admin.pem
//!     key_file: admin.key
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// `server.tls:` the gRPC port's certificate, key and client certificate checks. Read only
/// when `server.enable_tls` is `true`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// PEM file with the server certificate, then its intermediates. Required with TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1). Required with
    /// TLS.
    pub key_file: Option<PathBuf>,
    /// PEM file with the CA certificates client certificates are checked against; enables
    /// client certificate checks (`client_auth` then defaults to `required`).
    pub client_ca_file: Option<PathBuf>,
    /// `none`, `optional` (a client may present no certificate; one it presents must be
    /// valid) or `required`. Default: `required` with `client_ca_file`, else `none`.
    pub client_auth: Option<ClientAuth>,
    /// The oldest protocol version accepted: `"1.3"` (default) or `"1.2"`.
    pub min_version: TlsVersion,
}

/// `server.tls.client_auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// No client certificates are asked for.
    None,
    /// A client may present a certificate; one it presents must chain to `client_ca_file`.
    Optional,
    /// Every client must present a certificate chaining to `client_ca_file`.
    Required,
}

/// `server.tls.min_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[default]
    #[serde(rename = "1.3")]
    Tls13,
}

/// `server.admin_tls:` TLS on the admin port (`server.metrics_listen`: `/metrics`,
/// `/healthz`, the stats page). Optional: without it the admin port serves plain HTTP.
/// With it the admin port serves HTTPS only, with the gRPC port's TLS policy (rustls `ring`
/// suites, `server.tls.min_version`), whether or not `server.enable_tls` is on; no client
/// certificates are asked for. Its files are reloaded on change and on SIGHUP, like the
/// gRPC port's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminTlsConfig {
    /// PEM file with the certificate, then its intermediates. Required with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1). Required with
    /// `cert_file`.
    pub key_file: Option<PathBuf>,
}

impl ServerTlsConfig {
    /// The effective client certificate policy (see [`ServerTlsConfig::client_auth`]).
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
            .unwrap_or(if self.client_ca_file.is_some() {
                ClientAuth::Required
            } else {
                ClientAuth::None
            })
    }

    /// Checks the section as `server.enable_tls` (`enabled`) needs it: with TLS on, the
    /// certificate and key are named; client certificate checks need a CA and a CA needs
    /// them.
    pub fn validate(&self, enabled: bool) -> Result<(), InvalidValue> {
        if !enabled {
            return Ok(());
        }
        let missing: Vec<&str> = [
            ("server.tls.cert_file", self.cert_file.is_none()),
            ("server.tls.key_file", self.key_file.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, missing)| missing.then_some(k))
        .collect();
        if !missing.is_empty() {
            return Err(InvalidValue::new(
                "server.enable_tls",
                format!("TLS needs {} to be set", missing.join(" and ")),
            ));
        }
        match (self.client_auth(), self.client_ca_file.is_some()) {
            (ClientAuth::Optional | ClientAuth::Required, false) => Err(InvalidValue::new(
                "server.tls.client_auth",
                "client certificates are checked against server.tls.client_ca_file: set it",
            )),
            (ClientAuth::None, true) => Err(InvalidValue::new(
                "server.tls.client_ca_file",
                "is set but server.tls.client_auth is none: remove one of them",
            )),
            _ => Ok(()),
        }
    }
}

impl AdminTlsConfig {
    /// Whether any key of the section is set.
    pub fn is_set(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some()
    }

    /// Checks that the section is empty or names both the certificate and the key.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err(InvalidValue::new(
                "server.admin_tls.key_file",
                "is required with server.admin_tls.cert_file",
            )),
            (None, Some(_)) => Err(InvalidValue::new(
                "server.admin_tls.cert_file",
                "is required with server.admin_tls.key_file",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_on_without_files_names_the_missing_keys() {
        let e = ServerTlsConfig::default().validate(true).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("server.tls.cert_file"), "{text}");
        assert!(text.contains("server.tls.key_file"), "{text}");
        assert!(ServerTlsConfig::default().validate(false).is_ok());
    }

    #[test]
    fn admin_tls_needs_both_files() {
        assert!(AdminTlsConfig::default().validate().is_ok());
        let both = AdminTlsConfig {
            cert_file: Some("a.pem".into()),
            key_file: Some("a.key".into()),
        };
        assert!(both.validate().is_ok());
        let cert_only = AdminTlsConfig {
            key_file: None,
            ..both.clone()
        };
        let e = cert_only.validate().unwrap_err().to_string();
        assert!(e.starts_with("server.admin_tls.key_file"), "{e}");
        let key_only = AdminTlsConfig {
            cert_file: None,
            ..both
        };
        let e = key_only.validate().unwrap_err().to_string();
        assert!(e.starts_with("server.admin_tls.cert_file"), "{e}");
    }

    #[test]
    fn a_client_ca_means_required_unless_said_otherwise() {
        let mut cfg = ServerTlsConfig {
            cert_file: Some("c".into()),
            key_file: Some("k".into()),
            ..Default::default()
        };
        assert_eq!(cfg.client_auth(), ClientAuth::None);
        cfg.client_auth = Some(ClientAuth::Optional);
        assert!(cfg.validate(true).is_err(), "optional needs a CA");
        cfg.client_ca_file = Some("ca".into());
        assert!(cfg.validate(true).is_ok());
        cfg.client_auth = None;
        assert_eq!(cfg.client_auth(), ClientAuth::Required);
        cfg.client_auth = Some(ClientAuth::None);
        assert!(cfg.validate(true).is_err(), "a CA with none is not ignored");
    }
}
