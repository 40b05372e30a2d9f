//! Signals as an operator sends them, to the real binary: an open health watch does not hold
//! the drain, a second SIGTERM exits at once, SIGHUP is logged and does not stop the server, and open server
//! streams end with UNAVAILABLE (retryable) on shutdown.
//!
//! Multi-thread runtimes: `wait_exit` blocks the test's thread, and the client connections
//! must keep answering the server's GOAWAY PING meanwhile, or the drain waits for them.

use std::time::{Duration, Instant};

use futures::StreamExt;
use grpckit_app_test::ServerProcess;
use grpckit_services::proto::user::v1::{self as userpb, user_service_client::UserServiceClient};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const SECRET: (&str, &str) = ("GRPCKIT_JWT_SECRET", "signals-secret-signals-secret");

fn spawn(args: &[&str]) -> (ServerProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = ServerProcess::spawn(BIN.as_ref(), args, &[SECRET], dir.path()).unwrap();
    (p, dir)
}

async fn health(p: &ServerProcess) -> HealthClient<tonic::transport::Channel> {
    let ch = tonic::transport::Channel::from_shared(p.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(ch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_health_watch_ends_at_once_on_sigterm() {
    // A grace period far longer than the bounds below (roomy for a loaded machine): only an
    // ended watch lets it exit.
    let (mut p, _dir) = spawn(&["--shutdown-grace", "300s"]);
    let mut watch = health(&p)
        .await
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );
    p.terminate().unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .unwrap();
    assert_eq!(
        next.unwrap().unwrap().status,
        ServingStatus::NotServing as i32,
        "watchers see NOT_SERVING first"
    );
    let end = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .unwrap()
        .expect("an ending status")
        .unwrap_err();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    assert_eq!(
        p.wait_exit(Duration::from_secs(60)).unwrap(),
        Some(0),
        "exits after the drain, well within the 300 s grace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_exits_at_once() {
    let (mut p, _dir) = spawn(&["--shutdown-grace", "300s", "--no-auth"]);
    // An in-flight client stream that never finishes holds the drain open.
    let (tx, rx) = tokio::sync::mpsc::channel::<userpb::CreateUserRequest>(1);
    let mut users = UserServiceClient::connect(p.url()).await.unwrap();
    let call = tokio::spawn(async move {
        users
            .batch_create_users(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.terminate().unwrap();
    p.wait_log("SIGTERM received, shutting down", Duration::from_secs(30))
        .unwrap();
    p.wait_log("draining", Duration::from_secs(30)).unwrap();
    let start = Instant::now();
    p.terminate().unwrap();
    let code = p.wait_exit(Duration::from_secs(60)).unwrap();
    assert_eq!(code, Some(143), "128 + SIGTERM, not a clean exit");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "did not wait for the 300 s grace"
    );
    let line = p
        .wait_log("received again", Duration::from_secs(15))
        .unwrap();
    assert!(line.contains("SIGTERM"), "{line}");
    drop(tx);
    let _ = call.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_is_logged_and_ignored() {
    let (mut p, _dir) = spawn(&[]);
    p.signal("HUP").unwrap();
    let line = p
        .wait_log("SIGHUP received", Duration::from_secs(30))
        .unwrap();
    assert!(line.contains("does not stop the server"), "{line}");
    // Still serving.
    let r = health(&p)
        .await
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status, ServingStatus::Serving as i32);
    p.terminate().unwrap();
    assert_eq!(p.wait_exit(Duration::from_secs(40)).unwrap(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_activity_stream_ends_with_unavailable() {
    let (mut p, _dir) = spawn(&["--shutdown-grace", "300s"]);
    let mut users = UserServiceClient::connect(p.url()).await.unwrap();
    let me = grpckit_app_test::sign_up(&mut users, "feed").await.unwrap();
    let mut feed = users
        .stream_user_activity(grpckit_app_test::authed(
            userpb::StreamUserActivityRequest {
                user_id: me.id.clone(),
                replay_last: 0,
            },
            &me.token,
        ))
        .await
        .unwrap()
        .into_inner();
    p.terminate().unwrap();
    let end = tokio::time::timeout(Duration::from_secs(30), feed.next())
        .await
        .expect("the feed ends on shutdown")
        .expect("with a status, not a silent end")
        .unwrap_err();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    let exit = p.wait_exit(Duration::from_secs(60));
    assert_eq!(
        exit.as_ref().ok(),
        Some(&Some(0)),
        "{exit:?}: {:#?}",
        p.drain_logs()
    );
}
