//! Certificate reload in the real `grpckit server` process, with a bidirectional `Chat`
//! stream open over TLS the whole time: a replacement put in force by SIGHUP alone (the
//! file watch cannot see it), one put in force by the file watch, and a corrupt one that is
//! refused (`grpckit_tls_reload_total{result="failure"}`) while the previous certificate
//! keeps serving. Which certificate a new connection sees is told by its serial number.

use std::{path::Path, sync::Arc, time::Duration};

use grpckit_app_test::{ServerProcess, TestPki, authed, http_get, order_request, sign_up};
use grpckit_services::proto::{
    order::v1::{ChatEvent, ChatEventKind, ChatMessage, order_service_client::OrderServiceClient},
    user::v1::user_service_client::UserServiceClient,
};
use tokio::sync::mpsc;
use tonic::{
    Streaming,
    transport::{Certificate, Channel, ClientTlsConfig},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// Certificate and key files are padded to these sizes, so a replacement can keep the
/// size (and, written beside and renamed over, the modification time) of the file it
/// replaces: the file watch then cannot tell them apart.
const CERT_SIZE: usize = 4096;
const KEY_SIZE: usize = 1024;

fn padded(text: &str, size: usize) -> String {
    assert!(text.len() < size, "{} bytes do not fit {size}", text.len());
    format!("{text}{}", "\n".repeat(size - text.len()))
}

/// Replaces `path` with `text` (of the same size) keeping its modification time, in one
/// rename: nothing the file watch compares changes.
fn replace_unseen(path: &Path, text: &str) {
    let old = std::fs::metadata(path).unwrap();
    assert_eq!(old.len(), text.len() as u64, "same size");
    let tmp = path.with_extension("next");
    std::fs::write(&tmp, text).unwrap();
    let f = std::fs::File::options().write(true).open(&tmp).unwrap();
    f.set_modified(old.modified().unwrap()).unwrap();
    drop(f);
    std::fs::rename(&tmp, path).unwrap();
    let new = std::fs::metadata(path).unwrap();
    assert_eq!(
        (new.len(), new.modified().unwrap()),
        (old.len(), old.modified().unwrap()),
        "the watch sees the same size and modification time"
    );
}

/// The serial number of the certificate a new TLS connection to `addr` is shown.
async fn served_serial(addr: std::net::SocketAddr, pki: &TestPki) -> u64 {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::pem::PemObject::from_pem_slice(pki.ca_pem().as_bytes()).unwrap())
        .unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .unwrap();
    let der = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    cert.tbs_certificate
        .raw_serial()
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

/// Waits (at most 10 s) until new connections are shown the certificate `serial`.
async fn wait_serial(addr: std::net::SocketAddr, pki: &TestPki, serial: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = served_serial(addr, pki).await;
        if now == serial {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "serial {serial} not served within 10 s (still {now})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn tls_channel(addr: std::net::SocketAddr, pki: &TestPki) -> Channel {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.ca_pem()))
        .domain_name("localhost");
    Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// One side of a chat: what it sends and the events it receives.
struct Participant {
    name: &'static str,
    out: mpsc::Sender<ChatMessage>,
    events: Streaming<ChatEvent>,
}

impl Participant {
    /// Opens a `Chat` stream on its own TLS connection and joins the order's room.
    async fn join(
        addr: std::net::SocketAddr,
        pki: &TestPki,
        token: &str,
        order_id: &str,
        name: &'static str,
    ) -> Self {
        let (out, rx) = mpsc::channel(16);
        out.send(ChatMessage {
            order_id: order_id.into(),
            sender: name.into(),
            text: String::new(),
        })
        .await
        .unwrap();
        let outbound =
            futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|m| (m, rx)) });
        let mut orders = OrderServiceClient::new(tls_channel(addr, pki).await);
        let events = orders
            .chat(authed(outbound, token))
            .await
            .unwrap()
            .into_inner();
        Self { name, out, events }
    }

    async fn say(&self, text: &str) {
        self.out
            .send(ChatMessage {
                order_id: String::new(),
                sender: self.name.into(),
                text: text.into(),
            })
            .await
            .expect("the chat stream is open");
    }

    /// Waits (at most 10 s) for an event of `kind` with `text`, skipping others.
    async fn expect(&mut self, kind: ChatEventKind, text: &str) {
        let wait = async {
            loop {
                let ev = self
                    .events
                    .message()
                    .await
                    .expect("the chat stream stays open")
                    .expect("the chat stream has not ended");
                if ev.kind == kind as i32 && ev.text == text {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{}: no {kind:?} '{text}' within 10 s", self.name));
    }
}

/// Both directions of the chat still carry messages.
async fn exchange(alice: &mut Participant, bob: &mut Participant, label: &str) {
    let a = format!("alice {label}");
    alice.say(&a).await;
    bob.expect(ChatEventKind::Message, &a).await;
    let b = format!("bob {label}");
    bob.say(&b).await;
    alice.expect(ChatEventKind::Message, &b).await;
}

fn reload_failures(metrics: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with("grpckit_tls_reload_total{result=\"failure\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_reload_on_sighup_and_file_change_while_a_chat_stays_open() {
    let pki = TestPki::new().unwrap();
    let (cert, key) = pki.server_cert(1001).unwrap();
    pki.write("server.pem", &padded(&cert, CERT_SIZE)).unwrap();
    pki.write("server.key", &padded(&key, KEY_SIZE)).unwrap();
    let config = format!(
        "server:\n  enable_tls: true\n  tls:\n    cert_file: {}\n    key_file: {}\n{}",
        pki.path("server.pem").display(),
        pki.path("server.key").display(),
        grpckit_app_test::roomy_rate_rules_yaml(),
    );
    pki.write("grpckit.yaml", &config).unwrap();
    let cfg = pki.path("grpckit.yaml");
    let mut p = ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", cfg.to_str().unwrap()],
        &[],
        &pki.path(""),
    )
    .unwrap();
    let addr = p.addr;
    assert_eq!(served_serial(addr, &pki).await, 1001);

    // A user, an order, and two participants chatting in its room.
    let mut users = UserServiceClient::new(tls_channel(addr, &pki).await);
    let user = sign_up(&mut users, "tls-reload").await.unwrap();
    let order = OrderServiceClient::new(tls_channel(addr, &pki).await)
        .create_order(authed(
            order_request(&user.id, &uuid::Uuid::new_v4().to_string(), 1),
            &user.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let mut alice = Participant::join(addr, &pki, &user.token, &order.id, "alice").await;
    let mut bob = Participant::join(addr, &pki, &user.token, &order.id, "bob").await;
    alice.expect(ChatEventKind::Joined, "bob joined").await;
    exchange(&mut alice, &mut bob, "before any reload").await;

    // 1. SIGHUP alone: the replacement keeps size and modification time, so the watch
    //    (every 250 ms) does not see it; only the signal puts it in force.
    let (cert, key) = pki.server_cert(1002).unwrap();
    replace_unseen(&pki.path("server.pem"), &padded(&cert, CERT_SIZE));
    replace_unseen(&pki.path("server.key"), &padded(&key, KEY_SIZE));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        served_serial(addr, &pki).await,
        1001,
        "the file watch cannot see this replacement"
    );
    p.signal("HUP").unwrap();
    let line = p
        .wait_log("TLS certificate files read again", Duration::from_secs(10))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["trigger"], "SIGHUP", "{line}");
    assert_eq!(v["port"], "grpc", "{line}");
    assert_eq!(v["level"], "INFO", "{line}");
    wait_serial(addr, &pki, 1002).await;
    exchange(&mut alice, &mut bob, "after the SIGHUP reload").await;

    // 2. The file watch: new files written in place are put in force.
    pki.write_server(1003).unwrap();
    wait_serial(addr, &pki, 1003).await;
    let line = p
        .wait_log("TLS certificate files read again", Duration::from_secs(10))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["trigger"], "file change", "{line}");
    exchange(&mut alice, &mut bob, "after the file reload").await;

    // 3. A corrupt certificate is refused: counted, and the previous one still serves.
    let before = reload_failures(&http_get(p.admin_addr, "/metrics").await.unwrap());
    pki.write(
        "server.pem",
        "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reload_failures(&http_get(p.admin_addr, "/metrics").await.unwrap()) <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refused reload is counted within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = p
        .wait_log("cannot be used", Duration::from_secs(10))
        .unwrap();
    assert!(line.contains("server.tls.cert_file"), "{line}");
    assert_eq!(served_serial(addr, &pki).await, 1003);
    let status = HealthClient::new(tls_channel(addr, &pki).await)
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving, "new connections are served");
    exchange(&mut alice, &mut bob, "after the refused reload").await;

    drop((alice, bob));
    p.terminate().unwrap();
    p.wait_exit(Duration::from_secs(15)).unwrap();
}
