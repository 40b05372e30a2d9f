//! The certificates, in memory.

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// Server names every server certificate carries.
pub const DEFAULT_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A CA, a server and a client certificate with their keys, as PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    /// CA certificate.
    pub ca_cert: String,
    /// CA private key.
    pub ca_key: String,
    /// Server certificate.
    pub server_cert: String,
    /// Server private key.
    pub server_key: String,
    /// Client certificate.
    pub client_cert: String,
    /// Client private key.
    pub client_key: String,
    /// The server certificate's SANs, in order.
    pub server_sans: Vec<String>,
    /// The client certificate's URI SAN.
    pub client_id: String,
}

/// Makes the CA (valid 5 years) and the server and client certificates (1 year) it signs.
///
/// # Errors
/// An invalid SAN or client id.
pub fn generate(extra_sans: &[String], client_id: &str) -> anyhow::Result<Pki> {
    let scheme_ok = client_id
        .split_once("://")
        .is_some_and(|(s, rest)| !s.is_empty() && !rest.is_empty());
    anyhow::ensure!(
        scheme_ok,
        "--client-id {client_id:?}: expected a URI such as {}",
        super::DEFAULT_CLIENT_ID
    );
    let now = OffsetDateTime::now_utc();
    let not_before = now - Duration::hours(1);

    let mut ca = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    // A name of its own per run: a certificate from another `certs init` then fails as
    // "unknown issuer" instead of a signature mismatch under the same CA name.
    let ca_name = format!(
        "grpckit development CA {:x}",
        now.unix_timestamp_nanos() & 0xffff_ffff_ffff
    );
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = not_before;
    ca.not_after = now + Duration::days(5 * 365);
    let ca_key = KeyPair::generate().context("CA key")?;
    let issuer = CertifiedIssuer::self_signed(ca, ca_key).context("CA certificate")?;

    let mut server_sans: Vec<String> = DEFAULT_SANS.iter().map(|s| s.to_string()).collect();
    for s in extra_sans {
        let s = s.trim().to_owned();
        if !s.is_empty() && !server_sans.contains(&s) {
            server_sans.push(s);
        }
    }
    let mut server = CertificateParams::new(server_sans.clone())
        .with_context(|| format!("--san: invalid name in {server_sans:?}"))?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf(&mut server, ExtendedKeyUsagePurpose::ServerAuth, now);
    let server_key = KeyPair::generate().context("server key")?;
    let server_cert = server
        .signed_by(&server_key, &issuer)
        .context("server certificate")?;

    let mut client = CertificateParams::new(Vec::<String>::new()).context("client parameters")?;
    client.subject_alt_names =
        vec![SanType::URI(client_id.try_into().with_context(|| {
            format!("--client-id {client_id:?}: not an ASCII URI")
        })?)];
    client
        .distinguished_name
        .push(DnType::CommonName, "grpckit development client");
    leaf(&mut client, ExtendedKeyUsagePurpose::ClientAuth, now);
    let client_key = KeyPair::generate().context("client key")?;
    let client_cert = client
        .signed_by(&client_key, &issuer)
        .context("client certificate")?;

    Ok(Pki {
        ca_cert: issuer.pem(),
        ca_key: issuer.key().serialize_pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
        server_sans,
        client_id: client_id.to_owned(),
    })
}

/// End-entity settings shared by the server and client certificates.
fn leaf(p: &mut CertificateParams, usage: ExtendedKeyUsagePurpose, now: OffsetDateTime) {
    p.is_ca = IsCa::ExplicitNoCa;
    p.use_authority_key_identifier_extension = true;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![usage];
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(365);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_sans_follow_the_defaults_once() {
        let pki = generate(
            &[
                "users.internal".into(),
                "localhost".into(),
                "10.0.0.7".into(),
            ],
            super::super::DEFAULT_CLIENT_ID,
        )
        .expect("generate");
        assert_eq!(
            pki.server_sans,
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "users.internal",
                "10.0.0.7"
            ]
        );
        assert!(pki.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.client_key.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn client_id_must_be_a_uri() {
        let e = generate(&[], "just-a-name").expect_err("not a URI");
        assert!(e.to_string().contains("--client-id"), "{e}");
    }
}
