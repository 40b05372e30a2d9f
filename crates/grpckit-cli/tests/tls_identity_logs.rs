//! A call authorised by its TLS client certificate alone (mTLS, no token: the certificate's
//! SPIFFE ID is bound to the `service` role) is logged and audited under that identity: the
//! access line and the audit record of the real `grpckit server` process name the SPIFFE
//! URI as the principal (auth method `certificate`).

use std::time::{Duration, Instant};

use grpckit_app_test::{ServerProcess, TestPki, create_user_request};
use grpckit_services::proto::{
    order::v1::order_service_client::OrderServiceClient,
    user::v1::user_service_client::UserServiceClient,
};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const ORDER_ID: &str = "spiffe://example.org/ns/prod/sa/order";
const BILLING_ID: &str = "spiffe://example.org/ns/prod/sa/billing";
const CREATE_ORDER: &str = "order.v1.OrderService/CreateOrder";

async fn mtls_channel(p: &ServerProcess, pki: &TestPki, client: &str) -> Channel {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.ca_pem()))
        .domain_name("localhost")
        .identity(Identity::from_pem(
            pki.read(&format!("{client}.pem")).unwrap(),
            pki.read(&format!("{client}.key")).unwrap(),
        ));
    Channel::from_shared(format!("https://{}", p.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Stderr lines as JSON, collected until `done` holds for them (at most 10 s).
fn collect_until(
    p: &mut ServerProcess,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        lines.extend(
            p.drain_logs()
                .iter()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
        );
        if done(&lines) {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("expected line never came: {lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_and_audit_lines_name_the_client_certificate_identity() {
    let pki = TestPki::new().unwrap();
    pki.write_server(1).unwrap();
    pki.write_client("order", ORDER_ID).unwrap();
    pki.write_client("billing", BILLING_ID).unwrap();
    // Every call gets an access line; the audit trail goes to stderr (the default).
    let config = format!(
        "server:
  enable_tls: true
  tls:
    cert_file: {}
    key_file: {}
    client_ca_file: {}
    client_auth: optional
middleware:
  log:
    success_sample: 1.0
  auth:
    bindings:
      - principal: \"{ORDER_ID}\"
        roles: [service]
",
        pki.path("server.pem").display(),
        pki.path("server.key").display(),
        pki.path("ca.pem").display(),
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

    // Sign-up is public; the order is then created with nothing but the certificate.
    let email = format!("cert-{}@example.com", uuid::Uuid::new_v4().simple());
    let user_id = UserServiceClient::new(mtls_channel(&p, &pki, "order").await)
        .create_user(create_user_request(&email))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .id;
    let request_id = uuid::Uuid::new_v4().to_string();
    let order = OrderServiceClient::new(mtls_channel(&p, &pki, "order").await)
        .create_order(grpckit_app_test::order_request(&user_id, &request_id, 1))
        .await
        .expect("the certificate's role binding authorises CreateOrder")
        .into_inner()
        .order
        .unwrap();
    // A certificate without a binding has no role: refused, and audited as itself too.
    let refused = OrderServiceClient::new(mtls_channel(&p, &pki, "billing").await)
        .create_order(grpckit_app_test::order_request(
            &user_id,
            &uuid::Uuid::new_v4().to_string(),
            1,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    let is_audit = |v: &serde_json::Value, id: &str| {
        v["stream"] == "audit" && v["method"] == CREATE_ORDER && v["principal"] == id
    };
    let is_access = |v: &serde_json::Value, id: &str| {
        v["message"] == "call" && v["method"] == CREATE_ORDER && v["principal"] == id
    };
    // The refused call comes last; the audit trail and the access log are written apart.
    let lines = collect_until(&mut p, |lines| {
        lines.iter().any(|v| is_audit(v, BILLING_ID))
            && lines.iter().any(|v| is_access(v, BILLING_ID))
    });
    let access = lines
        .iter()
        .find(|v| is_access(v, ORDER_ID))
        .unwrap_or_else(|| panic!("access line of CreateOrder: {lines:#?}"));
    assert_eq!(access["code"], "OK", "{access}");
    let audit = lines
        .iter()
        .find(|v| is_audit(v, ORDER_ID))
        .unwrap_or_else(|| panic!("audit record of CreateOrder: {lines:#?}"));
    assert_eq!(audit["auth"], "certificate", "{audit}");
    assert_eq!(audit["code"], "OK", "{audit}");
    assert_eq!(audit["target"], order.user_id, "{audit}");
    let denied = lines
        .iter()
        .find(|v| is_audit(v, BILLING_ID))
        .unwrap_or_else(|| panic!("audit record of the refused call: {lines:#?}"));
    assert_eq!(denied["code"], "PERMISSION_DENIED", "{denied}");
    let denied_access = lines
        .iter()
        .find(|v| is_access(v, BILLING_ID))
        .unwrap_or_else(|| panic!("access line of the refused call: {lines:#?}"));
    assert_eq!(
        denied_access["code"], "PERMISSION_DENIED",
        "{denied_access}"
    );

    p.terminate().unwrap();
    p.wait_exit(Duration::from_secs(15)).unwrap();
}
