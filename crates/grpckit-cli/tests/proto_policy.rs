//! The call policy declared in the `.proto` (`option (grpckit.v1.policy)`) in the real
//! `grpckit server` process: a method marked `public` needs no token (the others do), the
//! `rate_limit` and `timeout` of the `.proto` apply, `middleware.policy.methods` in the config
//! file wins over the `.proto` (at start and on reload), `grpckit describe` shows the option
//! as declared, and `GET /config` shows the effective policy.

use std::{path::Path, time::Duration};

use grpckit_app_test::{ServerProcess, TokenMinter, authed, http_get};
use grpckit_cli::{
    call::{self, DescribeArgs},
    conn::ConnArgs,
    reflect::ProtoArgs,
};
use grpckit_services::proto::user::v1::{
    CreateUserRequest, GetUserRequest, ListUsersRequest, LoginRequest,
    user_service_client::UserServiceClient,
};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// The secret of JWT key `k1`, for admin tokens minted by the test.
const JWT_KEY: &str = "proto-policy-jwt-key-0123456789abcdef";

/// A config file with `policy` (YAML lines under `middleware.policy.methods`, or none).
fn config(dir: &Path, policy: &str) -> String {
    let mut text = format!(
        "database:\n  url: sqlite://{}\nauth:\n  jwt_secret: proto-policy-secret-0123456789abcdef\n\
         middleware:\n  auth:\n    jwt:\n      keys:\n        \
         - {{ kid: k1, algorithm: HS256, secret: \"{JWT_KEY}\" }}\n",
        dir.join("grpckit.db").display()
    );
    if !policy.is_empty() {
        text.push_str("  policy:\n    methods:\n");
        text.push_str(policy);
    }
    text
}

/// The code of `ListUsers` called as an admin.
async fn list_users_as_admin(c: &mut UserServiceClient<Channel>) -> Code {
    let token = TokenMinter::hs256(JWT_KEY)
        .kid("k1")
        .issuer("grpckit")
        .audience("grpckit")
        .token("ops-tool", &["admin"]);
    match c
        .list_users(authed(ListUsersRequest::default(), &token))
        .await
    {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

fn start(dir: &Path, policy: &str) -> (ServerProcess, std::path::PathBuf) {
    let file = dir.join("grpckit.yaml");
    std::fs::write(&file, config(dir, policy)).unwrap();
    let p = ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", file.to_str().unwrap()],
        &[],
        dir,
    )
    .unwrap();
    (p, file)
}

async fn users(p: &ServerProcess) -> UserServiceClient<Channel> {
    UserServiceClient::connect(p.url()).await.unwrap()
}

/// A sign-up that fails validation (after auth and the rate limit, before any work).
fn bad_sign_up() -> CreateUserRequest {
    CreateUserRequest {
        name: "P".into(),
        email: "not-an-email".into(),
        password: "password-123".into(),
    }
}

/// The `google.rpc.ErrorInfo` reason of `e` (`TOKEN_MISSING` from auth, `BAD_CREDENTIALS`
/// from the `Login` handler).
fn reason(e: &Status) -> String {
    e.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// The codes of `n` anonymous sign-ups sent back to back.
async fn sign_up_codes(c: &mut UserServiceClient<Channel>, n: usize) -> Vec<Code> {
    let mut codes = Vec::new();
    for _ in 0..n {
        codes.push(c.create_user(bad_sign_up()).await.unwrap_err().code());
    }
    codes
}

async fn effective_policy(p: &ServerProcess) -> serde_json::Value {
    let text = http_get(p.admin_addr, "/config").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["effective_policy"].clone()
}

#[tokio::test]
async fn the_proto_policy_applies_and_is_described() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, _) = start(dir.path(), "");
    let mut c = users(&p).await;

    // `CreateUser` is public in the .proto: no token needed (it reaches validation).
    assert_eq!(
        c.create_user(bad_sign_up()).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // `GetUser` is not: a token is.
    let e = c
        .get_user(GetUserRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // `rate_limit: "1/s burst 5"`: 30 calls back to back cannot all pass (even at 2 calls/s
    // the bucket runs dry after about 10).
    let codes = sign_up_codes(&mut c, 30).await;
    assert!(codes.contains(&Code::ResourceExhausted), "{codes:?}");

    // `ListUsers` has the .proto's 10s deadline: plenty.
    assert_eq!(list_users_as_admin(&mut c).await, Code::Ok);

    // `GET /config`: the effective policy, as declared.
    let policy = effective_policy(&p).await;
    let login = &policy["user.v1.UserService/Login"];
    assert_eq!(login["public"], true, "{policy}");
    assert_eq!(login["rate_limit"], "1/s burst 5", "{policy}");
    assert_eq!(login["declared"], true, "{policy}");
    assert_eq!(policy["user.v1.UserService/ListUsers"]["timeout"], "10s");
    assert_eq!(
        policy["order.v1.OrderService/CreateOrder"]["idempotent"],
        true
    );
    assert_eq!(
        policy["user.v1.UserService/ListUsers"]["roles"],
        serde_json::json!(["support"])
    );

    // `grpckit describe` over reflection shows the option as written in the .proto.
    let mut out = Vec::new();
    call::describe_cmd(
        &DescribeArgs {
            conn: ConnArgs::plaintext(p.addr.to_string()),
            proto: ProtoArgs::default(),
            symbol: Some("user.v1.UserService/Login".into()),
        },
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#"option (grpckit.v1.policy) = {public: true, rate_limit: "1/s burst 5"};"#),
        "{text}"
    );
    // Every option of the reference protos is usable: none was logged as ignored.
    let logs = p.drain_logs().join("\n");
    assert!(!logs.contains("option is ignored"), "{logs}");
}

#[tokio::test]
async fn a_config_override_wins_at_start_and_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = "      - { methods: \"user.v1.UserService/Login\", public: false }\n      \
                     - { methods: \"user.v1.UserService/CreateUser\", rate_limit: 100000/s }\n      \
                     - { methods: \"user.v1.UserService/ListUsers\", timeout: 250ms }\n";
    let (p, file) = start(dir.path(), overrides);
    let mut c = users(&p).await;
    let login = LoginRequest {
        email: "nobody@example.com".into(),
        password: "password-123".into(),
    };

    // `Login` is public in the .proto; the config says it is not.
    let e = c.login(login.clone()).await.unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::Unauthenticated, "TOKEN_MISSING")
    );
    // The config's rate for `CreateUser` replaces the .proto's 1/s.
    let codes = sign_up_codes(&mut c, 30).await;
    assert!(
        codes.iter().all(|c| *c == Code::InvalidArgument),
        "{codes:?}"
    );
    // A quick call stays well within the config's shorter deadline.
    assert_eq!(list_users_as_admin(&mut c).await, Code::Ok);
    let policy = effective_policy(&p).await;
    assert_eq!(policy["user.v1.UserService/Login"]["public"], false);
    assert_eq!(
        policy["user.v1.UserService/Login"]["overridden"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        policy["user.v1.UserService/CreateUser"]["rate_limit"],
        "100000/s"
    );
    // The config's deadline for `ListUsers` replaces the .proto's 10s (unit tests show it
    // becomes the timeout rule the layer reads).
    assert_eq!(policy["user.v1.UserService/ListUsers"]["timeout"], "250ms");

    // Without the override (file edited while serving), `Login` is public again.
    let tmp = dir.path().join("grpckit.yaml.new");
    std::fs::write(
        &tmp,
        config(
            dir.path(),
            "      - { methods: \"user.v1.UserService/CreateUser\", rate_limit: 100000/s }\n",
        ),
    )
    .unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let mut why = String::new();
    for _ in 0..100 {
        why = c
            .login(login.clone())
            .await
            .map_or_else(|e| reason(&e), |_| "OK".into());
        if why != "TOKEN_MISSING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Unknown email: refused by the handler now, not by auth.
    assert_eq!(
        why, "BAD_CREDENTIALS",
        "Login still needs a token after the reload"
    );
}
