//! A cluster-wide limit in Redis shared by two server instances.

use std::time::Duration;

use grpckit::config::RateRule;
use grpckit_app_test::{TestServer, authed, sign_up};
use grpckit_services::proto::user::v1 as upb;
use tonic::Code;
use tonic_types::StatusExt;

async fn redis_or_skip() -> Option<redis::aio::MultiplexedConnection> {
    let c = redis::Client::open("redis://127.0.0.1:6379").ok()?;
    match tokio::time::timeout(Duration::from_secs(2), c.get_multiplexed_async_connection()).await {
        Ok(Ok(conn)) => Some(conn),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at 127.0.0.1:6379 is required under CI")
        }
        _ => {
            eprintln!(
                "SKIPPED redis_limit_is_shared because Redis at 127.0.0.1:6379 is not reachable"
            );
            None
        }
    }
}

#[tokio::test]
async fn redis_limit_is_shared_by_two_instances() {
    let Some(mut conn) = redis_or_skip().await else {
        return;
    };
    let prefix = format!("grpckit-test:{}", uuid::Uuid::new_v4().simple());
    let tweak = |c: &mut grpckit_services::config::AppConfig| {
        c.middleware.rate_limit.redis.prefix = prefix.clone();
        c.middleware.rate_limit.redis.fail_open = false;
        c.middleware.rate_limit.rules = vec![RateRule {
            methods: grpckit::config::MethodPattern::parse("user.v1.UserService/GetUser").unwrap(),
            per_second: 0,
            burst: 0,
            cluster_limit: 3,
            cluster_window: Duration::from_secs(3600),
            max_concurrent: 0,
        }];
    };
    let a = TestServer::start_with(tweak).await.unwrap();
    let b = TestServer::start_with(tweak).await.unwrap();
    let mut ua = a.users().await;
    let mut ub = b.users().await;
    // Same secret in both test configs: A's token is valid on B (same subject = same budget).
    let u = sign_up(&mut ua, "shared").await.unwrap();
    let get = || authed(upb::GetUserRequest { id: u.id.clone() }, &u.token);
    ua.get_user(get()).await.unwrap();
    ua.get_user(get()).await.unwrap();
    // B has its own database (NOT_FOUND) but counts against the same budget.
    assert_eq!(ub.get_user(get()).await.unwrap_err().code(), Code::NotFound);
    let e = ub.get_user(get()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.get_details_retry_info().is_some());
    let e = ua.get_user(get()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}
