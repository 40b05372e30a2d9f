//! Audit records for mutating calls and stream opens; passwords and tokens never appear in
//! the audit file or in the logs (captured at debug level).

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use grpckit::config::AuditSinkKind;
use grpckit_app_test::{TEST_PASSWORD, TestServer, authed, sign_up};
use grpckit_services::proto::{order::v1 as opb, user::v1 as upb};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn audit_records_without_secrets() {
    let logs = Buf::default();
    let w = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || w.clone())
        .init();

    // The file sink, explicitly (the default sink is stderr); the harness puts the file in
    // the server's temp dir.
    let srv = TestServer::start_with(|c| c.middleware.audit.sink = AuditSinkKind::File)
        .await
        .unwrap();
    let audit_path = srv.dir.as_ref().unwrap().path().join("audit.log");
    let mut users = srv.users().await;
    let mut orders = srv.orders().await;
    let u = sign_up(&mut users, "audited").await.unwrap();
    users
        .update_user(authed(
            upb::UpdateUserRequest {
                id: u.id.clone(),
                password: Some("new-secret-password".into()),
                ..Default::default()
            },
            &u.token,
        ))
        .await
        .unwrap();
    let o = orders
        .create_order(authed(
            opb::CreateOrderRequest {
                request_id: "r-1".into(),
                user_id: u.id.clone(),
                items: vec![opb::OrderItem {
                    sku: "S".into(),
                    quantity: 1,
                    unit_price_minor: 5,
                }],
                currency: "USD".into(),
            },
            &u.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let _ = orders
        .track_order(authed(
            opb::TrackOrderRequest {
                order_id: o.id.clone(),
            },
            &u.token,
        ))
        .await
        .unwrap();
    // A denied mutation is audited too.
    let _ = users
        .delete_user(upb::DeleteUserRequest { id: u.id.clone() })
        .await
        .unwrap_err();

    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&audit_path).unwrap_or_default();
        if text.lines().count() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |m: &str| {
        recs.iter()
            .find(|r| r["method"] == m)
            .unwrap_or_else(|| panic!("no record for {m}: {text}"))
    };
    assert!(recs.iter().all(|r| r["stream"] == "audit"), "{text}");
    let create = find("user.v1.UserService/CreateUser");
    assert_eq!(create["code"], "OK");
    assert_eq!(create["principal"], "anonymous");
    find("user.v1.UserService/Login");
    let upd = find("user.v1.UserService/UpdateUser");
    assert_eq!(upd["principal"], u.id.as_str());
    assert_eq!(upd["target"], u.id.as_str());
    assert_eq!(upd["auth"], "jwt");
    assert!(upd["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        upd["peer"]
            .as_str()
            .is_some_and(|s| s.starts_with("127.0.0.1"))
    );
    let co = find("order.v1.OrderService/CreateOrder");
    assert_eq!(
        co["target"],
        u.id.as_str(),
        "create: the owner is the target"
    );
    let tr = find("order.v1.OrderService/TrackOrder");
    assert_eq!(tr["target"], o.id.as_str());
    assert_eq!(tr["kind"], "server_streaming");
    let del = find("user.v1.UserService/DeleteUser");
    assert_eq!(del["code"], "UNAUTHENTICATED");
    assert!(
        recs.iter()
            .all(|r| r["method"] != "user.v1.UserService/GetUser"),
        "reads are not audited"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("grpckit::access"), "access lines are logged");
    for secret in [
        TEST_PASSWORD,
        "new-secret-password",
        u.token.as_str(),
        "test-secret-test-secret",
    ] {
        assert!(!text.contains(secret), "secret in audit: {secret}");
        assert!(!logs.contains(secret), "secret in logs: {secret}");
    }
}

#[tokio::test]
async fn audited_methods_and_target_fields_come_from_config() {
    let srv = TestServer::start_with(|c| {
        c.middleware.audit.methods = ["*/Get*", "user.v1.UserService/UpdateUser"]
            .map(|p| grpckit::config::MethodPattern::parse(p).unwrap())
            .to_vec();
        c.middleware.audit.target_fields = vec!["name".into()];
    })
    .await
    .unwrap();
    let audit_path = srv.dir.as_ref().unwrap().path().join("audit.log");
    let mut users = srv.users().await;
    let u = sign_up(&mut users, "configured").await.unwrap();
    users
        .get_user(authed(upb::GetUserRequest { id: u.id.clone() }, &u.token))
        .await
        .unwrap();
    users
        .update_user(authed(
            upb::UpdateUserRequest {
                id: u.id.clone(),
                name: Some("Renamed".into()),
                ..Default::default()
            },
            &u.token,
        ))
        .await
        .unwrap();
    let mut recs: Vec<serde_json::Value> = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(&audit_path).unwrap_or_default();
        recs = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if recs.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // CreateUser and Login (audited by the app's defaults) are not: the list replaced them.
    let methods: Vec<&str> = recs.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        [
            "user.v1.UserService/GetUser",
            "user.v1.UserService/UpdateUser"
        ],
        "{recs:?}"
    );
    // The target is the configured field: GetUserRequest has no `name`, UpdateUser's is set.
    assert!(
        recs[0].get("target").is_none_or(|t| t.is_null()),
        "{recs:?}"
    );
    assert_eq!(recs[1]["target"], "Renamed", "{recs:?}");
}
