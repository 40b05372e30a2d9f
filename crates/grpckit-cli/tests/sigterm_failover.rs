//! Kubernetes' rolling update as a client sees it: one of two instances gets SIGTERM while a
//! balanced client (grpckit's own, retrying idempotent calls) keeps calling both and a stream
//! is open on the stopping one. No unary call fails, the stream ends with a clean status
//! (UNAVAILABLE, which clients retry), and the instance exits well within its grace period.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use grpckit::{client::ClientBuilder, config::ClientConfig};
use grpckit_app_test::ServerProcess;
use grpckit_services::proto::user::v1::{self as userpb, user_service_client::UserServiceClient};
use tonic::Code;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const SECRET: (&str, &str) = ("GRPCKIT_JWT_SECRET", "failover-secret-failover-secret");
/// The stopping instance's grace: it must exit well within it.
const GRACE: Duration = Duration::from_secs(20);
/// How long the stopping instance keeps serving after SIGTERM (the `preStop` pause).
const DRAIN_DELAY: &str = "1s";

fn spawn(dir: &tempfile::TempDir) -> ServerProcess {
    ServerProcess::spawn(
        BIN.as_ref(),
        &[
            "--no-auth",
            "--drain-delay",
            DRAIN_DELAY,
            "--shutdown-grace",
            "20s",
        ],
        &[SECRET],
        dir.path(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_one_of_two_instances_fails_no_call() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, b) = (spawn(&dir_a), spawn(&dir_b));

    // The open stream on the instance that stops.
    let mut direct = UserServiceClient::connect(a.url()).await.unwrap();
    let me = grpckit_app_test::sign_up(&mut direct, "failover")
        .await
        .unwrap();
    let mut feed = direct
        .stream_user_activity(userpb::StreamUserActivityRequest {
            user_id: me.id.clone(),
            replay_last: 0,
        })
        .await
        .unwrap()
        .into_inner();

    // The balanced client over both instances; `ListUsers` is NO_SIDE_EFFECTS in the proto,
    // so the registered descriptors make it retryable.
    grpckit::client::register_descriptor_set(grpckit_services::proto::FILE_DESCRIPTOR_SET);
    let channel = ClientBuilder::new(ClientConfig::default())
        .endpoints([a.url(), b.url()])
        .build()
        .unwrap();
    let users = UserServiceClient::new(channel);

    // Two callers, a call every few milliseconds each, bounded in count and time.
    let (ok, failed, stop) = (
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut callers = Vec::new();
    for _ in 0..2 {
        let (mut users, ok, failed, stop, failures) = (
            users.clone(),
            ok.clone(),
            failed.clone(),
            stop.clone(),
            failures.clone(),
        );
        callers.push(tokio::spawn(async move {
            for _ in 0..5_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let req = userpb::ListUsersRequest {
                    page_size: 1,
                    ..Default::default()
                };
                match users.list_users(req).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(st) => {
                        failures.lock().unwrap().push(format!("{st:?}"));
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = ok.load(Ordering::Relaxed);
    assert!(before > 0, "both instances serve before the stop");
    let stopped_at = Instant::now();
    a.terminate().unwrap();

    let end = tokio::time::timeout(Duration::from_secs(30), feed.next())
        .await
        .expect("the stream ends during the drain")
        .expect("with a status, not a silent end")
        .unwrap_err();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");

    let exit = tokio::task::spawn_blocking(move || {
        let code = a.wait_exit(GRACE + Duration::from_secs(30));
        (code, stopped_at.elapsed(), a)
    })
    .await
    .unwrap();
    let (code, took, a) = exit;
    assert_eq!(code.as_ref().ok(), Some(&Some(0)), "{code:?}: {:#?}", {
        let mut a = a;
        a.drain_logs()
    });
    assert!(took < GRACE, "exited within the grace period: {took:?}");

    // Calls go on against the instance that stays.
    let after_exit = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        c.await.unwrap();
    }
    let total = ok.load(Ordering::Relaxed);
    assert!(
        total > after_exit,
        "the second instance serves after the first exits"
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no unary call failed ({total} succeeded): {:?}",
        failures.lock().unwrap()
    );
    drop(b);
}
