//! UserService over the network: every unary method and its error paths.

use grpckit_app_test::{TestServer, create_user_request};
use grpckit_services::proto::user::v1::{self as pb, Role};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn crud_login_and_errors() {
    let srv = TestServer::start_open().await.unwrap();
    let mut c = srv.users().await;

    let u = c
        .create_user(create_user_request("Ada@Example.com"))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(u.email, "ada@example.com", "emails are normalized");
    assert_eq!(
        u.role,
        Role::User as i32,
        "sign-up never grants more than user"
    );
    assert!(u.created_at.is_some());

    // Unique email (case-insensitive).
    let e = c
        .create_user(create_user_request("ADA@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");

    // Field checks report every violation.
    let e = c
        .create_user(pb::CreateUserRequest {
            name: " ".into(),
            email: "nope".into(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let br = e.get_details_bad_request().expect("BadRequest detail");
    let fields: Vec<_> = br
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["name", "email", "password"]);

    // Get / NotFound.
    let got = c
        .get_user(pb::GetUserRequest { id: u.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(got, u);
    assert_eq!(
        c.get_user(pb::GetUserRequest {
            id: "missing".into()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    assert_eq!(
        c.get_user(pb::GetUserRequest { id: String::new() })
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );

    // Login: good, wrong password, unknown email; the token is a signed JWT.
    let login = c
        .login(pb::LoginRequest {
            email: "ada@example.com".into(),
            password: "password-123".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(login.token_type, "Bearer");
    assert_eq!(login.access_token.split('.').count(), 3);
    assert!(login.expires_in > 0);
    let claims = srv
        .server
        .as_ref()
        .unwrap()
        .app
        .tokens()
        .verify(&login.access_token)
        .unwrap();
    assert_eq!(claims.sub, u.id);
    assert_eq!(claims.roles, ["user"]);
    for (email, pw) in [
        ("ada@example.com", "wrong-password"),
        ("nobody@example.com", "password-123"),
        ("", ""),
    ] {
        let e = c
            .login(pb::LoginRequest {
                email: email.into(),
                password: pw.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
        assert_eq!(
            e.message(),
            "invalid email or password",
            "no hint which part was wrong"
        );
    }

    // Update: partial, password change takes effect, email uniqueness, NotFound.
    let up = c
        .update_user(pb::UpdateUserRequest {
            id: u.id.clone(),
            name: Some("Ada L.".into()),
            password: Some("new-password-1".into()),
            email: None,
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(up.name, "Ada L.");
    assert_eq!(up.email, u.email);
    assert!(
        c.login(pb::LoginRequest {
            email: u.email.clone(),
            password: "new-password-1".into()
        })
        .await
        .is_ok()
    );
    assert!(
        c.login(pb::LoginRequest {
            email: u.email.clone(),
            password: "password-123".into()
        })
        .await
        .is_err()
    );
    c.create_user(create_user_request("grace@example.com"))
        .await
        .unwrap();
    let e = c
        .update_user(pb::UpdateUserRequest {
            id: u.id.clone(),
            email: Some("grace@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let e = c
        .update_user(pb::UpdateUserRequest {
            id: u.id.clone(),
            email: Some("bad".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .update_user(pb::UpdateUserRequest {
            id: "missing".into(),
            name: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // Delete.
    c.delete_user(pb::DeleteUserRequest { id: u.id.clone() })
        .await
        .unwrap();
    assert_eq!(
        c.get_user(pb::GetUserRequest { id: u.id.clone() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        c.delete_user(pb::DeleteUserRequest { id: u.id })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn list_users_pages_with_opaque_tokens() {
    let srv = TestServer::start_open().await.unwrap();
    let mut c = srv.users().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            c.create_user(create_user_request(&format!("u{i}@example.com")))
                .await
                .unwrap()
                .into_inner()
                .user
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = c
            .list_users(pb::ListUsersRequest {
                page_size: 3,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(r.users.len() <= 3);
        seen.extend(r.users.into_iter().map(|u| u.id));
        pages += 1;
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(pages, 3);
    ids.sort();
    assert_eq!(seen, ids, "every user exactly once, in order");
    let e = c
        .list_users(pb::ListUsersRequest {
            page_size: 3,
            page_token: "garbage!".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .list_users(pb::ListUsersRequest {
            page_size: -1,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn admin_is_bootstrapped_from_config() {
    let srv = TestServer::start_open_with(|c| {
        c.auth.admin_email = "root@example.com".into();
        c.auth.admin_password = "admin-password".into();
    })
    .await
    .unwrap();
    let mut c = srv.users().await;
    let r = c
        .login(pb::LoginRequest {
            email: "root@example.com".into(),
            password: "admin-password".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.user.unwrap().role, Role::Admin as i32);
}
