//! TLS on the gRPC port with real handshakes on 127.0.0.1: tonic's client over TLS, mTLS
//! identities bound to roles (RBAC by certificate), the TLS 1.3 minimum and the strong
//! suites of TLS 1.2 (also as OpenSSL's `s_client` sees them), certificate files reloaded
//! while a connection stays open, the connection info every request carries, an outside
//! client (Python grpcio) checking health over TLS and mTLS, and the admin port over HTTPS
//! (`server.admin_tls`). Certificates are made here with rcgen.

use std::{path::Path, process::Command, sync::Arc, time::Duration};

use grpckit::{
    config::{Config, parse_yaml},
    middleware::auth::AuthSecrets,
    server::{ServeError, ServerBuilder, Shutdown},
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const ORDER_ID: &str = "spiffe://example.org/ns/prod/sa/order";
const OTHER_ID: &str = "spiffe://example.org/ns/prod/sa/billing";

/// A development CA with a server certificate (`localhost`, `127.0.0.1`) and two client
/// certificates (SPIFFE IDs), written as PEM files into a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "grpckit test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let ca_pem = ca_cert.pem();
        std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
        let pki = Self {
            dir,
            ca_pem,
            issuer,
        };
        pki.write_server();
        for (name, id) in [("order", ORDER_ID), ("billing", OTHER_ID)] {
            let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
            client.subject_alt_names = vec![SanType::URI(id.try_into().unwrap())];
            client
                .distinguished_name
                .push(DnType::CommonName, format!("{name} service"));
            client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let key = KeyPair::generate().unwrap();
            pki.write(
                &format!("{name}.pem"),
                &client.signed_by(&key, &pki.issuer).unwrap().pem(),
            );
            pki.write(&format!("{name}.key"), &key.serialize_pem());
        }
        pki
    }

    /// Issues a new server certificate and key (`server.pem`, `server.key`).
    fn write_server(&self) {
        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        self.write(
            "server.pem",
            &server.signed_by(&key, &self.issuer).unwrap().pem(),
        );
        self.write("server.key", &key.serialize_pem());
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// The DER of the first certificate of a PEM file.
    fn der(&self, name: &str) -> Vec<u8> {
        let pem = self.read(name);
        let cert: rustls_pki_types::CertificateDer<'static> =
            rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
        cert.to_vec()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
}

/// A config serving TLS with `pki`'s server certificate, plus `extra` YAML lines under
/// `server.tls` and a `middleware` section.
fn config(pki: &Pki, tls_extra: &str, middleware: &str) -> Config {
    let yaml = format!(
        "server:\n  enable_tls: true\n  tls:\n    cert_file: {}\n    key_file: {}\n{tls_extra}{middleware}",
        pki.path("server.pem"),
        pki.path("server.key"),
    );
    parse_yaml(&yaml).unwrap()
}

struct Server {
    port: u16,
    shutdown: Shutdown,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Server {
    async fn start(cfg: &Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shutdown = Shutdown::new();
        let builder = ServerBuilder::new(cfg.server.clone())
            .middleware(&cfg.middleware, &AuthSecrets::default())
            .unwrap();
        let task = tokio::spawn(builder.serve(listener, shutdown.clone()));
        Self {
            port,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn channel(
    port: u16,
    pki: &Pki,
    client: Option<&str>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    if let Some(name) = client {
        tls = tls.identity(Identity::from_pem(
            pki.read(&format!("{name}.pem")),
            pki.read(&format!("{name}.key")),
        ));
    }
    Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await
}

async fn check(ch: Channel) -> Result<ServingStatus, tonic::Status> {
    let res = HealthClient::new(ch)
        .check(HealthCheckRequest::default())
        .await?;
    Ok(res.into_inner().status())
}

#[tokio::test]
async fn a_tonic_client_calls_over_tls() {
    let pki = Pki::new();
    let server = Server::start(&config(&pki, "", "")).await;
    let ch = channel(server.port, &pki, None).await.unwrap();
    assert_eq!(check(ch).await.unwrap(), ServingStatus::Serving);
    // Plaintext HTTP/2 to the TLS port gets no answer.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{}", server.port))
        .unwrap()
        .timeout(Duration::from_secs(5))
        .connect()
        .await;
    if let Ok(plain) = plain {
        assert!(check(plain).await.is_err());
    }
    server.stop().await;
}

/// Health requires credentials here (no public methods); only the order service's
/// certificate is bound to a role allowed to call it.
const RBAC: &str = "middleware:
  auth:
    public_methods: []
    roles:
      - role: order-service
        allow: [\"/grpc.health.v1.Health/Check\"]
    bindings:
      - principal: \"spiffe://example.org/ns/prod/sa/order\"
        roles: [order-service]
";

#[tokio::test]
async fn a_client_certificate_identity_is_authorized_by_its_role_binding() {
    let pki = Pki::new();
    let ca = format!(
        "    client_ca_file: {}\n    client_auth: optional\n",
        pki.path("ca.pem")
    );
    let server = Server::start(&config(&pki, &ca, RBAC)).await;

    let order = channel(server.port, &pki, Some("order")).await.unwrap();
    assert_eq!(check(order).await.unwrap(), ServingStatus::Serving);

    let billing = channel(server.port, &pki, Some("billing")).await.unwrap();
    let denied = check(billing).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // `optional`: no certificate and no token is an anonymous caller.
    let anonymous = channel(server.port, &pki, None).await.unwrap();
    let refused = check(anonymous).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    server.stop().await;
}

#[tokio::test]
async fn required_client_certificates_refuse_a_client_without_one() {
    let pki = Pki::new();
    let ca = format!("    client_ca_file: {}\n", pki.path("ca.pem"));
    let server = Server::start(&config(&pki, &ca, "")).await;
    let with_cert = channel(server.port, &pki, Some("order")).await.unwrap();
    assert_eq!(check(with_cert).await.unwrap(), ServingStatus::Serving);
    // TLS 1.3: the client may finish its side of the handshake before the server refuses.
    match channel(server.port, &pki, None).await {
        Err(_) => {}
        Ok(ch) => assert!(check(ch).await.is_err(), "served without a certificate"),
    }
    server.stop().await;
}

#[tokio::test]
async fn client_certificates_from_another_ca_or_expired_are_refused() {
    let pki = Pki::new();
    // The order service's identity, from the right CA, but expired.
    let mut expired = CertificateParams::new(Vec::<String>::new()).unwrap();
    expired.subject_alt_names = vec![SanType::URI(ORDER_ID.try_into().unwrap())];
    expired.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    expired.not_before = rcgen::date_time_ymd(2020, 1, 1);
    expired.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = KeyPair::generate().unwrap();
    pki.write(
        "expired.pem",
        &expired.signed_by(&key, &pki.issuer).unwrap().pem(),
    );
    pki.write("expired.key", &key.serialize_pem());
    // The same identity from another CA.
    let other = Pki::new();
    pki.write("foreign.pem", &other.read("order.pem"));
    pki.write("foreign.key", &other.read("order.key"));

    let ca = format!("    client_ca_file: {}\n", pki.path("ca.pem"));
    let server = Server::start(&config(&pki, &ca, "")).await;
    for name in ["expired", "foreign"] {
        // TLS 1.3: the client may finish its side before the server refuses.
        match channel(server.port, &pki, Some(name)).await {
            Err(_) => {}
            Ok(ch) => assert!(check(ch).await.is_err(), "{name} certificate accepted"),
        }
    }
    let valid = channel(server.port, &pki, Some("order")).await.unwrap();
    assert_eq!(check(valid).await.unwrap(), ServingStatus::Serving);
    server.stop().await;
}

/// A TLS handshake by a client that offers only `versions`; the server's certificate (DER)
/// when it completes.
async fn handshake(
    port: u16,
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::pem::PemObject::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .map(|tls| tls.get_ref().1.peer_certificates().unwrap()[0].to_vec())
}

#[tokio::test]
async fn tls_1_2_is_refused_unless_configured() {
    let pki = Pki::new();
    let tls12: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
    let tls13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

    let server = Server::start(&config(&pki, "", "")).await;
    assert!(handshake(server.port, &pki, tls12).await.is_err());
    handshake(server.port, &pki, tls13).await.unwrap();
    server.stop().await;

    let server = Server::start(&config(&pki, "    min_version: \"1.2\"\n", "")).await;
    handshake(server.port, &pki, tls12).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn enable_tls_without_certificate_and_key_fails_naming_them() {
    let mut cfg = grpckit::config::ServerConfig {
        enable_tls: true,
        ..Default::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let e = ServerBuilder::new(cfg.clone())
        .serve(listener, Shutdown::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("server.tls.cert_file"), "{e}");
    assert!(e.contains("server.tls.key_file"), "{e}");

    // A key that is not the certificate's is refused naming both keys.
    let pki = Pki::new();
    cfg.tls.cert_file = Some(pki.path("server.pem").into());
    cfg.tls.key_file = Some(pki.path("order.key").into());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let e = ServerBuilder::new(cfg)
        .serve(listener, Shutdown::new())
        .await
        .unwrap_err();
    let text = format!("{e}: {:?}", std::error::Error::source(&e));
    assert!(text.contains("server.tls.key_file"), "{text}");
}

fn python_grpcio() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import grpc, grpc_health.v1.health_pb2"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Python grpcio (an outside TLS stack: BoringSSL) checks health over TLS and over mTLS.
#[tokio::test]
async fn python_grpcio_checks_health_over_tls_and_mtls() {
    let Some(py) = python_grpcio() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python3 with grpcio and grpcio-health-checking is required under CI"
        );
        println!("SKIPPED: python3 grpcio/grpcio-health-checking not installed");
        return;
    };
    let pki = Pki::new();
    let ca = format!(
        "    client_ca_file: {}\n    client_auth: optional\n",
        pki.path("ca.pem")
    );
    let server = Server::start(&config(&pki, &ca, "")).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/tls_health.py");
    let port = server.port.to_string();
    let ca_file = pki.path("ca.pem");
    let run = |args: Vec<String>| {
        let py = py.to_owned();
        let script = script.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(py).arg(script).args(args).output().unwrap()
        })
    };
    let tls = run(vec![port.clone(), ca_file.clone()]).await.unwrap();
    let text =
        String::from_utf8_lossy(&tls.stdout).into_owned() + &String::from_utf8_lossy(&tls.stderr);
    assert!(tls.status.success(), "{text}");
    assert!(text.contains("SERVING"), "{text}");
    let mtls = run(vec![
        port,
        ca_file,
        pki.path("order.pem"),
        pki.path("order.key"),
    ])
    .await
    .unwrap();
    let text =
        String::from_utf8_lossy(&mtls.stdout).into_owned() + &String::from_utf8_lossy(&mtls.stderr);
    assert!(mtls.status.success(), "{text}");
    assert!(text.contains("SERVING"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn changed_certificate_files_serve_new_connections_and_broken_ones_are_refused() {
    let pki = Pki::new();
    let tls13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    let server = Server::start(&config(&pki, "", "")).await;
    let open = channel(server.port, &pki, None).await.unwrap();
    assert_eq!(check(open.clone()).await.unwrap(), ServingStatus::Serving);
    let first = pki.der("server.pem");
    assert_eq!(handshake(server.port, &pki, tls13).await.unwrap(), first);

    pki.write_server();
    let second = pki.der("server.pem");
    assert_ne!(first, second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while handshake(server.port, &pki, tls13).await.unwrap() != second {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate is served within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The connection opened before keeps working.
    assert_eq!(check(open.clone()).await.unwrap(), ServingStatus::Serving);

    // A corrupt replacement is refused: the previous certificate stays in force.
    pki.write(
        "server.pem",
        "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n",
    );
    let failures = || {
        grpckit::telemetry::metrics::global()
            .render()
            .lines()
            .find(|l| l.starts_with("grpckit_tls_reload_total{result=\"failure\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while failures() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failure is counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(handshake(server.port, &pki, tls13).await.unwrap(), second);
    assert_eq!(check(open).await.unwrap(), ServingStatus::Serving);
    let expiry = grpckit::telemetry::metrics::global().render();
    assert!(
        expiry.contains("grpckit_tls_cert_not_after_seconds "),
        "the expiry gauge is exported"
    );
    server.stop().await;
}

/// What a request carried: the peer address, how many peer certificates, the identity.
type Seen = (Option<std::net::SocketAddr>, Option<usize>, Option<String>);

#[tokio::test]
async fn requests_carry_the_peer_address_certificates_and_identity() {
    use grpckit::{middleware::auth::CertIdentity, server::OuterService};
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    use tower::ServiceExt;

    let pki = Pki::new();
    let ca = format!("    client_ca_file: {}\n", pki.path("ca.pem"));
    let cfg = config(&pki, &ca, "");
    let seen: Arc<std::sync::Mutex<Option<Seen>>> = Arc::default();
    let record = seen.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shutdown = Shutdown::new();
    let builder = ServerBuilder::new(cfg.server.clone()).layer_outer(tower::layer::layer_fn(
        move |inner: OuterService| {
            let record = record.clone();
            inner.map_request(move |req: http::Request<tonic::body::Body>| {
                let ext = req.extensions();
                *record.lock().unwrap() = Some((
                    ext.get::<TcpConnectInfo>()
                        .and_then(TcpConnectInfo::remote_addr),
                    ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                        .and_then(TlsConnectInfo::peer_certs)
                        .map(|c| c.len()),
                    ext.get::<CertIdentity>().map(|c| c.as_str().to_owned()),
                ));
                req
            })
        },
    ));
    let task = tokio::spawn(builder.serve(listener, shutdown.clone()));
    let ch = channel(port, &pki, Some("order")).await.unwrap();
    assert_eq!(check(ch).await.unwrap(), ServingStatus::Serving);
    let (peer, certs, id) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        peer.map(|p| p.ip().to_string()).as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(certs, Some(1), "the client's certificate");
    assert_eq!(id.as_deref(), Some(ORDER_ID));
    shutdown.trigger();
    task.await.unwrap().unwrap();
}

/// Whether `tool --version`-style `probe` runs; under `CI=true` a missing tool fails the
/// test, otherwise it is skipped with a note.
fn require(test: &str, tool: &str, probe: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{test}: {tool} is required under CI"
        );
        println!("SKIPPED {test}: {tool} not installed");
    }
    ok
}

/// `openssl s_client` (the system's OpenSSL, an outside TLS stack) connecting to `port`
/// with `args`; the cipher suite it negotiated, `None` when the handshake failed.
async fn s_client(port: u16, pki: &Pki, args: &[&str]) -> (Option<String>, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", "-CAfile", &pki.path("ca.pem")])
        .args(["-verify_return_error"])
        .args(args)
        .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || cmd.output().unwrap()),
    )
    .await
    .expect("openssl s_client ends within 30 s")
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" or "Cipher is (NONE)".
    let cipher = text
        .lines()
        .find_map(|l| {
            l.split_once(", Cipher is ")
                .map(|(_, c)| c.trim().to_owned())
        })
        .filter(|c| {
            c != "(NONE)" && out.status.success() && text.contains("Verify return code: 0 (ok)")
        });
    (cipher, text)
}

/// The TLS 1.3 minimum and the strong-suites-only policy as seen by OpenSSL: a TLS
/// 1.2-only client is refused unless `min_version: "1.2"`, and with TLS 1.2 only AEAD
/// suites with forward secrecy are negotiated (CBC and RSA key exchange suites are not).
#[tokio::test]
async fn openssl_tls_1_2_clients_get_strong_suites_only_and_only_when_allowed() {
    if !require(
        "openssl_tls_1_2_clients_get_strong_suites_only_and_only_when_allowed",
        "openssl",
        &["version"],
    ) {
        return;
    }
    let pki = Pki::new();

    let server = Server::start(&config(&pki, "", "")).await;
    let (tls13, text) = s_client(server.port, &pki, &[]).await;
    assert!(
        tls13.as_deref().is_some_and(|c| c.starts_with("TLS_")),
        "TLS 1.3 works: {text}"
    );
    let (tls12, text) = s_client(server.port, &pki, &["-tls1_2"]).await;
    assert_eq!(tls12, None, "TLS 1.2 is refused by default: {text}");
    server.stop().await;

    let server = Server::start(&config(&pki, "    min_version: \"1.2\"\n", "")).await;
    let (cipher, text) = s_client(server.port, &pki, &["-tls1_2"]).await;
    let cipher = cipher.unwrap_or_else(|| panic!("TLS 1.2 is accepted: {text}"));
    assert!(text.contains("TLSv1.2"), "{text}");
    assert!(
        cipher.starts_with("ECDHE-") && (cipher.contains("GCM") || cipher.contains("CHACHA20")),
        "an AEAD suite with forward secrecy: {cipher}"
    );
    // The control: a client offering one strong suite gets it.
    let (gcm, text) = s_client(
        server.port,
        &pki,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
    )
    .await;
    assert_eq!(
        gcm.as_deref(),
        Some("ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{text}"
    );
    // Weak suites are refused even when they are all the client offers: CBC with SHA-1
    // (for the server's ECDSA key), RSA key exchange without forward secrecy, 3DES.
    for weak in [
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA384",
        "AES128-SHA",
        "AES128-GCM-SHA256",
    ] {
        let (cipher, text) = s_client(
            server.port,
            &pki,
            &["-tls1_2", "-cipher", &format!("{weak}:@SECLEVEL=0")],
        )
        .await;
        assert!(
            !text.contains("no cipher match"),
            "OpenSSL offered {weak}: {text}"
        );
        assert_eq!(cipher, None, "{weak} must not be negotiated: {text}");
    }
    server.stop().await;
}

/// The admin port over HTTPS with `server.admin_tls`: `/metrics` and `/healthz` answer over
/// TLS (a rustls client and curl with the CA), plain HTTP gets no answer, and a new
/// certificate file is put in force without a restart.
#[tokio::test]
async fn admin_tls_serves_the_admin_port_over_https_only() {
    let pki = Pki::new();
    let mut cfg = grpckit::config::ServerConfig {
        address: "127.0.0.1".into(),
        port: 0,
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    cfg.admin_tls.cert_file = Some(pki.path("server.pem").into());
    cfg.admin_tls.key_file = Some(pki.path("server.key").into());
    let running = grpckit::server::start(ServerBuilder::new(cfg.clone()), Shutdown::new())
        .await
        .unwrap();
    let admin = running.admin_addr.port();

    let metrics = https_get(admin, &pki, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("# TYPE "), "Prometheus text: {metrics}");
    let health = https_get(admin, &pki, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // Plain HTTP to the admin port gets no HTTP answer.
    let plain = grpckit_plain_get(admin).await;
    assert!(
        !plain.contains("HTTP/1.1 200"),
        "plain HTTP served: {plain}"
    );

    if require(
        "admin_tls_serves_the_admin_port_over_https_only",
        "curl",
        &["--version"],
    ) {
        let curl = |url: String| {
            let ca = pki.path("ca.pem");
            tokio::task::spawn_blocking(move || {
                Command::new("curl")
                    .args(["-sS", "--max-time", "10", "--cacert", &ca, &url])
                    .output()
                    .unwrap()
            })
        };
        let ok = curl(format!("https://127.0.0.1:{admin}/metrics"))
            .await
            .unwrap();
        let text =
            String::from_utf8_lossy(&ok.stdout).into_owned() + &String::from_utf8_lossy(&ok.stderr);
        assert!(ok.status.success(), "curl https: {text}");
        assert!(text.contains("# TYPE "), "{text}");
        let plain = curl(format!("http://127.0.0.1:{admin}/metrics"))
            .await
            .unwrap();
        assert!(!plain.status.success(), "curl http must fail");
    }

    // The certificate file is watched like the gRPC port's.
    let first = pki.der("server.pem");
    assert_eq!(admin_cert(admin, &pki).await, first);
    pki.write_server();
    let second = pki.der("server.pem");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while admin_cert(admin, &pki).await != second {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new admin certificate is served within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::timeout(Duration::from_secs(15), running.stop())
        .await
        .unwrap()
        .unwrap();

    // A key file that cannot be read stops the start, naming the key.
    cfg.admin_tls.key_file = Some(pki.path("missing.key").into());
    let e = grpckit::server::start(ServerBuilder::new(cfg), Shutdown::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("server.admin_tls.key_file"), "{e}");
}

/// A rustls client config trusting `pki`'s CA.
fn client_config(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::pem::PemObject::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

async fn admin_tls_stream(
    port: u16,
    pki: &Pki,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(client_config(pki))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// The certificate (DER) the admin port shows.
async fn admin_cert(port: u16, pki: &Pki) -> Vec<u8> {
    let tls = admin_tls_stream(port, pki).await;
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// `GET path` over HTTPS/1.1; the whole response.
async fn https_get(port: u16, pki: &Pki, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tls = admin_tls_stream(port, pki).await;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

/// `GET /metrics` in plain HTTP; whatever comes back before the connection closes.
async fn grpckit_plain_get(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw)).await;
    String::from_utf8_lossy(&raw).into_owned()
}
