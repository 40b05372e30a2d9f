//! `grpckit call|list|describe` against the real grpckit server (reflection v1) and with
//! `--proto` files; streaming calls, errors and exit codes.

use grpckit_app_test::TestServer;
use grpckit_cli::{
    call::{self, CallArgs, DescribeArgs, ListArgs},
    conn::ConnArgs,
    reflect::ProtoArgs,
};

fn call_args(addr: &str, method: &str, data: &str) -> CallArgs {
    CallArgs {
        conn: ConnArgs::plaintext(addr),
        proto: ProtoArgs::default(),
        method: method.into(),
        data: Some(data.into()),
        deadline: Some(std::time::Duration::from_secs(10)),
        emit_defaults: false,
        verbose: false,
        protocol: Default::default(),
        http2: false,
    }
}

async fn run_call(args: &CallArgs) -> (call::CallOutcome, Vec<serde_json::Value>) {
    let mut out = Vec::new();
    let o = call::call(args, &mut out).await.expect("call runs");
    let text = String::from_utf8(out).unwrap();
    let values = serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(Result::unwrap)
        .collect();
    (o, values)
}

fn repo_proto_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

#[tokio::test]
async fn list_describe_and_call_via_reflection() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();

    let mut out = Vec::new();
    call::list(
        &ListArgs {
            conn: ConnArgs::plaintext(&addr),
            proto: ProtoArgs::default(),
            service: None,
        },
        &mut out,
    )
    .await
    .unwrap();
    let services = String::from_utf8(out).unwrap();
    for s in [
        "user.v1.UserService",
        "order.v1.OrderService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.lines().any(|l| l == s),
            "{s} missing from {services}"
        );
    }

    let mut out = Vec::new();
    call::list(
        &ListArgs {
            conn: ConnArgs::plaintext(&addr),
            proto: ProtoArgs::default(),
            service: Some("user.v1.UserService".into()),
        },
        &mut out,
    )
    .await
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("user.v1.UserService.GetUser")
    );

    for (sym, want) in [
        (
            "order.v1.OrderService",
            "rpc Chat(stream .order.v1.ChatMessage) returns (stream .order.v1.ChatEvent) {\n    \
             option (grpckit.v1.policy) = {roles: [\"support\", \"user\"]};\n  }",
        ),
        (
            "user.v1.UserService/GetUser",
            "rpc GetUser(.user.v1.GetUserRequest) returns (.user.v1.GetUserResponse) {\n  \
             option (grpckit.v1.policy) = {roles: [\"support\", \"user\"]};\n}",
        ),
        ("user.v1.CreateUserRequest", "string email = 2;"),
        ("user.v1.Role", "enum Role {"),
    ] {
        let mut out = Vec::new();
        call::describe_cmd(
            &DescribeArgs {
                conn: ConnArgs::plaintext(&addr),
                proto: ProtoArgs::default(),
                symbol: Some(sym.into()),
            },
            &mut out,
        )
        .await
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(want), "describe {sym}: {text}");
    }
    let mut out = Vec::new();
    let err = call::describe_cmd(
        &DescribeArgs {
            conn: ConnArgs::plaintext(&addr),
            proto: ProtoArgs::default(),
            symbol: Some("no.such.Thing".into()),
        },
        &mut out,
    )
    .await;
    assert!(err.is_err());

    // Unary, JSON in and out (proto3 JSON names, int64 as strings).
    let email = format!("cli-{}@example.com", uuid::Uuid::new_v4().simple());
    let (o, v) = run_call(&call_args(
        &addr,
        "user.v1.UserService/CreateUser",
        &format!(r#"{{"name":"cli","email":"{email}","password":"correct-horse-battery"}}"#),
    ))
    .await;
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.exit_code(), 0);
    let user_id = v[0]["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v[0]["user"]["email"], email.as_str());

    // Client streaming: two messages in one -d.
    let item = |r: &str| {
        format!(
            r#"{{"requestId":"{r}","userId":"{user_id}","items":[{{"sku":"A","quantity":2,"unitPriceMinor":150}}],"currency":"USD"}}"#
        )
    };
    let (o, v) = run_call(&call_args(
        &addr,
        "order.v1.OrderService/UploadOrders",
        &format!("{} {}", item("r1"), item("r2")),
    ))
    .await;
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(v[0]["createdCount"], 2);
    assert_eq!(v[0]["created"][0]["totalMinor"], "300");
    let order_id = v[0]["created"][0]["id"].as_str().unwrap().to_owned();

    // Bidirectional: the room fans messages out to OTHER participants, so a lone sender gets
    // no echo; the call must end cleanly (OK, or the deadline if the room stays open).
    let mut a = call_args(
        &addr,
        "order.v1.OrderService/Chat",
        &format!(r#"[{{"orderId":"{order_id}","sender":"cli","text":"hello"}}]"#),
    );
    a.deadline = Some(std::time::Duration::from_secs(3));
    let (o, v) = run_call(&a).await;
    assert!(
        o.error
            .as_ref()
            .is_none_or(|s| s.code() == tonic::Code::DeadlineExceeded),
        "{:?} {v:?}",
        o.error
    );

    // Errors: status -> exit code 64 + code.
    let (o, v) = run_call(&call_args(
        &addr,
        "user.v1.UserService/GetUser",
        r#"{"id":"no-such-user"}"#,
    ))
    .await;
    assert!(v.is_empty());
    assert_eq!(o.error.as_ref().unwrap().code(), tonic::Code::NotFound);
    assert_eq!(o.exit_code(), 69);
    let (o, _) = run_call(&call_args(
        &addr,
        "user.v1.UserService/CreateUser",
        r#"{"name":"x","email":"not-an-email","password":"p"}"#,
    ))
    .await;
    assert_eq!(o.exit_code(), 64 + o.error.as_ref().unwrap().code() as u8);
    assert_ne!(o.exit_code(), 0);

    // Local errors are errors, not statuses.
    let mut out = Vec::new();
    assert!(
        call::call(
            &call_args(&addr, "user.v1.UserService/Nope", "{}"),
            &mut out
        )
        .await
        .is_err()
    );
    assert!(
        call::call(
            &call_args(&addr, "user.v1.UserService/GetUser", r#"{"nope":1}"#),
            &mut out
        )
        .await
        .is_err()
    );
    assert!(
        call::call(
            &call_args(
                &addr,
                "user.v1.UserService/GetUser",
                r#"{"id":"a"} {"id":"b"}"#
            ),
            &mut out
        )
        .await
        .is_err()
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn call_with_proto_files_and_metadata() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    let proto = ProtoArgs {
        protos: vec![repo_proto_dir().join("user/v1/user_service.proto")],
        import_paths: vec![repo_proto_dir()],
    };

    let mut out = Vec::new();
    call::list(
        &ListArgs {
            conn: ConnArgs::plaintext("127.0.0.1:1"),
            proto: proto.clone(),
            service: None,
        },
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        "user.v1.UserService"
    );

    let mut a = call_args(&addr, "user.v1.UserService/GetUser", r#"{"id":"missing"}"#);
    a.proto = proto;
    a.conn.headers = vec!["x-request-id: cli-test-1".into()];
    let (o, _) = run_call(&a).await;
    assert_eq!(o.error.unwrap().code(), tonic::Code::NotFound);

    let mut a = call_args(&addr, "user.v1.UserService/GetUser", "{}");
    a.conn.headers = vec!["bad header".into()];
    let mut out = Vec::new();
    assert!(call::call(&a, &mut out).await.is_err());
    srv.stop().await.unwrap();
}
