//! The framework's client over TLS and mutual TLS (`client.tls`), and the CLI's `--cacert`,
//! `--cert`/`--key` and `--insecure`, against a TLS server stood up here with tonic's own
//! TLS (serving `grpc.health.v1` and reflection), with certificates from the generator of
//! `grpckit certs init`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use grpckit::{
    client::{BalancedChannel, ClientBuilder, ClientError},
    config::{ClientConfig, ClientTlsConfig},
};
use grpckit_cli::certs::{self, Pki};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A TLS server on 127.0.0.1:0 with health and reflection; `client_auth` requires a client
/// certificate signed by the PKI's CA. Runs until the test's runtime ends.
async fn tls_server(pki: &Pki, client_auth: bool) -> SocketAddr {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("reflection");
    let mut tls =
        ServerTlsConfig::new().identity(Identity::from_pem(&pki.server_cert, &pki.server_key));
    if client_auth {
        tls = tls.client_ca_root(Certificate::from_pem(&pki.ca_cert));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serve = Server::builder()
        .tls_config(tls)
        .expect("server TLS")
        .add_service(health)
        .add_service(reflection)
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(serve);
    addr
}

/// A PKI written to a fresh directory.
fn pki_in(dir: &Path) -> Pki {
    let pki = certs::generate(&[], certs::DEFAULT_CLIENT_ID).expect("generate");
    certs::write(&pki, dir, false).expect("write");
    pki
}

fn tls_config(dir: &Path, mtls: bool) -> ClientTlsConfig {
    ClientTlsConfig {
        ca_file: Some(dir.join("ca.pem")),
        cert_file: mtls.then(|| dir.join("client.pem")),
        key_file: mtls.then(|| dir.join("client.key")),
        ..ClientTlsConfig::default()
    }
}

fn channel(endpoint: String, tls: ClientTlsConfig) -> Result<BalancedChannel, ClientError> {
    let mut cfg = ClientConfig::default();
    cfg.retry.max_attempts = 1;
    cfg.connection_timeout = std::time::Duration::from_secs(5);
    ClientBuilder::new(cfg).endpoint(endpoint).tls(tls).build()
}

async fn check(ch: BalancedChannel) -> Result<ServingStatus, tonic::Status> {
    let r = HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(r.into_inner().status())
}

/// The whole error text, sources included.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    grpckit::ErrorChain(e).to_string()
}

#[tokio::test]
async fn balanced_client_speaks_tls_and_mutual_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki_in(dir.path());

    // TLS: the server certificate is checked against ca_file, by IP and by name.
    let addr = tls_server(&pki, false).await;
    let ch = channel(addr.to_string(), tls_config(dir.path(), false)).expect("build");
    assert_eq!(check(ch).await.expect("TLS call"), ServingStatus::Serving);
    let by_name = format!("https://localhost:{}", addr.port());
    let ch = channel(by_name, tls_config(dir.path(), false)).expect("build");
    assert_eq!(
        check(ch).await.expect("TLS by name"),
        ServingStatus::Serving
    );

    // insecure_skip_verify: any server certificate (no CA file needed).
    let insecure = ClientTlsConfig {
        insecure_skip_verify: true,
        ..ClientTlsConfig::default()
    };
    let ch = channel(addr.to_string(), insecure).expect("build");
    assert_eq!(
        check(ch).await.expect("insecure TLS"),
        ServingStatus::Serving
    );

    // A plaintext client cannot talk to the TLS port.
    let plain = ClientBuilder::new(ClientConfig::default())
        .endpoint(addr.to_string())
        .build()
        .expect("build");
    assert!(check(plain).await.is_err());

    // mTLS: the server requires a client certificate from the same CA.
    let addr = tls_server(&pki, true).await;
    let ch = channel(addr.to_string(), tls_config(dir.path(), true)).expect("build");
    assert_eq!(check(ch).await.expect("mTLS call"), ServingStatus::Serving);

    // ... and refuses a client without one.
    let ch = channel(addr.to_string(), tls_config(dir.path(), false)).expect("build");
    let status = check(ch).await.expect_err("no client certificate");
    assert_ne!(status.code(), tonic::Code::Ok, "{status:?}");
}

#[tokio::test]
async fn a_server_from_another_ca_fails_the_handshake_clearly() {
    let (ours, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    pki_in(ours.path());
    let other = pki_in(theirs.path());
    let addr = tls_server(&other, false).await;
    let ch = channel(addr.to_string(), tls_config(ours.path(), false)).expect("build");
    let status = check(ch).await.expect_err("unknown issuer");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let text = format!("{} {}", status.message(), chain(&status));
    assert!(
        text.contains("invalid peer certificate") && text.contains("UnknownIssuer"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_tls_files_fail_the_build_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    pki_in(dir.path());
    let mut tls = tls_config(dir.path(), true);
    tls.key_file = Some(dir.path().join("missing.key"));
    let e = channel("127.0.0.1:1".into(), tls).expect_err("missing key file");
    let text = chain(&e);
    assert!(text.contains("client.tls.key_file"), "{text}");
    assert!(text.contains("missing.key"), "{text}");

    // A certificate with somebody else's key.
    let mut tls = tls_config(dir.path(), true);
    tls.key_file = Some(dir.path().join("server.key"));
    let e = channel("127.0.0.1:1".into(), tls).expect_err("mismatched key");
    assert!(chain(&e).contains("client.tls.cert_file/key_file"), "{e}");

    // https:// needs client.tls.
    let e = ClientBuilder::new(ClientConfig::default())
        .endpoint("https://127.0.0.1:1")
        .build()
        .expect_err("no TLS config");
    assert!(matches!(e, ClientError::TlsRequired(_)), "{e:?}");
}

fn grpckit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args(args)
        .env_remove("GRPCKIT_ADDR")
        .output()
        .expect("run grpckit")
}

async fn grpckit_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        grpckit(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .expect("join")
}

fn path(dir: &Path, f: &str) -> String {
    PathBuf::from(dir).join(f).display().to_string()
}

#[tokio::test]
async fn cli_flags_use_the_same_connector() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki_in(d);
    let tls = tls_server(&pki, false).await;
    let mtls = tls_server(&pki, true).await;
    let call = |addr: SocketAddr, extra: &[String]| {
        let mut a: Vec<String> = vec![
            "call".into(),
            "--addr".into(),
            format!("localhost:{}", addr.port()),
        ];
        a.extend(extra.iter().cloned());
        a.push("grpc.health.v1.Health/Check".into());
        a
    };
    let ca = vec!["--cacert".to_owned(), path(d, "ca.pem")];
    let out = grpckit_async(call(tls, &ca)).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SERVING"),
        "{out:?}"
    );

    let insecure = vec!["--insecure".to_owned()];
    let out = grpckit_async(call(tls, &insecure)).await;
    assert!(out.status.success(), "{out:?}");

    let mut mutual = ca.clone();
    mutual.extend([
        "--cert".into(),
        path(d, "client.pem"),
        "--key".into(),
        path(d, "client.key"),
    ]);
    let out = grpckit_async(call(mtls, &mutual)).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SERVING"),
        "{out:?}"
    );

    // --servername: the certificate has no such name.
    let mut wrong_name = ca.clone();
    wrong_name.extend(["--servername".into(), "elsewhere.example".into()]);
    let out = grpckit_async(call(tls, &wrong_name)).await;
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid peer certificate"), "{err}");

    // A missing CA file is named.
    let missing = vec!["--cacert".to_owned(), path(d, "nope.pem")];
    let out = grpckit_async(call(tls, &missing)).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("nope.pem"), "{err}");
}
