//! [`ServerProcess`]: the real `grpckit server` binary as a child process, for split mode,
//! restarts and signal handling. The bound addresses are read from its JSON start-up log.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use anyhow::{Context, bail};

/// A running `grpckit server` process (killed on drop).
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// gRPC address.
    pub addr: SocketAddr,
    /// Admin address.
    pub admin_addr: SocketAddr,
    /// Log lines after the start-up line (collected by a reader thread).
    pub logs: mpsc::Receiver<String>,
    startup: Vec<String>,
}

fn field(line: &str, key: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get(key)?.as_str()?.parse().ok()
}

impl ServerProcess {
    /// Runs `bin server ARGS` with listeners on 127.0.0.1:0 unless given in `args`, and with
    /// roomy limits on the public methods (a `grpckit-test-limits.yaml` in `cwd`, through
    /// `GRPCKIT_CONFIG`) unless `--config` or `GRPCKIT_CONFIG` is given.
    pub fn spawn(
        bin: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        cwd: &Path,
    ) -> anyhow::Result<Self> {
        Self::spawn_wrapped(&[], bin, args, envs, cwd)
    }

    /// Like [`ServerProcess::spawn`], run under `wrapper` (e.g. `["taskset", "-c", "0"]`).
    pub fn spawn_wrapped(
        wrapper: &[&str],
        bin: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        cwd: &Path,
    ) -> anyhow::Result<Self> {
        Self::spawn_inner(wrapper, bin, args, envs, cwd, true)
    }

    /// Runs `bin server ARGS` with the listen addresses the config file gives (no
    /// `--listen`/`--metrics-listen` flags, which would win over the file): for tests that
    /// change them in the file.
    pub fn spawn_file_addresses(
        bin: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        cwd: &Path,
    ) -> anyhow::Result<Self> {
        Self::spawn_inner(&[], bin, args, envs, cwd, false)
    }

    fn spawn_inner(
        wrapper: &[&str],
        bin: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        cwd: &Path,
        listen_flags: bool,
    ) -> anyhow::Result<Self> {
        let mut cmd = match wrapper.split_first() {
            Some((w, rest)) => {
                let mut c = Command::new(w);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.arg("server")
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if listen_flags && !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        if listen_flags && !args.contains(&"--metrics-listen") {
            cmd.args(["--metrics-listen", "127.0.0.1:0"]);
        }
        cmd.args(args)
            .env("GRPCKIT_LOG_FORMAT", "json")
            .env_remove("RUST_LOG");
        // Roomy limits on the public methods unless the test brings its own config.
        if !args.contains(&"--config") && !envs.iter().any(|(k, _)| *k == "GRPCKIT_CONFIG") {
            let limits = cwd.join("grpckit-test-limits.yaml");
            std::fs::write(&limits, crate::server::roomy_rate_rules_yaml())
                .with_context(|| format!("cannot write {}", limits.display()))?;
            cmd.env("GRPCKIT_CONFIG", &limits);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let (Some(addr), Some(admin_addr)) =
                        (field(&line, "addr"), field(&line, "admin_addr"))
                    {
                        seen.push(line);
                        return Ok(Self {
                            child,
                            addr,
                            admin_addr,
                            startup: seen,
                            logs: rx,
                        });
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        bail!("server exited with {status}: {}", seen.join("\n"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait()?;
                    bail!("server exited with {status}: {}", seen.join("\n"));
                }
            }
        }
        let _ = child.kill();
        bail!(
            "server did not report its address in 30 s: {}",
            seen.join("\n")
        )
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Log lines received so far (non-blocking).
    pub fn drain_logs(&mut self) -> Vec<String> {
        let mut v = std::mem::take(&mut self.startup);
        v.extend(self.logs.try_iter());
        v
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) -> anyhow::Result<()> {
        self.signal("TERM")
    }

    /// Sends a signal by name, e.g. `HUP` or `INT`.
    pub fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{name} failed");
        Ok(())
    }

    /// Waits (at most `timeout`) for a log line containing `needle` and returns it; the
    /// lines read before it are consumed.
    pub fn wait_log(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = std::time::Instant::now() + timeout;
        if let Some(i) = self.startup.iter().position(|l| l.contains(needle)) {
            return Ok(self.startup.remove(i));
        }
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(_) => {}
                Err(_) => bail!("no log line with '{needle}' within {timeout:?}"),
            }
        }
    }

    /// Waits for the process to exit (at most `timeout`), returning its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<i32>> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("process did not exit within {timeout:?}")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
