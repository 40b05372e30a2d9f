//! Hot reload of the config file in the real `grpckit server` process, with a bidirectional
//! `Chat` stream open the whole time: an edit (written beside and renamed over the file)
//! lowers a rate limit, turns on debug logging, swaps the API keys and rotates a JWT key,
//! all in force within a second; a broken file is rejected (logged with its line, counted) and the previous
//! limits still apply; a replacement only SIGHUP can see is applied on SIGHUP; a changed
//! listen port is reported as needing a restart. `GET /config` on the admin port shows the
//! version, hash and keys pending a restart, with secrets hidden.

use std::{path::Path, time::Duration};

use grpckit::middleware::auth::hash_api_key;
use grpckit_app_test::{ServerProcess, TokenMinter, authed, http_get, order_request, sign_up};
use grpckit_services::{
    limits::PUBLIC_METHODS,
    proto::{
        order::v1::{
            ChatEvent, ChatEventKind, ChatMessage, order_service_client::OrderServiceClient,
        },
        user::v1::{GetUserRequest, ListUsersRequest, user_service_client::UserServiceClient},
    },
};
use tokio::sync::mpsc;
use tonic::{Code, Streaming, transport::Channel};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// Every config file of this test is padded to this size, so a replacement can keep the
/// size (and modification time) of the file it replaces: then only SIGHUP can reveal it.
const FILE_SIZE: usize = 4096;

const KEY_A: &str = "reload-test-key-a";
const KEY_B: &str = "reload-test-key-b";
const JWT_KEY_SECRET: &str = "inline-jwt-key-secret-0123456789abcdef";
const JWT_KEY_SECRET_2: &str = "rotated-jwt-key-secret-0123456789abcd";
const LOGIN_SECRET: &str = "reload-login-secret-0123456789abcdef";

/// What differs between the config files of this test.
struct Settings {
    /// `server.port` (0: any).
    port: u16,
    /// `log.level`.
    level: &'static str,
    /// Calls per second (and burst) to `GetUser`.
    get_user_rate: u32,
    /// The one API key accepted (`KEY_A` or `KEY_B`).
    api_key: &'static str,
    /// The secret of JWT key `k1`.
    jwt_key: &'static str,
}

fn padded(text: &str) -> String {
    assert!(text.len() < FILE_SIZE, "{} bytes do not fit", text.len());
    format!("{text}{}", "\n".repeat(FILE_SIZE - text.len()))
}

fn config(dir: &Path, s: &Settings) -> String {
    let mut rules = String::new();
    for m in PUBLIC_METHODS {
        rules.push_str(&format!(
            "      - {{ methods: \"{m}\", per_second: 100000, burst: 100000 }}\n"
        ));
    }
    padded(&format!(
        "server:\n  address: 127.0.0.1\n  port: {port}\n  metrics_listen: 127.0.0.1:0\n  \
         shutdown_grace: 2s\ndatabase:\n  url: sqlite://{db}\nauth:\n  jwt_secret: {LOGIN_SECRET}\n\
         log:\n  level: {level}\nmiddleware:\n  auth:\n    jwt:\n      keys:\n        \
         - {{ kid: k1, algorithm: HS256, secret: \"{jwt_key}\" }}\n    api_keys:\n      \
         - {{ name: tool, sha256: \"{sha}\", roles: [admin] }}\n  rate_limit:\n    rules:\n{rules}      \
         - {{ methods: \"/user.v1.UserService/GetUser\", per_second: {rate}, burst: {rate} }}\n",
        port = s.port,
        db = dir.join("grpckit.db").display(),
        level = s.level,
        sha = hash_api_key(s.api_key),
        rate = s.get_user_rate,
        jwt_key = s.jwt_key,
    ))
}

/// Writes `text` beside `path` and renames it over `path` (as many editors save).
fn rename_replace(path: &Path, text: &str) {
    let tmp = path.with_extension("swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Replaces `path` with `text` of the same size, keeping its modification time, in one
/// rename: the file watch sees nothing.
fn replace_unseen(path: &Path, text: &str) {
    let old = std::fs::metadata(path).unwrap();
    assert_eq!(old.len(), text.len() as u64, "same size");
    let tmp = path.with_extension("next");
    std::fs::write(&tmp, text).unwrap();
    let f = std::fs::File::options().write(true).open(&tmp).unwrap();
    f.set_modified(old.modified().unwrap()).unwrap();
    drop(f);
    std::fs::rename(&tmp, path).unwrap();
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// One side of a chat: what it sends and the events it receives.
struct Participant {
    name: &'static str,
    out: mpsc::Sender<ChatMessage>,
    events: Streaming<ChatEvent>,
}

impl Participant {
    /// Opens a `Chat` stream on its own connection and joins the order's room.
    async fn join(
        addr: std::net::SocketAddr,
        token: &str,
        order_id: &str,
        name: &'static str,
    ) -> Self {
        let (out, rx) = mpsc::channel(16);
        out.send(ChatMessage {
            order_id: order_id.into(),
            sender: name.into(),
            text: String::new(),
        })
        .await
        .unwrap();
        let outbound =
            futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|m| (m, rx)) });
        let events = OrderServiceClient::new(channel(addr).await)
            .chat(authed(outbound, token))
            .await
            .unwrap()
            .into_inner();
        Self { name, out, events }
    }

    async fn say(&self, text: &str) {
        self.out
            .send(ChatMessage {
                order_id: String::new(),
                sender: self.name.into(),
                text: text.into(),
            })
            .await
            .expect("the chat stream is open");
    }

    /// Waits (at most 10 s) for an event of `kind` with `text`, skipping others.
    async fn expect(&mut self, kind: ChatEventKind, text: &str) {
        let wait = async {
            loop {
                let ev = self
                    .events
                    .message()
                    .await
                    .expect("the chat stream stays open")
                    .expect("the chat stream has not ended");
                if ev.kind == kind as i32 && ev.text == text {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{}: no {kind:?} '{text}' within 10 s", self.name));
    }
}

/// Both directions of the chat still carry messages.
async fn exchange(alice: &mut Participant, bob: &mut Participant, label: &str) {
    let a = format!("alice {label}");
    alice.say(&a).await;
    bob.expect(ChatEventKind::Message, &a).await;
    let b = format!("bob {label}");
    bob.say(&b).await;
    alice.expect(ChatEventKind::Message, &b).await;
}

/// The status code of `ListUsers` called with API key `key`.
async fn with_api_key(users: &mut UserServiceClient<Channel>, key: &str) -> Code {
    let mut req = tonic::Request::new(ListUsersRequest::default());
    req.metadata_mut().insert("x-api-key", key.parse().unwrap());
    match users.list_users(req).await {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// The status code of `ListUsers` called with a token signed by JWT key `k1` = `secret`.
async fn with_jwt_key(users: &mut UserServiceClient<Channel>, secret: &str) -> Code {
    let token = TokenMinter::hs256(secret)
        .kid("k1")
        .issuer("grpckit")
        .audience("grpckit")
        .token("ops-tool", &["admin"]);
    match users
        .list_users(authed(ListUsersRequest::default(), &token))
        .await
    {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// How many of `n` back-to-back `GetUser` calls were refused with RESOURCE_EXHAUSTED.
async fn exhausted(
    users: &mut UserServiceClient<Channel>,
    id: &str,
    token: &str,
    n: usize,
) -> usize {
    let mut refused = 0;
    for _ in 0..n {
        let req = authed(GetUserRequest { id: id.into() }, token);
        match users.get_user(req).await {
            Ok(_) => {}
            Err(s) if s.code() == Code::ResourceExhausted => refused += 1,
            Err(s) => panic!("GetUser failed otherwise: {s:?}"),
        }
    }
    refused
}

/// A call with a bearer token no key verifies (logged at DEBUG as "bearer token refused").
async fn bad_token_call(users: &mut UserServiceClient<Channel>) {
    let req = authed(ListUsersRequest::default(), "not-a-token");
    let code = users.list_users(req).await.unwrap_err().code();
    assert_eq!(code, Code::Unauthenticated);
}

/// The log lines up to and including the first one containing `needle` (at most 10 s).
fn lines_until(p: &ServerProcess, needle: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match p.logs.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(needle);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no log line with '{needle}' within 10 s: {seen:#?}"),
        }
    }
}

/// `grpckit_config_reload_total{result="RESULT"}`.
async fn reloads(p: &ServerProcess, result: &str) -> u64 {
    let metrics = http_get(p.admin_addr, "/metrics").await.unwrap();
    let prefix = format!("grpckit_config_reload_total{{result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} series"))
        .trim()
        .parse()
        .unwrap()
}

/// `GET /config` as JSON, and its raw text.
async fn config_view(p: &ServerProcess) -> (serde_json::Value, String) {
    let text = http_get(p.admin_addr, "/config").await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_reloads_live_while_a_chat_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grpckit.yaml");
    let first = Settings {
        port: 0,
        level: "info",
        get_user_rate: 100_000,
        api_key: KEY_A,
        jwt_key: JWT_KEY_SECRET,
    };
    std::fs::write(&file, config(dir.path(), &first)).unwrap();
    let mut p = ServerProcess::spawn_file_addresses(
        BIN.as_ref(),
        &["--config", file.to_str().unwrap()],
        &[],
        dir.path(),
    )
    .unwrap();
    let addr = p.addr;
    let (v, _) = config_view(&p).await;
    assert_eq!(v["version"], 1, "{v}");
    let first_hash = v["hash"].as_str().unwrap().to_owned();

    // A user, an order, and two participants chatting in its room.
    let mut users = UserServiceClient::new(channel(addr).await);
    let user = sign_up(&mut users, "config-reload").await.unwrap();
    let order = OrderServiceClient::new(channel(addr).await)
        .create_order(authed(
            order_request(&user.id, &uuid::Uuid::new_v4().to_string(), 1),
            &user.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let mut alice = Participant::join(addr, &user.token, &order.id, "alice").await;
    let mut bob = Participant::join(addr, &user.token, &order.id, "bob").await;
    alice.expect(ChatEventKind::Joined, "bob joined").await;
    exchange(&mut alice, &mut bob, "before any reload").await;

    assert_eq!(with_api_key(&mut users, KEY_A).await, Code::Ok);
    assert_eq!(with_api_key(&mut users, KEY_B).await, Code::Unauthenticated);
    assert_eq!(with_jwt_key(&mut users, JWT_KEY_SECRET).await, Code::Ok);
    assert_eq!(exhausted(&mut users, &user.id, &user.token, 5).await, 0);

    // 1. An edit saved by rename: a lower limit, debug logs, key B instead of key A, a
    //    rotated JWT key.
    let strict = Settings {
        level: "debug",
        get_user_rate: 1,
        api_key: KEY_B,
        jwt_key: JWT_KEY_SECRET_2,
        ..first
    };
    let edited = std::time::Instant::now();
    rename_replace(&file, &config(dir.path(), &strict));
    while exhausted(&mut users, &user.id, &user.token, 1).await == 0 {
        assert!(
            edited.elapsed() < Duration::from_secs(1),
            "the lowered limit applies within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let line = p
        .wait_log("configuration reloaded", Duration::from_secs(10))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["trigger"], "file change", "{line}");
    for key in [
        "log.level",
        "middleware.auth.api_keys",
        "middleware.rate_limit.rules",
    ] {
        assert!(line.contains(key), "{key} applied: {line}");
    }
    assert_eq!(
        with_api_key(&mut users, KEY_B).await,
        Code::Ok,
        "a new key works"
    );
    assert_eq!(
        with_api_key(&mut users, KEY_A).await,
        Code::Unauthenticated,
        "a removed key stops working"
    );
    assert_eq!(with_jwt_key(&mut users, JWT_KEY_SECRET_2).await, Code::Ok);
    assert_eq!(
        with_jwt_key(&mut users, JWT_KEY_SECRET).await,
        Code::Unauthenticated,
        "the replaced JWT key stops working"
    );
    bad_token_call(&mut users).await;
    p.wait_log("bearer token refused", Duration::from_secs(10))
        .expect("a DEBUG line once the level is debug");
    exchange(&mut alice, &mut bob, "after the file reload").await;
    let (v, _) = config_view(&p).await;
    assert_eq!(v["version"], 2, "{v}");
    assert_ne!(v["hash"], first_hash.as_str(), "{v}");
    assert_eq!(reloads(&p, "applied").await, 1);

    // 2. A broken file is rejected whole: counted, logged with its line, old limits stay.
    std::fs::write(&file, padded("middleware:\n  rate_limit: [\n")).unwrap();
    let line = p
        .wait_log("configuration rejected", Duration::from_secs(10))
        .unwrap();
    assert!(line.contains("line "), "the reason names the line: {line}");
    assert_eq!(reloads(&p, "rejected").await, 1);
    assert!(
        exhausted(&mut users, &user.id, &user.token, 3).await > 0,
        "the old limit stays"
    );
    assert_eq!(with_api_key(&mut users, KEY_B).await, Code::Ok);
    assert_eq!(config_view(&p).await.0["version"], 2);
    exchange(&mut alice, &mut bob, "after the rejected file").await;

    // 3. SIGHUP: a replacement the file watch cannot see (same size and modification
    //    time) is put in force by the signal: roomy limit, info logs, key A again.
    replace_unseen(&file, &config(dir.path(), &first));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        config_view(&p).await.0["version"],
        2,
        "the watch cannot see it"
    );
    p.signal("HUP").unwrap();
    let lines = lines_until(&p, "configuration reloaded");
    let v: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(v["trigger"], "SIGHUP", "{v}");
    assert_eq!(exhausted(&mut users, &user.id, &user.token, 5).await, 0);
    assert_eq!(with_api_key(&mut users, KEY_A).await, Code::Ok);
    assert_eq!(with_api_key(&mut users, KEY_B).await, Code::Unauthenticated);
    bad_token_call(&mut users).await;
    // A second SIGHUP with nothing changed marks the point every earlier line is out by.
    p.signal("HUP").unwrap();
    let lines = lines_until(&p, "unchanged");
    assert!(
        !lines.iter().any(|l| l.contains("bearer token refused")),
        "no DEBUG line at info: {lines:#?}"
    );
    assert_eq!(reloads(&p, "unchanged").await, 1);
    assert_eq!(reloads(&p, "applied").await, 2);
    exchange(&mut alice, &mut bob, "after the SIGHUP reload").await;

    // 4. A listen port cannot change live: "needs restart", counted, still served where it was.
    let moved = Settings { port: 1, ..first };
    rename_replace(&file, &config(dir.path(), &moved));
    let line = p
        .wait_log("needs restart", Duration::from_secs(10))
        .unwrap();
    assert!(line.contains("server.port"), "{line}");
    assert_eq!(reloads(&p, "restart_required").await, 1);
    let (v, text) = config_view(&p).await;
    assert_eq!(v["version"], 4, "{v}");
    assert_eq!(
        v["pending_restart"],
        serde_json::json!(["server.port"]),
        "{v}"
    );
    assert_eq!(v["config"]["server"]["port"], 0, "the running port: {v}");
    assert_eq!(v["config"]["log"]["level"], "info", "{v}");
    // Secrets are hidden.
    assert_eq!(v["config"]["auth"]["jwt_secret"], "<redacted>", "{v}");
    assert_eq!(
        v["config"]["middleware"]["auth"]["jwt"]["keys"][0]["secret"], "<redacted>",
        "{v}"
    );
    for secret in [LOGIN_SECRET, JWT_KEY_SECRET, &hash_api_key(KEY_A)] {
        assert!(!text.contains(secret), "{secret} is shown: {text}");
    }
    exchange(&mut alice, &mut bob, "after the restart-only change").await;

    drop((alice, bob));
    p.terminate().unwrap();
    p.wait_exit(Duration::from_secs(15)).unwrap();
}
