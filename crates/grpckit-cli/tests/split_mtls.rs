//! Split mode over mutual TLS end to end: a UserService that requires client certificates
//! (certificates from `grpckit certs init`), an OrderService whose `client.tls` presents the
//! client certificate. Orders validate their user across the mTLS hop; without the client
//! certificate the hop fails and the order is refused as UNAVAILABLE.

use std::{path::Path, time::Duration};

use grpckit::config::{ClientAuth, ClientTlsConfig, ServerTlsConfig};
use grpckit_app_test::{TEST_PASSWORD, TestServer, authed, order_request};
use grpckit_cli::certs;
use grpckit_services::{
    config::ServiceName,
    proto::user::v1::{CreateUserRequest, LoginRequest, user_service_client::UserServiceClient},
};
use tonic::{
    Code,
    transport::{Certificate, Channel, Identity},
};

fn client_tls(dir: &Path, with_cert: bool) -> ClientTlsConfig {
    ClientTlsConfig {
        ca_file: Some(dir.join("ca.pem")),
        cert_file: with_cert.then(|| dir.join("client.pem")),
        key_file: with_cert.then(|| dir.join("client.key")),
        ..ClientTlsConfig::default()
    }
}

async fn order_server(users: &TestServer, dir: &Path, with_cert: bool) -> TestServer {
    let user_service = format!("https://127.0.0.1:{}", users.addr.port());
    let tls = client_tls(dir, with_cert);
    TestServer::start_with(move |c| {
        c.services.serve = vec![ServiceName::Order];
        c.services.user_service = user_service;
        c.client.tls = Some(tls);
        c.client.connection_timeout = Duration::from_secs(2);
    })
    .await
    .expect("order server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_service_reaches_user_service_over_mutual_tls() {
    let pki_dir = tempfile::tempdir().expect("tempdir");
    let dir = pki_dir.path().to_owned();
    let pki = certs::generate(&[], certs::DEFAULT_CLIENT_ID).expect("certificates");
    certs::write(&pki, &dir, false).expect("write certificates");

    let server_tls = ServerTlsConfig {
        cert_file: Some(dir.join("server.pem")),
        key_file: Some(dir.join("server.key")),
        client_ca_file: Some(dir.join("ca.pem")),
        client_auth: Some(ClientAuth::Required),
        ..ServerTlsConfig::default()
    };
    let users = TestServer::start_with(move |c| {
        c.services.serve = vec![ServiceName::User];
        c.server.enable_tls = true;
        c.server.tls = server_tls;
    })
    .await
    .expect("user server over mTLS");

    // Sign up and log in directly, over mTLS as well.
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("pem");
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem")))
        .domain_name("localhost")
        .identity(Identity::from_pem(read("client.pem"), read("client.key")));
    let ch = Channel::from_shared(format!("https://{}", users.addr))
        .expect("url")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("mTLS connection to the user server");
    let mut user_client = UserServiceClient::new(ch);
    let email = format!("mtls-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = user_client
        .create_user(CreateUserRequest {
            name: "mtls".into(),
            email: email.clone(),
            password: TEST_PASSWORD.into(),
        })
        .await
        .expect("sign up")
        .into_inner()
        .user
        .expect("user");
    let token = user_client
        .login(LoginRequest {
            email,
            password: TEST_PASSWORD.into(),
        })
        .await
        .expect("login")
        .into_inner()
        .access_token;

    let orders = order_server(&users, &dir, true).await;
    let created = orders
        .orders()
        .await
        .create_order(authed(
            order_request(&user.id, &uuid::Uuid::new_v4().to_string(), 1),
            &token,
        ))
        .await
        .expect("the order's user is checked over the mTLS hop");
    assert_eq!(created.into_inner().order.expect("order").user_id, user.id);

    // The same hop without a client certificate: the user server refuses the handshake.
    let no_cert = order_server(&users, &dir, false).await;
    let err = no_cert
        .orders()
        .await
        .create_order(authed(
            order_request(&user.id, &uuid::Uuid::new_v4().to_string(), 1),
            &token,
        ))
        .await
        .expect_err("no client certificate, no user lookup");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}
