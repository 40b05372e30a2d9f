//! Connection options shared by `call`, `list`, `describe` and `perf`: address, plaintext or
//! TLS (`--cacert`, `--cert`/`--key`, `--servername`, `--insecure`), `-H 'key: value'`
//! metadata, connect timeout. TLS is the framework's connector
//! ([`grpckit::client::TlsConnector`]), the one `client.tls` configures.

mod direct;
mod metadata;
mod web;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Args;
use grpckit::{client::TlsConnector, config::ClientTlsConfig};
use tonic::transport::{Channel, Endpoint};

pub use direct::{CallHead, DirectChannel, frame};
pub use metadata::parse_metadata;
pub use web::HttpConn;

/// Where and how to connect.
#[derive(Debug, Args, Clone)]
pub struct ConnArgs {
    /// Server address: HOST:PORT, http://HOST:PORT or https://HOST:PORT.
    #[arg(long, default_value = "localhost:9090", env = "GRPCKIT_ADDR")]
    pub addr: String,
    /// Force plaintext HTTP/2 (the default unless https:// or a TLS option is given).
    #[arg(long, conflicts_with_all = ["tls", "cacert", "insecure"])]
    pub plaintext: bool,
    /// Use TLS (implied by https://, --cacert and --insecure).
    #[arg(long)]
    pub tls: bool,
    /// PEM file with the CA certificate(s) that sign the server certificate.
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with --key).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Skip server certificate verification (testing only).
    #[arg(long)]
    pub insecure: bool,
    /// TLS server name to verify instead of the host of --addr.
    #[arg(long)]
    pub servername: Option<String>,
    /// Request metadata `key: value`; repeatable.
    #[arg(short = 'H', long = "header", value_name = "KEY: VALUE")]
    pub headers: Vec<String>,
    /// Connect timeout.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
}

impl ConnArgs {
    /// Plain arguments for `addr` (plaintext, no metadata); handy in tests.
    pub fn plaintext(addr: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            plaintext: true,
            tls: false,
            cacert: None,
            cert: None,
            key: None,
            insecure: false,
            servername: None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
        }
    }

    fn wants_tls(&self) -> bool {
        !self.plaintext
            && (self.tls
                || self.cacert.is_some()
                || self.insecure
                || self.addr.starts_with("https://"))
    }

    /// `host:port` without the scheme.
    fn authority(&self) -> &str {
        let a = self
            .addr
            .split_once("://")
            .map_or(self.addr.as_str(), |(_, rest)| rest);
        a.trim_end_matches('/')
    }

    /// Opens one HTTP/2 connection.
    pub async fn connect(&self) -> anyhow::Result<Channel> {
        let ep = Endpoint::from_shared(format!("http://{}", self.authority()))
            .with_context(|| format!("invalid address {:?}", self.addr))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        let ch = if let Some(connector) = self.tls_connector()? {
            // The connector does the handshake; requests still say `:scheme https`.
            ep.origin(self.origin()?)
                .connect_with_connector(connector)
                .await
        } else {
            ep.connect().await
        };
        ch.with_context(|| format!("cannot connect to {}", self.addr))
    }

    /// The TLS connector for `--tls`/`--cacert`/`--insecure`/`https://`; `None` for plaintext.
    /// The verified name is `--servername` or the host of `--addr`.
    fn tls_connector(&self) -> anyhow::Result<Option<TlsConnector>> {
        if !self.wants_tls() {
            return Ok(None);
        }
        if self.cacert.is_none() && !self.insecure {
            anyhow::bail!("TLS needs --cacert FILE (or --insecure): no system roots are bundled");
        }
        let host = self
            .servername
            .clone()
            .unwrap_or_else(|| host_of(self.authority()).to_owned());
        TlsConnector::new(&self.tls_config())
            .and_then(|c| c.with_server_name(&host))
            .map(Some)
            .context("TLS setup from --cacert/--cert/--key/--servername")
    }

    /// The TLS options as the framework's `client.tls` section.
    pub fn tls_config(&self) -> ClientTlsConfig {
        ClientTlsConfig {
            ca_file: self.cacert.clone(),
            cert_file: self.cert.clone(),
            key_file: self.key.clone(),
            server_name: self.servername.clone(),
            insecure_skip_verify: self.insecure,
        }
    }

    /// `http(s)://host:port`: the `:scheme` and `:authority` of requests on a
    /// [`DirectChannel`].
    pub fn origin(&self) -> anyhow::Result<http::Uri> {
        let scheme = if self.wants_tls() { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
            .parse()
            .with_context(|| format!("invalid address {:?}", self.addr))
    }

    /// The `-H` metadata, parsed.
    pub fn metadata(&self) -> anyhow::Result<tonic::metadata::MetadataMap> {
        parse_metadata(&self.headers)
    }
}

fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_selection_and_host() {
        let mut a = ConnArgs::plaintext("https://example.com:443");
        assert!(!a.wants_tls());
        a.plaintext = false;
        assert!(a.wants_tls());
        assert_eq!(host_of(a.authority()), "example.com");
        assert_eq!(host_of("[::1]:9090"), "::1");
        let mut b = ConnArgs::plaintext("127.0.0.1:1");
        b.plaintext = false;
        assert!(!b.wants_tls());
    }

    #[test]
    fn tls_flags_are_the_client_tls_keys() {
        let mut a = ConnArgs::plaintext("https://localhost:1");
        a.plaintext = false;
        a.cacert = Some("ca.pem".into());
        a.cert = Some("c.pem".into());
        a.key = Some("c.key".into());
        a.servername = Some("users.internal".into());
        let t = a.tls_config();
        assert_eq!(t.ca_file, a.cacert);
        assert_eq!((t.cert_file, t.key_file), (a.cert.clone(), a.key.clone()));
        assert_eq!(t.server_name.as_deref(), Some("users.internal"));
        assert!(!t.insecure_skip_verify);

        a.cacert = None;
        let e = a.tls_connector().expect_err("no roots");
        assert!(e.to_string().contains("--cacert"), "{e}");
    }
}
