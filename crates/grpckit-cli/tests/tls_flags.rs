//! `grpckit server --tls-cert F --tls-key K --tls-client-ca CA` serves the reference app
//! over mTLS: a client with a certificate from the CA checks health, plaintext gets nothing.

use std::time::Duration;

use grpckit_app_test::ServerProcess;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

#[tokio::test]
async fn tls_flags_serve_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "test CA");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    write("ca.pem", &ca_pem);
    let issuer = Issuer::new(ca, ca_key);
    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    write(
        "server.pem",
        &server.signed_by(&key, &issuer).unwrap().pem(),
    );
    write("server.key", &key.serialize_pem());
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.subject_alt_names = vec![SanType::URI(
        "spiffe://example.org/ns/prod/sa/order".try_into().unwrap(),
    )];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client_pem = client.signed_by(&client_key, &issuer).unwrap().pem();

    let p = ServerProcess::spawn(
        BIN.as_ref(),
        &[
            "--tls-cert",
            "server.pem",
            "--tls-key",
            "server.key",
            "--tls-client-ca",
            "ca.pem",
        ],
        &[],
        dir.path(),
    )
    .unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca_pem))
        .domain_name("localhost")
        .identity(Identity::from_pem(client_pem, client_key.serialize_pem()));
    let ch = Channel::from_shared(format!("https://{}", p.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = HealthClient::new(ch)
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);

    let plain = Channel::from_shared(p.url())
        .unwrap()
        .timeout(Duration::from_secs(5))
        .connect()
        .await;
    if let Ok(plain) = plain {
        assert!(
            HealthClient::new(plain)
                .check(HealthCheckRequest::default())
                .await
                .is_err(),
            "plaintext is not served on the TLS port"
        );
    }
    p.terminate().unwrap();
}
