//! [`TestPki`]: a throw-away certificate authority for TLS tests, writing PEM files into a
//! temporary directory: server certificates (`localhost`, `127.0.0.1`) with chosen serial
//! numbers, re-issued at will to test certificate reloads, and client certificates with a
//! chosen identity (a SPIFFE ID) for mTLS.

use std::path::PathBuf;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType, SerialNumber,
};

/// A CA (`ca.pem`) and the certificates it issues, as files in a temporary directory
/// (removed on drop).
pub struct TestPki {
    dir: tempfile::TempDir,
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// A new CA, written as `ca.pem`.
    ///
    /// # Errors
    /// The directory or the CA cannot be made.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "grpckit test CA");
        let ca_pem = params.self_signed(&key)?.pem();
        let pki = Self {
            dir,
            ca_pem,
            issuer: Issuer::new(params, key),
        };
        pki.write("ca.pem", &pki.ca_pem)?;
        Ok(pki)
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server certificate for `localhost` and `127.0.0.1` with serial number `serial`, and
    /// its key: `(certificate PEM, key PEM)`.
    ///
    /// # Errors
    /// rcgen failed.
    pub fn server_cert(&self, serial: u64) -> anyhow::Result<(String, String)> {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Writes [`TestPki::server_cert`] as `server.pem` and `server.key`.
    ///
    /// # Errors
    /// rcgen or the file system failed.
    pub fn write_server(&self, serial: u64) -> anyhow::Result<()> {
        let (cert, key) = self.server_cert(serial)?;
        self.write("server.pem", &cert)?;
        self.write("server.key", &key)
    }

    /// Writes a client certificate whose identity is the URI SAN `id` (e.g.
    /// `spiffe://example.org/ns/prod/sa/order`) as `NAME.pem` and `NAME.key`.
    ///
    /// # Errors
    /// An invalid URI, rcgen or the file system failed.
    pub fn write_client(&self, name: &str, id: &str) -> anyhow::Result<()> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = vec![SanType::URI(id.try_into()?)];
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} client"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate()?;
        self.write(
            &format!("{name}.pem"),
            &params.signed_by(&key, &self.issuer)?.pem(),
        )?;
        self.write(&format!("{name}.key"), &key.serialize_pem())
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` as `name`.
    ///
    /// # Errors
    /// The file system failed.
    pub fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        std::fs::write(self.path(name), text).with_context(|| format!("write {name}"))
    }

    /// Reads `name`.
    ///
    /// # Errors
    /// The file system failed.
    pub fn read(&self, name: &str) -> anyhow::Result<String> {
        std::fs::read_to_string(self.path(name)).with_context(|| format!("read {name}"))
    }
}
