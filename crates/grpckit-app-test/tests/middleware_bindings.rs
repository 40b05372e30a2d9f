//! `middleware.auth.bindings` over the network: a caller whose token carries no role gets
//! access through a binding of its subject, enforced by RBAC and seen by the handler.

use grpckit::config::{PrincipalSelector, RoleBinding};
use grpckit_app_test::{TestServer, authed};
use grpckit_services::proto::user::v1 as upb;
use tonic::Code;

/// A token for `subject` with no roles, signed the way `Login` signs.
fn roleless_token(srv: &TestServer, subject: &str) -> String {
    let app = &srv.server.as_ref().expect("running").app;
    app.tokens()
        .issue(subject, &format!("{subject}@example.com"), Vec::new())
        .expect("sign")
}

#[tokio::test]
async fn a_binding_grants_a_role_the_token_does_not_carry() {
    let srv = TestServer::start_with(|c| {
        c.middleware.auth.bindings = vec![RoleBinding {
            principal: PrincipalSelector::User("ops-7".into()),
            roles: vec!["support".into()],
        }];
    })
    .await
    .unwrap();
    let mut users = srv.users().await;
    let list = || upb::ListUsersRequest::default();

    // `support` may list users; the token of ops-7 has no role, the binding gives it one.
    let bound = roleless_token(&srv, "ops-7");
    users.list_users(authed(list(), &bound)).await.unwrap();

    // The same token shape for another subject: no role, refused.
    let unbound = roleless_token(&srv, "ops-8");
    let e = users
        .list_users(authed(list(), &unbound))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // The binding grants `support` only: methods outside it stay refused.
    let e = users
        .delete_user(authed(
            upb::DeleteUserRequest { id: "ops-7".into() },
            &bound,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
}

#[tokio::test]
async fn bindings_in_a_config_file_name_unknown_roles() {
    let e = grpckit_services::config::AppConfig::from_yaml(
        "middleware:\n  auth:\n    bindings:\n      - principal: \"user:ops-7\"\n        roles: [suport]\n",
    )
    .unwrap_err();
    assert_eq!(e.key(), Some("middleware.auth.bindings[0].roles[0]"), "{e}");
    assert!(e.to_string().contains("unknown role 'suport'"), "{e}");
}
