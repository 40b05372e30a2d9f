//! Split mode through the balanced client: an order-only server whose `services.user_service`
//! lists a dead address and a live UserService. Orders still validate their user (the dead
//! endpoint is ejected, GetUser goes to the live one), and the CLI session accepts a list.

use std::time::Duration;

use grpckit_app_test::TestServer;
use grpckit_cli::session::Session;
use grpckit_services::config::ServiceName;
use grpckit_services::proto::order::v1 as orderpb;

fn order(user_id: &str) -> orderpb::CreateOrderRequest {
    orderpb::CreateOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.into(),
        items: vec![orderpb::OrderItem {
            sku: "SKU-1".into(),
            quantity: 1,
            unit_price_minor: 100,
        }],
        currency: "USD".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_service_reaches_user_service_through_an_endpoint_list() {
    let users = TestServer::start_with(|c| c.services.serve = vec![ServiceName::User])
        .await
        .expect("user server");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let list = format!("127.0.0.1:{}, {}", dead_addr.port(), users.url());
    let orders = TestServer::start_with(|c| {
        c.services.serve = vec![ServiceName::Order];
        c.services.user_service = list.clone();
    })
    .await
    .expect("order server");

    let mut s = Session::connect(&users.url(), Duration::from_secs(5))
        .await
        .expect("session");
    let account = s.sign_up_and_login("split").await.expect("sign up");
    // The CLI session takes a comma-separated list too.
    let mut o = Session::connect(
        &format!("http://{dead_addr},{}", orders.url()),
        Duration::from_secs(5),
    )
    .await
    .expect("order session");
    o.token = s.token.clone();
    for _ in 0..5 {
        o.orders
            .create_order(o.req(order(&account.id)))
            .await
            .expect("order created via balanced user lookup");
    }
    let err = o
        .orders
        .create_order(o.req(order("no-such-user")))
        .await
        .expect_err("unknown user");
    assert_ne!(err.code(), tonic::Code::Unavailable, "{err:?}");
}
