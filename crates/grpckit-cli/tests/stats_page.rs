//! The live stats page in a real headless browser (Debian `chromium` + npm `playwright-core`,
//! script in `tests/browser/`): load `/`, generate traffic, the numbers change, a per-method
//! row and the charts appear, no console errors; screenshot in `target/test-output/`.
//! Without node/chromium/playwright-core: SKIPPED, except under `CI=true` where it fails.

use std::{path::PathBuf, process::Stdio, time::Duration};

use grpckit_app_test::{TestServer, http_get};
use grpckit_services::proto::user::v1::{
    CreateUserRequest, GetUserRequest, user_service_client::UserServiceClient,
};

fn missing_tools(browser_dir: &std::path::Path) -> Option<String> {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("node is not installed".into());
    }
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} is missing (apt-get install -y chromium)"
        ));
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        return Some(format!(
            "playwright-core is not installed (cd {} && npm ci)",
            browser_dir.display()
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_page_updates_live_in_a_browser() -> anyhow::Result<()> {
    let browser_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if let Some(why) = missing_tools(&browser_dir) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("stats page browser test cannot run under CI: {why}");
        }
        println!("SKIPPED stats_page_updates_live_in_a_browser because {why}");
        return Ok(());
    }
    let srv = TestServer::start().await?;
    // The page and its data are served.
    assert!(
        http_get(srv.admin_addr, "/")
            .await?
            .contains("grpckit live stats")
    );
    assert!(
        http_get(srv.admin_addr, "/stats")
            .await?
            .contains("\"window_seconds\"")
    );

    // Traffic until the browser is done: GetUser OK and NotFound, CreateUser.
    let mut users = UserServiceClient::new(srv.channel().await);
    let u = users
        .create_user(CreateUserRequest {
            name: "Page".into(),
            email: "page@example.com".into(),
            password: "password-123".into(),
        })
        .await?
        .into_inner()
        .user
        .expect("user");
    let stop = tokio_util_stop();
    let traffic = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = if i.is_multiple_of(5) {
                    uuid::Uuid::now_v7().to_string()
                } else {
                    u.id.clone()
                };
                let _ = users.get_user(GetUserRequest { id }).await;
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            i
        })
    };

    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output");
    std::fs::create_dir_all(&out_dir)?;
    let shot = out_dir.join("stats_page.png");
    let run = tokio::process::Command::new("node")
        .arg(browser_dir.join("stats_page.mjs"))
        .arg(format!("http://{}/", srv.admin_addr))
        .arg(&shot)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run).await??;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let calls = traffic.await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser check failed after {calls} calls:\n{stdout}\n{stderr}"
    );
    assert!(shot.exists(), "no screenshot at {}", shot.display());
    println!("screenshot: {}", shot.display());
    srv.stop().await?;
    Ok(())
}

fn tokio_util_stop() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
}
