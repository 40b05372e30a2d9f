//! Auth over the network for all four call kinds, ownership, and request ids.

use futures::StreamExt;
use grpckit_app_test::{TestServer, authed, login, sign_up};
use grpckit_services::proto::{
    order::v1::{self as opb},
    user::v1::{self as upb},
};
use tonic::{Code, Request};

fn order_req(user_id: &str) -> opb::CreateOrderRequest {
    opb::CreateOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.into(),
        items: vec![opb::OrderItem {
            sku: "SKU-1".into(),
            quantity: 1,
            unit_price_minor: 100,
        }],
        currency: "USD".into(),
    }
}

/// `grpckit_auth_rejected_total{reason}` from a real scrape of `/metrics`.
async fn auth_rejected(srv: &TestServer, reason: &str) -> f64 {
    let text = grpckit_app_test::http_get(srv.admin_addr, "/metrics")
        .await
        .unwrap();
    let series = format!("grpckit_auth_rejected_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn anonymous_is_refused_for_all_call_kinds() {
    let srv = TestServer::start().await.unwrap();
    let rejected_before = auth_rejected(&srv, "unauthenticated").await;
    let mut users = srv.users().await;
    let mut orders = srv.orders().await;
    let unary = users
        .get_user(upb::GetUserRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(unary.code(), Code::Unauthenticated);
    let server_stream = users
        .stream_user_activity(upb::StreamUserActivityRequest {
            user_id: "x".into(),
            replay_last: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(server_stream.code(), Code::Unauthenticated);
    let items = futures::stream::iter(vec![order_req("x")]);
    let client_stream = orders.upload_orders(items).await.unwrap_err();
    assert_eq!(client_stream.code(), Code::Unauthenticated);
    let msgs = futures::stream::iter(vec![opb::ChatMessage {
        order_id: "x".into(),
        sender: "a".into(),
        text: String::new(),
    }]);
    let bidi = orders.chat(msgs).await.unwrap_err();
    assert_eq!(bidi.code(), Code::Unauthenticated);
    assert_eq!(
        bidi.message(),
        grpckit::middleware::auth::UNAUTHENTICATED_MSG
    );
    // Counted by reason (other tests in this process may add more).
    assert!(auth_rejected(&srv, "unauthenticated").await - rejected_before >= 4.0);
}

#[tokio::test]
async fn login_token_works_for_all_call_kinds_and_ownership_holds() {
    let srv = TestServer::start_with(|c| {
        c.auth.admin_email = "root@example.com".into();
        c.auth.admin_password = "root-password-1".into();
    })
    .await
    .unwrap();
    let mut users = srv.users().await;
    let mut orders = srv.orders().await;
    let a = sign_up(&mut users, "alice").await.unwrap();
    let b = sign_up(&mut users, "bob").await.unwrap();
    let admin = login(&mut users, "root@example.com", "root-password-1")
        .await
        .unwrap();

    // unary: own record yes, other's no, admin yes
    users
        .get_user(authed(upb::GetUserRequest { id: a.id.clone() }, &a.token))
        .await
        .unwrap();
    let e = users
        .get_user(authed(upb::GetUserRequest { id: b.id.clone() }, &a.token))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    users
        .get_user(authed(upb::GetUserRequest { id: b.id.clone() }, &admin))
        .await
        .unwrap();
    // ListUsers: admin only
    let e = users
        .list_users(authed(upb::ListUsersRequest::default(), &a.token))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    users
        .list_users(authed(upb::ListUsersRequest::default(), &admin))
        .await
        .unwrap();

    // orders: B's order is not A's business
    let e = orders
        .create_order(authed(order_req(&b.id), &a.token))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::PermissionDenied,
        "creating an order for someone else"
    );
    let ob = orders
        .create_order(authed(order_req(&b.id), &b.token))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let e = orders
        .get_order(authed(opb::GetOrderRequest { id: ob.id.clone() }, &a.token))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::PermissionDenied,
        "user A reads user B's order"
    );
    let e = orders
        .cancel_order(authed(
            opb::CancelOrderRequest {
                id: ob.id.clone(),
                reason: String::new(),
            },
            &a.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    orders
        .get_order(authed(opb::GetOrderRequest { id: ob.id.clone() }, &admin))
        .await
        .unwrap();
    // ListOrders of a normal user shows only their own orders
    let mine = orders
        .list_orders(authed(opb::ListOrdersRequest::default(), &a.token))
        .await
        .unwrap()
        .into_inner();
    assert!(mine.orders.iter().all(|o| o.user_id == a.id));

    // server streaming: own feed yes, other's no
    let mut feed = users
        .stream_user_activity(authed(
            upb::StreamUserActivityRequest {
                user_id: a.id.clone(),
                replay_last: 5,
            },
            &a.token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(feed.next().await.unwrap().is_ok());
    let e = users
        .stream_user_activity(authed(
            upb::StreamUserActivityRequest {
                user_id: b.id.clone(),
                replay_last: 1,
            },
            &a.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = orders
        .track_order(authed(
            opb::TrackOrderRequest {
                order_id: ob.id.clone(),
            },
            &a.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // client streaming: items for another user fail per item
    let items = futures::stream::iter(vec![order_req(&a.id), order_req(&b.id)]);
    let r = orders
        .upload_orders(authed(items, &a.token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.created_count, r.failed_count), (1, 1));
    assert_eq!(r.errors[0].code, "PERMISSION_DENIED");

    // bidi: A may not enter B's order room
    let msgs = futures::stream::iter(vec![opb::ChatMessage {
        order_id: ob.id.clone(),
        sender: "a".into(),
        text: "hi".into(),
    }]);
    let refused = orders.chat(authed(msgs, &a.token)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let srv = TestServer::start().await.unwrap();
    let mut users = srv.users().await;
    let mut req = Request::new(upb::LoginRequest {
        email: "nobody@example.com".into(),
        password: "whatever-1".into(),
    });
    req.metadata_mut()
        .insert("x-request-id", "my-req-42".parse().unwrap());
    let e = users.login(req).await.unwrap_err();
    assert_eq!(e.metadata().get("x-request-id").unwrap(), "my-req-42");
    let u = sign_up(&mut users, "rid").await.unwrap();
    let r = users
        .get_user(authed(upb::GetUserRequest { id: u.id }, &u.token))
        .await
        .unwrap();
    assert!(!r.metadata().get("x-request-id").unwrap().is_empty());
}

#[tokio::test]
async fn middleware_off_serves_without_auth() {
    let srv = TestServer::start_with(|c| c.middleware.enabled = false)
        .await
        .unwrap();
    let mut users = srv.users().await;
    users
        .list_users(upb::ListUsersRequest::default())
        .await
        .unwrap();
}
