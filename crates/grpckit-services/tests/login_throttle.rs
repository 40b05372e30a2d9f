//! Public methods are throttled by default: per client address (the app's default rate
//! rules) and, for `Login`, per email after failed attempts (exponential back-off). Other
//! suites run with `grpckit_app_test::roomy_rate_rules`; these tests put the defaults back.

use std::time::Duration;

use grpckit_app_test::TestServer;
use grpckit_services::proto::user::v1::{self as pb, user_service_client::UserServiceClient};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

/// A server with the app's default limits (no rate-limit rules in the config).
async fn with_default_limits() -> TestServer {
    TestServer::start_with(|c| c.middleware.rate_limit.rules.clear())
        .await
        .unwrap()
}

async fn sign_up(users: &mut UserServiceClient<Channel>, email: &str) {
    users
        .create_user(pb::CreateUserRequest {
            name: "T".into(),
            email: email.into(),
            password: "password-123".into(),
        })
        .await
        .unwrap();
}

async fn login(
    mut users: UserServiceClient<Channel>,
    email: &str,
    password: &str,
) -> Result<pb::LoginResponse, Status> {
    users
        .login(pb::LoginRequest {
            email: email.into(),
            password: password.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// `RESOURCE_EXHAUSTED` with a positive `RetryInfo` delay; returns the delay.
fn retry_after(st: &Status) -> Duration {
    assert_eq!(st.code(), Code::ResourceExhausted, "{st:?}");
    st.get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .filter(|d| !d.is_zero())
        .unwrap_or_else(|| panic!("no RetryInfo delay in {st:?}"))
}

/// Starts `n` calls in order on one connection without waiting between them (HTTP/2 keeps
/// their order), then collects the results.
async fn rapid<F, Fut, T>(n: usize, call: F) -> Vec<Result<T, Status>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    futures::future::join_all((0..n).map(call)).await
}

#[tokio::test]
async fn the_sixth_rapid_wrong_password_login_gets_resource_exhausted_with_retry_info() {
    let srv = with_default_limits().await;
    let mut users = srv.users().await;
    sign_up(&mut users, "victim@example.com").await;
    let results = rapid(6, |_| {
        login(users.clone(), "victim@example.com", "wrong-password")
    })
    .await;
    for (i, r) in results[..5].iter().enumerate() {
        assert_eq!(
            r.as_ref().unwrap_err().code(),
            Code::Unauthenticated,
            "attempt {}",
            i + 1
        );
    }
    let sixth = results[5].as_ref().unwrap_err();
    assert!(retry_after(sixth) <= Duration::from_secs(1), "{sixth:?}");
    // Other emails from the same address are throttled too: the limit is per client.
    let other = login(users.clone(), "someone-else@example.com", "wrong-password").await;
    assert_eq!(other.unwrap_err().code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited_to_a_burst_of_five() {
    let srv = with_default_limits().await;
    let users = srv.users().await;
    // Invalid requests cost no password hash and still count.
    let results = rapid(6, |i| {
        let mut users = users.clone();
        async move {
            users
                .create_user(pb::CreateUserRequest {
                    name: String::new(),
                    email: format!("bad-{i}"),
                    password: String::new(),
                })
                .await
        }
    })
    .await;
    for r in &results[..5] {
        assert_eq!(r.as_ref().unwrap_err().code(), Code::InvalidArgument);
    }
    retry_after(results[5].as_ref().unwrap_err());
}

#[tokio::test]
async fn failed_logins_back_off_per_email_without_revealing_accounts() {
    // Roomy per-address limits (the harness's): only the per-email back-off acts here.
    let srv = TestServer::start().await.unwrap();
    let mut users = srv.users().await;
    sign_up(&mut users, "target@example.com").await;
    sign_up(&mut users, "bystander@example.com").await;
    for email in ["target@example.com", "nobody@example.com"] {
        for i in 1..=5 {
            let st = login(users.clone(), email, "wrong-password")
                .await
                .unwrap_err();
            assert_eq!(st.code(), Code::Unauthenticated, "{email} attempt {i}");
        }
    }
    // Even the right password waits now; an unknown email gets the same answer.
    let target = login(users.clone(), "target@example.com", "password-123")
        .await
        .unwrap_err();
    let nobody = login(users.clone(), "nobody@example.com", "password-123")
        .await
        .unwrap_err();
    let wait = retry_after(&target);
    assert!(wait <= Duration::from_secs(1), "{wait:?}");
    retry_after(&nobody);
    assert_eq!(
        target.message(),
        nobody.message(),
        "no hint which email exists"
    );
    for st in [&target, &nobody] {
        let info = st.get_details_error_info().expect("ErrorInfo");
        assert_eq!(
            (info.domain.as_str(), info.reason.as_str()),
            ("user.v1", "LOGIN_BACKOFF")
        );
    }
    // The email is normalized: another spelling shares the back-off.
    let spelled = login(users.clone(), " TARGET@example.com", "password-123").await;
    assert_eq!(spelled.unwrap_err().code(), Code::ResourceExhausted);
    // Other accounts are unaffected.
    login(users.clone(), "bystander@example.com", "password-123")
        .await
        .unwrap();
    // After the wait the right password works, and clears the failures.
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    login(users.clone(), "target@example.com", "password-123")
        .await
        .unwrap();
    let again = login(users.clone(), "target@example.com", "wrong-password").await;
    assert_eq!(again.unwrap_err().code(), Code::Unauthenticated);
}
