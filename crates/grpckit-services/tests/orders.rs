//! OrderService over the network: state machine, idempotent create, pagination, errors.

use grpckit_app_test::TestServer;
use grpckit_services::proto::order::v1::{self as pb, OrderStatus};
use tonic::Code;
use tonic_types::StatusExt;

fn create(user_id: &str, request_id: &str, qty: u32) -> pb::CreateOrderRequest {
    pb::CreateOrderRequest {
        request_id: request_id.into(),
        user_id: user_id.into(),
        items: vec![
            pb::OrderItem {
                sku: "BOOK".into(),
                quantity: qty,
                unit_price_minor: 1999,
            },
            pb::OrderItem {
                sku: "PEN".into(),
                quantity: 3,
                unit_price_minor: 150,
            },
        ],
        currency: String::new(),
    }
}

#[tokio::test]
async fn lifecycle_and_state_machine() {
    let srv = TestServer::start_open_with(|c| c.logistics.enabled = false)
        .await
        .unwrap();
    let uid = srv.create_user("buyer@example.com").await;
    let mut c = srv.orders().await;

    let o = c
        .create_order(create(&uid, "r-1", 2))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(o.status, OrderStatus::Created as i32);
    assert_eq!(o.total_minor, 2 * 1999 + 3 * 150, "integer minor units");
    assert_eq!(o.currency, "USD");
    let got = c
        .get_order(pb::GetOrderRequest { id: o.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(got, o);

    // Pay with the wrong amount, then right; paying twice is illegal.
    let e = c
        .pay_order(pb::PayOrderRequest {
            id: o.id.clone(),
            amount_minor: 1,
            payment_method: "card".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let paid = c
        .pay_order(pb::PayOrderRequest {
            id: o.id.clone(),
            amount_minor: o.total_minor,
            payment_method: "card".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paid.order.unwrap().status, OrderStatus::Paid as i32);
    assert!(paid.payment_id.starts_with("pay_"));
    let e = c
        .pay_order(pb::PayOrderRequest {
            id: o.id.clone(),
            amount_minor: 0,
            payment_method: "card".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("PAID"), "{}", e.message());

    // PAID -> CANCELLED is allowed, then nothing else.
    let cancelled = c
        .cancel_order(pb::CancelOrderRequest {
            id: o.id.clone(),
            reason: "oops".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled as i32);
    for e in [
        c.cancel_order(pb::CancelOrderRequest {
            id: o.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err(),
        c.pay_order(pb::PayOrderRequest {
            id: o.id.clone(),
            amount_minor: 0,
            payment_method: String::new(),
        })
        .await
        .unwrap_err(),
    ] {
        assert_eq!(e.code(), Code::FailedPrecondition);
    }

    // Missing ids and unknown users.
    assert_eq!(
        c.get_order(pb::GetOrderRequest { id: "nope".into() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        c.pay_order(pb::PayOrderRequest {
            id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    assert_eq!(
        c.cancel_order(pb::CancelOrderRequest {
            id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    let e = c
        .create_order(create("no-such-user", "r-x", 1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn shipped_orders_cannot_be_cancelled() {
    let srv = TestServer::start_open().await.unwrap();
    let uid = srv.create_user("ship@example.com").await;
    let mut c = srv.orders().await;
    let o = c
        .create_order(create(&uid, "r-ship", 1))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    c.pay_order(pb::PayOrderRequest {
        id: o.id.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    // The simulator (100 ms steps in tests) moves it on; wait until it left PAID.
    let mut status = OrderStatus::Paid as i32;
    for _ in 0..200 {
        status = c
            .get_order(pb::GetOrderRequest { id: o.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .order
            .unwrap()
            .status;
        if status != OrderStatus::Paid as i32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(status == OrderStatus::Shipped as i32 || status == OrderStatus::Delivered as i32);
    let e = c
        .cancel_order(pb::CancelOrderRequest {
            id: o.id,
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn validation_reports_every_field() {
    let srv = TestServer::start_open().await.unwrap();
    let mut c = srv.orders().await;
    let e = c
        .create_order(pb::CreateOrderRequest {
            request_id: String::new(),
            user_id: String::new(),
            items: vec![pb::OrderItem {
                sku: String::new(),
                quantity: 0,
                unit_price_minor: -5,
            }],
            currency: "euro".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let fields: Vec<_> = e
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    for f in [
        "request_id",
        "user_id",
        "currency",
        "items[0].sku",
        "items[0].quantity",
        "items[0].unit_price_minor",
    ] {
        assert!(fields.iter().any(|x| x == f), "missing {f} in {fields:?}");
    }
    let e = c
        .create_order(pb::CreateOrderRequest {
            request_id: "r".into(),
            user_id: "u".into(),
            items: vec![],
            currency: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn create_order_is_idempotent_under_concurrent_duplicates() {
    let srv = TestServer::start_open().await.unwrap();
    let uid = srv.create_user("dup@example.com").await;
    let req = create(&uid, "same-request-id", 1);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (mut c, req) = (srv.orders().await, req.clone());
        tasks.push(tokio::spawn(async move {
            c.create_order(req)
                .await
                .map(|r| r.into_inner().order.unwrap().id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().expect("every duplicate succeeds"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all 20 got the same order");
    let list = srv
        .orders()
        .await
        .list_orders(pb::ListOrdersRequest {
            user_id: uid.clone(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.orders.len(), 1, "exactly one row");

    // Same key, different payload: rejected with a clear message.
    let e = srv
        .orders()
        .await
        .create_order(create(&uid, "same-request-id", 5))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    assert!(e.message().contains("request_id"), "{}", e.message());
}

#[tokio::test]
async fn list_orders_filters_by_user_and_pages() {
    let srv = TestServer::start_open().await.unwrap();
    let a = srv.create_user("a@example.com").await;
    let b = srv.create_user("b@example.com").await;
    let mut c = srv.orders().await;
    for i in 0..5 {
        c.create_order(create(&a, &format!("a-{i}"), 1))
            .await
            .unwrap();
    }
    c.create_order(create(&b, "b-0", 1)).await.unwrap();
    let mut token = String::new();
    let mut seen = 0;
    loop {
        let r = c
            .list_orders(pb::ListOrdersRequest {
                user_id: a.clone(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(r.orders.iter().all(|o| o.user_id == a));
        seen += r.orders.len();
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(seen, 5);
    let all = c
        .list_orders(pb::ListOrdersRequest {
            user_id: String::new(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.orders.len(), 6);
    let e = c
        .list_orders(pb::ListOrdersRequest {
            user_id: a,
            page_size: 2,
            page_token: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}
