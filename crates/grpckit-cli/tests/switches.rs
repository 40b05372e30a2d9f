//! Per-method switches (`middleware.switches`) in the real `grpckit server` process: with
//! auth switched off for `GetUser` only, a call without a token succeeds there and is still
//! refused on the other methods; a reload removing the switch puts auth back.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use grpckit_app_test::{ServerProcess, http_get, sign_up};
use grpckit_services::proto::user::v1::{
    GetUserRequest, ListUsersRequest, user_service_client::UserServiceClient,
};
use tonic::{Code, transport::Channel};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

fn config(dir: &Path, switched: bool) -> String {
    let switches = if switched {
        "  switches:\n    - methods: [\"/user.v1.UserService/GetUser\"]\n      disable: [auth]\n"
    } else {
        "  switches: []\n"
    };
    format!(
        "server:\n  address: 127.0.0.1\n  port: 0\n  metrics_listen: 127.0.0.1:0\n  \
         shutdown_grace: 2s\ndatabase:\n  url: sqlite://{db}\nauth:\n  \
         jwt_secret: switch-test-login-secret-0123456789abcdef\nmiddleware:\n{switches}",
        db = dir.join("grpckit.db").display(),
    )
}

async fn reloads_applied(p: &ServerProcess) -> u64 {
    let text = http_get(p.admin_addr, "/metrics").await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("grpckit_config_reload_total{result=\"applied\"} "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// `GetUser` and `ListUsers` without a token: their codes.
async fn anonymous(users: &mut UserServiceClient<Channel>, id: &str) -> (Code, Code) {
    let get = users
        .get_user(GetUserRequest { id: id.into() })
        .await
        .map_or_else(|s| s.code(), |_| Code::Ok);
    let list = users
        .list_users(ListUsersRequest::default())
        .await
        .map_or_else(|s| s.code(), |_| Code::Ok);
    (get, list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_switched_off_for_one_method_and_back_by_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(&file, config(dir.path(), true)).unwrap();
    let p = ServerProcess::spawn_file_addresses(
        BIN.as_ref(),
        &["--config", file.to_str().unwrap()],
        &[],
        dir.path(),
    )
    .unwrap();
    let channel = Channel::from_shared(format!("http://{}", p.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut users = UserServiceClient::new(channel);
    let user = sign_up(&mut users, "switches").await.unwrap();

    assert_eq!(
        anonymous(&mut users, &user.id).await,
        (Code::Ok, Code::Unauthenticated),
        "auth is off for GetUser only"
    );

    let tmp = file.with_extension("swp");
    std::fs::write(&tmp, config(dir.path(), false)).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while reloads_applied(&p).await < 1 {
        assert!(Instant::now() < until, "reload not applied within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        anonymous(&mut users, &user.id).await,
        (Code::Unauthenticated, Code::Unauthenticated),
        "auth is back after the reload"
    );
}
