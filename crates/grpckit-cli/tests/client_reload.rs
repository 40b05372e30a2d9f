//! Hot reload of the order service's `UserService` client in split mode: two user-service
//! processes A and B, and an order-service process whose config file lists A
//! (`services.user_service`). `CreateOrder` checks its user through that client, so an
//! order for a user of B fails while the list is [A]. The file is rewritten to [B] and A is
//! stopped: after the reload (counted as applied, not restart_required) orders for B's user
//! succeed without a restart. The balancing and retry policy changed in the same edit are
//! applied too.

use std::{path::Path, time::Duration};

use grpckit_app_test::{ServerProcess, TestUser, authed, http_get, order_request, sign_up};
use grpckit_services::proto::{
    order::v1::order_service_client::OrderServiceClient,
    user::v1::user_service_client::UserServiceClient,
};
use tonic::{Code, transport::Channel};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const SECRET: &str = "client-reload-secret-0123456789abcdef";

fn user_service(dir: &Path) -> ServerProcess {
    ServerProcess::spawn(
        BIN.as_ref(),
        &["--services", "user"],
        &[("GRPCKIT_JWT_SECRET", SECRET)],
        dir,
    )
    .unwrap()
}

/// The order service's config: its user service list and its client section.
fn order_config(dir: &Path, user_service: &str, client: &str) -> String {
    format!(
        "services:\n  serve: [order]\n  user_service: {user_service}\nauth:\n  jwt_secret: {SECRET}\n\
         database:\n  url: sqlite://{db}\nclient:\n{client}{limits}",
        db = dir.join("orders.db").display(),
        limits = grpckit_app_test::roomy_rate_rules_yaml(),
    )
}

/// Writes `text` beside `path` and renames it over `path` (as many editors save).
fn rename_replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn user_of(p: &ServerProcess, label: &str) -> TestUser {
    let mut users = UserServiceClient::connect(p.url()).await.unwrap();
    sign_up(&mut users, label).await.unwrap()
}

async fn create_order(orders: &mut OrderServiceClient<Channel>, user: &TestUser) -> Code {
    let req = order_request(&user.id, &uuid::Uuid::new_v4().to_string(), 1);
    match orders.create_order(authed(req, &user.token)).await {
        Ok(_) => Code::Ok,
        Err(st) => st.code(),
    }
}

/// `grpckit_config_reload_total{result="RESULT"}` (0 before the first one).
async fn reloads(p: &ServerProcess, result: &str) -> u64 {
    let metrics = http_get(p.admin_addr, "/metrics").await.unwrap();
    let prefix = format!("grpckit_config_reload_total{{result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_service_switches_user_service_endpoints_on_reload() {
    let (dir_a, dir_b, dir_o) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (mut a, b) = (user_service(dir_a.path()), user_service(dir_b.path()));
    let (user_a, user_b) = (user_of(&a, "on-a").await, user_of(&b, "on-b").await);

    let file = dir_o.path().join("grpckit.yaml");
    std::fs::write(
        &file,
        order_config(
            dir_o.path(),
            &a.url(),
            "  load_balancing_policy: round_robin\n",
        ),
    )
    .unwrap();
    let mut o = ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", file.to_str().unwrap()],
        &[("GRPCKIT_JWT_SECRET", SECRET)],
        dir_o.path(),
    )
    .unwrap();
    let mut orders = OrderServiceClient::connect(o.url()).await.unwrap();
    assert_eq!(create_order(&mut orders, &user_a).await, Code::Ok);
    assert_eq!(
        create_order(&mut orders, &user_b).await,
        Code::NotFound,
        "A does not know B's user"
    );

    // The list, the balancing policy and the retry policy change together.
    let client = "  load_balancing_policy: least_connections\n  retry:\n    max_attempts: 2\n";
    rename_replace(&file, &order_config(dir_o.path(), &b.url(), client));
    let line = o
        .wait_log("configuration reloaded", Duration::from_secs(20))
        .unwrap();
    for key in [
        "services.user_service",
        "client.load_balancing_policy",
        "client.retry.max_attempts",
    ] {
        assert!(line.contains(key), "{key} applied: {line}");
    }
    a.terminate().unwrap();
    a.wait_exit(Duration::from_secs(30)).unwrap();

    assert_eq!(reloads(&o, "applied").await, 1);
    assert_eq!(reloads(&o, "restart_required").await, 0);
    for _ in 0..5 {
        assert_eq!(
            create_order(&mut orders, &user_b).await,
            Code::Ok,
            "GetUser goes to B"
        );
    }
    assert_eq!(
        create_order(&mut orders, &user_a).await,
        Code::NotFound,
        "B does not know A's user, and A is gone"
    );
}
