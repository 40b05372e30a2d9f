//! README's "Running the services apart", run as written: the commands are read from
//! README.md (so the doc cannot drift), with this test's binary, free loopback ports and a
//! secret substituted. A token from the user process's `Login` creates an order in the
//! order process. Without a key, a split process refuses to start and says how to give one.

use std::{collections::BTreeMap, process::Command, time::Duration};

use grpckit_app_test::ServerProcess;
use grpckit_services::proto::{
    order::v1::{self as pb, order_service_client::OrderServiceClient},
    user::v1::user_service_client::UserServiceClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const README: &str = include_str!("../../../README.md");

/// The `grpckit server ...` commands of README's split-mode example, continuation lines
/// joined, each split into words (only `"$SECRET"` is quoted there).
fn readme_split_commands() -> Vec<Vec<String>> {
    let section = README
        .split("## Running the services apart")
        .nth(1)
        .expect("README has a 'Running the services apart' section");
    let block = section
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section starts with a sh block");
    block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("grpckit server"))
        .map(|l| {
            l.split_whitespace()
                .skip(2)
                .map(|w| w.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Replaces every `127.0.0.1:PORT` of the README with a free loopback port (the same README
/// port always maps to the same free one) and `$SECRET` with `secret`.
fn substitute(commands: &[Vec<String>], secret: &str) -> Vec<Vec<String>> {
    let mut ports: BTreeMap<String, String> = BTreeMap::new();
    commands
        .iter()
        .map(|words| {
            words
                .iter()
                .map(|w| {
                    let mut w = w.replace("$SECRET", secret);
                    if let Some(i) = w.find("127.0.0.1:") {
                        let readme = w[i..].to_owned();
                        let free = ports
                            .entry(readme.clone())
                            .or_insert_with(|| format!("127.0.0.1:{}", free_port()));
                        w = w.replace(&readme, free);
                    }
                    w
                })
                .collect()
        })
        .collect()
}

#[test]
fn readme_split_example_gives_every_process_the_secret() {
    let cmds = readme_split_commands();
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    for c in &cmds {
        assert!(c.iter().any(|w| w == "--jwt-secret"), "{c:?}");
        assert!(c.iter().any(|w| w == "--services"), "{c:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_split_mode_commands_accept_each_others_tokens() {
    let cmds = substitute(
        &readme_split_commands(),
        "readme-split-secret-readme-split-secret",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Vec::new();
    for (i, words) in cmds.iter().enumerate() {
        let cwd = dir.path().join(i.to_string());
        std::fs::create_dir_all(&cwd).unwrap();
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        // `GRPCKIT_JWT_SECRET` must not leak in from the environment: the README's flags
        // alone have to make the processes agree.
        procs.push(
            ServerProcess::spawn(BIN.as_ref(), &args, &[("GRPCKIT_JWT_SECRET", "")], &cwd)
                .unwrap_or_else(|e| panic!("{words:?}: {e:#}")),
        );
    }
    let (user_proc, order_proc) = (&procs[0], &procs[1]);
    let mut users = UserServiceClient::connect(user_proc.url()).await.unwrap();
    let me = grpckit_app_test::sign_up(&mut users, "readme-split")
        .await
        .unwrap();
    let mut orders = OrderServiceClient::connect(order_proc.url()).await.unwrap();
    let order = orders
        .create_order(grpckit_app_test::authed(
            pb::CreateOrderRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                user_id: me.id.clone(),
                items: vec![pb::OrderItem {
                    sku: "SKU-1".into(),
                    quantity: 1,
                    unit_price_minor: 100,
                }],
                currency: "USD".into(),
            },
            &me.token,
        ))
        .await
        .expect("the order process accepts the user process's token")
        .into_inner()
        .order
        .unwrap();
    assert_eq!(order.user_id, me.id);
}

#[test]
fn split_mode_without_a_key_refuses_to_start_and_says_how_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    for services in [
        &["--services", "user"][..],
        &[
            "--services",
            "order",
            "--user-service",
            "http://127.0.0.1:9",
        ][..],
    ] {
        let mut child = Command::new(BIN)
            .arg("server")
            .args(services)
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env_remove("GRPCKIT_JWT_SECRET")
            .env_remove("GRPCKIT_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded: a process that starts anyway is killed and the test fails.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{services:?} started without a key");
        for how in [
            "split mode",
            "--jwt-secret",
            "GRPCKIT_JWT_SECRET",
            "auth.jwt_secret",
        ] {
            assert!(
                err.contains(how),
                "{services:?}: '{how}' missing from: {err}"
            );
        }
    }
}
