//! A method the server does not have is `UNIMPLEMENTED`, with a valid token or none (as
//! grpc-go answers: it routes before its interceptors run), never `PERMISSION_DENIED`.

use grpckit_app_test::{TestServer, sign_up};
use grpckit_services::proto::user::v1::{GetUserRequest, GetUserResponse};
use http::uri::PathAndQuery;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

/// Calls `path` with a `GetUserRequest` body, with `token` as bearer when given.
async fn call(srv: &TestServer, path: &'static str, token: Option<&str>) -> Status {
    let mut grpc = tonic::client::Grpc::new(srv.channel().await);
    grpc.ready().await.expect("ready");
    let mut req = Request::new(GetUserRequest { id: "x".into() });
    if let Some(t) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let codec = tonic_prost::ProstCodec::<GetUserRequest, GetUserResponse>::default();
    grpc.unary(req, PathAndQuery::from_static(path), codec)
        .await
        .expect_err("an unknown method cannot succeed")
}

#[tokio::test]
async fn unknown_methods_are_unimplemented_with_or_without_a_token() {
    let srv = TestServer::start().await.unwrap();
    let user = sign_up(&mut srv.users().await, "unknown-method")
        .await
        .unwrap();
    for token in [Some(user.token.as_str()), None] {
        let st = call(&srv, "/user.v1.UserService/NoSuch", token).await;
        assert_eq!(st.code(), Code::Unimplemented, "{token:?}: {st:?}");
        assert_eq!(
            st.message(),
            "unknown method NoSuch for service user.v1.UserService"
        );
        let st = call(&srv, "/foo.Bar/Baz", token).await;
        assert_eq!(st.code(), Code::Unimplemented, "{token:?}: {st:?}");
        assert_eq!(st.message(), "unknown service foo.Bar");
        let info = st.get_details_error_info().expect("ErrorInfo");
        assert_eq!(
            (info.domain.as_str(), info.reason.as_str()),
            ("grpckit", "METHOD_UNKNOWN")
        );
    }
    // A known method the user may not call is still PERMISSION_DENIED, and without a token
    // UNAUTHENTICATED: only unknown methods skip auth.
    let st = call(&srv, "/user.v1.UserService/ListUsers", Some(&user.token)).await;
    assert_eq!(st.code(), Code::PermissionDenied, "{st:?}");
    let st = call(&srv, "/user.v1.UserService/GetUser", None).await;
    assert_eq!(st.code(), Code::Unauthenticated, "{st:?}");
}
