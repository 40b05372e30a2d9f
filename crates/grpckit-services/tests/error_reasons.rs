//! Stable error reasons over the network: every refusal a client branches on carries a
//! `google.rpc.ErrorInfo{reason, domain}`, next to the details it had before (BadRequest,
//! RetryInfo). The tables in docs/errors.md list exactly the reasons in code.

use std::time::Duration;

use grpckit::config::RateRule;
use grpckit_app_test::{TestServer, authed, create_user_request};
use grpckit_services::proto::{order::v1 as orderpb, user::v1 as pb};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Asserts the code and the `ErrorInfo` of `st`.
#[track_caller]
fn assert_reason(st: &Status, code: Code, domain: &str, reason: &str) {
    assert_eq!(st.code(), code, "{st:?}");
    let info = st.get_details_error_info().expect("ErrorInfo detail");
    assert_eq!(
        (info.domain.as_str(), info.reason.as_str()),
        (domain, reason),
        "{st:?}"
    );
}

#[tokio::test]
async fn user_service_reasons() {
    let srv = TestServer::start_open().await.unwrap();
    let mut c = srv.users().await;
    c.create_user(create_user_request("ada@example.com"))
        .await
        .unwrap();

    let e = c
        .create_user(create_user_request("ADA@example.com"))
        .await
        .unwrap_err();
    assert_reason(&e, Code::AlreadyExists, "user.v1", "EMAIL_TAKEN");

    let e = c
        .get_user(pb::GetUserRequest {
            id: "missing".into(),
        })
        .await
        .unwrap_err();
    assert_reason(&e, Code::NotFound, "user.v1", "USER_NOT_FOUND");

    // Field errors: the BadRequest detail stays, the reason is the framework's.
    let e = c
        .create_user(pb::CreateUserRequest {
            name: " ".into(),
            email: "nope".into(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_reason(&e, Code::InvalidArgument, "grpckit", "INVALID_FIELDS");
    assert!(
        !e.get_details_bad_request()
            .unwrap()
            .field_violations
            .is_empty()
    );

    // An unknown email and a wrong password are indistinguishable.
    let login = |email: &str, password: &str| pb::LoginRequest {
        email: email.into(),
        password: password.into(),
    };
    let unknown = c
        .login(login("nobody@example.com", "password-123"))
        .await
        .unwrap_err();
    let wrong = c
        .login(login("ada@example.com", "wrong-password"))
        .await
        .unwrap_err();
    for e in [&unknown, &wrong] {
        assert_reason(e, Code::Unauthenticated, "user.v1", "BAD_CREDENTIALS");
    }
    assert_eq!(unknown.message(), wrong.message());
}

#[tokio::test]
async fn order_service_reasons() {
    let srv = TestServer::start_open_with(|c| c.logistics.enabled = false)
        .await
        .unwrap();
    let uid = srv
        .users()
        .await
        .create_user(create_user_request("buyer@example.com"))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .id;
    let mut c = srv.orders().await;
    let create = |request_id: &str, qty: u32| orderpb::CreateOrderRequest {
        request_id: request_id.into(),
        user_id: uid.clone(),
        items: vec![orderpb::OrderItem {
            sku: "BOOK".into(),
            quantity: qty,
            unit_price_minor: 1999,
        }],
        currency: String::new(),
    };
    let o = c
        .create_order(create("r-1", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();

    let e = c.create_order(create("r-1", 2)).await.unwrap_err();
    assert_reason(&e, Code::AlreadyExists, "order.v1", "IDEMPOTENCY_CONFLICT");

    c.cancel_order(orderpb::CancelOrderRequest {
        id: o.id.clone(),
        reason: "changed my mind".into(),
    })
    .await
    .unwrap();
    let pay = |id: &str| orderpb::PayOrderRequest {
        id: id.into(),
        amount_minor: 0,
        payment_method: "card".into(),
    };
    let e = c.pay_order(pay(&o.id)).await.unwrap_err();
    assert_reason(
        &e,
        Code::FailedPrecondition,
        "order.v1",
        "ORDER_NOT_PAYABLE",
    );

    let e = c
        .cancel_order(orderpb::CancelOrderRequest {
            id: o.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_reason(
        &e,
        Code::FailedPrecondition,
        "order.v1",
        "ORDER_NOT_CANCELLABLE",
    );

    let e = c.pay_order(pay("missing")).await.unwrap_err();
    assert_reason(&e, Code::NotFound, "order.v1", "ORDER_NOT_FOUND");
}

#[tokio::test]
async fn auth_reasons() {
    let srv = TestServer::start().await.unwrap();
    let mut c = srv.users().await;
    let get = || pb::GetUserRequest { id: "x".into() };

    let e = c.get_user(get()).await.unwrap_err();
    assert_reason(&e, Code::Unauthenticated, "grpckit", "TOKEN_MISSING");

    let e = c.get_user(authed(get(), "not-a-jwt")).await.unwrap_err();
    assert_reason(&e, Code::Unauthenticated, "grpckit", "TOKEN_INVALID");

    // A well-signed token that expired an hour ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "u1", "roles": ["user"], "iss": "grpckit", "aud": "grpckit",
        "iat": now - 7200, "exp": now - 3600,
    });
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"test-secret-test-secret-test-secret"),
    )
    .unwrap();
    let e = c.get_user(authed(get(), &expired)).await.unwrap_err();
    assert_reason(&e, Code::Unauthenticated, "grpckit", "TOKEN_EXPIRED");
    // The message stays generic: only the reason tells the cases apart.
    assert_eq!(e.message(), grpckit::middleware::auth::UNAUTHENTICATED_MSG);

    // A plain user may not list users.
    let u = grpckit_app_test::sign_up(&mut c, "lister").await.unwrap();
    let e = c
        .list_users(authed(pb::ListUsersRequest::default(), &u.token))
        .await
        .unwrap_err();
    assert_reason(&e, Code::PermissionDenied, "grpckit", "ROLE_FORBIDDEN");

    // Someone else's user: the service's ownership check.
    let other = grpckit_app_test::sign_up(&mut c, "other").await.unwrap();
    let e = c
        .delete_user(authed(
            pb::DeleteUserRequest {
                id: other.id.clone(),
            },
            &u.token,
        ))
        .await
        .unwrap_err();
    assert_reason(&e, Code::PermissionDenied, "user.v1", "NOT_OWNER");
}

#[tokio::test]
async fn rate_limit_reason_keeps_retry_info() {
    let srv = TestServer::start_open_with(|c| {
        c.middleware.rate_limit.rules = vec![RateRule {
            methods: grpckit::config::MethodPattern::parse("user.v1.UserService/GetUser").unwrap(),
            per_second: 1,
            burst: 1,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent: 0,
        }];
    })
    .await
    .unwrap();
    let mut c = srv.users().await;
    let get = || pb::GetUserRequest {
        id: "missing".into(),
    };
    let _ = c.get_user(get()).await;
    let e = c.get_user(get()).await.unwrap_err();
    assert_reason(&e, Code::ResourceExhausted, "grpckit", "RATE_LIMITED");
    assert!(e.get_details_retry_info().is_some(), "RetryInfo kept");
}

/// Every reason in code is in docs/errors.md, and every reason row there exists in code.
#[test]
fn docs_list_every_reason() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
        .unwrap();
    let in_code: Vec<(&str, &str)> = grpckit::reason::ALL
        .iter()
        .chain(grpckit_services::reasons::ALL)
        .map(|r| (r.domain(), r.reason()))
        .collect();
    // Rows look like `| CODE | `REASON` | `domain` | meaning |`.
    let mut in_doc = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(reason), Some(domain)) = (cells.get(2), cells.get(3)) else {
            continue;
        };
        let (Some(reason), Some(domain)) = (
            reason.strip_prefix('`').and_then(|r| r.strip_suffix('`')),
            domain.strip_prefix('`').and_then(|d| d.strip_suffix('`')),
        ) else {
            continue;
        };
        in_doc.push((domain.to_owned(), reason.to_owned()));
    }
    for (d, r) in &in_code {
        assert!(
            in_doc.iter().any(|(dd, rr)| dd == d && rr == r),
            "{d} {r} missing from docs/errors.md"
        );
    }
    for (d, r) in &in_doc {
        assert!(
            in_code.contains(&(d.as_str(), r.as_str())),
            "docs/errors.md lists {d} {r}, which no code produces"
        );
    }
}
