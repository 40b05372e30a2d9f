//! The sinks: JSON lines on stderr (default) or in a file rotated by size (with
//! [`rolling_file`]: `audit.log` -> `audit.log.1` -> ... -> `audit.log.N`, then deleted).
//! A writer thread of its own does the I/O; the serving threads only queue.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender, TrySendError},
    },
    time::Duration,
};

use rolling_file::{RollingConditionBasic, RollingFileAppender};
use serde::Serialize;

use crate::config::{AuditConfig, AuditFileConfig, AuditSinkKind};

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC time the call ended.
    pub time: String,
    /// Subject of the caller (`anonymous` when none).
    pub principal: String,
    /// `jwt`, `api_key` or `none`.
    pub auth: &'static str,
    /// `pkg.Service/Method`.
    pub method: String,
    /// Call kind.
    pub kind: &'static str,
    /// `id`/`order_id`/`user_id` of the (first) request message.
    pub target: Option<String>,
    /// `x-request-id`.
    pub request_id: String,
    /// Peer address.
    pub peer: Option<String>,
    /// gRPC code name of the outcome.
    pub code: &'static str,
    /// Duration in microseconds.
    pub duration_us: u64,
}

/// Counters of the sink.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Records written.
    pub written: AtomicU64,
    /// Records that could not be written (I/O error) or queued (buffer full).
    pub failed: AtomicU64,
}

/// A record as written: tagged `"stream":"audit"` so the trail can be split from the logs
/// that share stderr.
#[derive(Serialize)]
struct Tagged<'a> {
    stream: &'static str,
    #[serde(flatten)]
    record: &'a AuditRecord,
}

/// Where the writer thread puts the records.
#[derive(Debug, Clone)]
enum Output {
    Stderr,
    File {
        path: PathBuf,
        max_size: u64,
        max_files: usize,
    },
}

/// Where audit records go. Cloning shares the writer.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: SyncSender<AuditRecord>,
    stats: Arc<AuditStats>,
    path: Option<PathBuf>,
}

impl AuditSink {
    /// The sink `cfg` asks for.
    pub fn from_config(cfg: &AuditConfig) -> Self {
        match cfg.sink {
            AuditSinkKind::Stderr => Self::stderr(cfg.buffer),
            AuditSinkKind::File => Self::file(&cfg.file, cfg.buffer),
        }
    }

    /// JSON lines on stderr, with a bounded queue. A batch of records is written under the
    /// stderr lock in one go, so log lines never cut into a record.
    pub fn stderr(buffer: usize) -> Self {
        Self::start(Output::Stderr, buffer)
    }

    /// A JSON-lines file (appended; created with its folder when missing), rotated by size,
    /// with a bounded queue.
    pub fn file(cfg: &AuditFileConfig, buffer: usize) -> Self {
        Self::start(
            Output::File {
                path: cfg.path.clone(),
                max_size: cfg.max_size.get(),
                max_files: cfg.max_files.get(),
            },
            buffer,
        )
    }

    fn start(output: Output, buffer: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel(buffer.max(1));
        let stats = Arc::new(AuditStats::default());
        let path = match &output {
            Output::File { path, .. } => Some(path.clone()),
            Output::Stderr => None,
        };
        let s = stats.clone();
        let spawned = std::thread::Builder::new()
            .name("grpckit-audit".into())
            .spawn(move || writer(&output, &rx, &s));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the audit writer thread");
        }
        Self { tx, stats, path }
    }

    /// Queues a record; a full queue or a dead writer is logged and counted.
    pub fn record(&self, r: AuditRecord) {
        match self.tx.try_send(r) {
            Ok(()) => {}
            Err(TrySendError::Full(r) | TrySendError::Disconnected(r)) => {
                let n = self.stats.failed.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(method = %r.method, request_id = %r.request_id, failed_total = n, "audit record lost: sink queue full or writer gone");
            }
        }
    }

    /// Counters.
    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }

    /// The file of the file sink (`None` on stderr).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

type Rolling = RollingFileAppender<RollingConditionBasic>;

/// The open destination.
enum Dest {
    Stderr,
    File(Box<Rolling>),
}

impl Dest {
    fn open(output: &Output) -> std::io::Result<Self> {
        match output {
            Output::Stderr => Ok(Self::Stderr),
            Output::File {
                path,
                max_size,
                max_files,
            } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let cond = RollingConditionBasic::new().max_size(*max_size);
                Ok(Self::File(Box::new(Rolling::new(path, cond, *max_files)?)))
            }
        }
    }

    /// Writes whole lines: a file rotates between two records, never inside one.
    fn write_lines(&mut self, lines: &[Vec<u8>]) -> std::io::Result<()> {
        match self {
            Self::Stderr => {
                let mut err = std::io::stderr().lock();
                for l in lines {
                    err.write_all(l)?;
                }
                err.flush()
            }
            Self::File(f) => {
                // One `write` per record: the size check runs before each.
                for l in lines {
                    f.write_all(l)?;
                }
                f.flush()
            }
        }
    }
}

fn describe(output: &Output) -> String {
    match output {
        Output::Stderr => "stderr".into(),
        Output::File { path, .. } => path.display().to_string(),
    }
}

fn writer(output: &Output, rx: &Receiver<AuditRecord>, stats: &AuditStats) {
    let mut out: Option<Dest> = None;
    let lost = |n: usize| stats.failed.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(r) = rx.recv_timeout(Duration::from_millis(0)) {
            batch.push(r);
            if batch.len() >= 256 {
                break;
            }
        }
        if out.is_none() {
            match Dest::open(output) {
                Ok(d) => out = Some(d),
                Err(e) => {
                    let n = lost(batch.len());
                    tracing::error!(error = %e, sink = %describe(output), failed_total = n, "audit sink cannot be opened; records lost");
                    continue;
                }
            }
        }
        let Some(dest) = out.as_mut() else { continue };
        let lines: Vec<Vec<u8>> = batch
            .iter()
            .filter_map(|record| {
                let mut line = serde_json::to_vec(&Tagged {
                    stream: "audit",
                    record,
                })
                .ok()?;
                line.push(b'\n');
                Some(line)
            })
            .collect();
        match dest.write_lines(&lines) {
            Ok(()) => {
                stats
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                let n = lost(batch.len());
                tracing::error!(error = %e, sink = %describe(output), failed_total = n, "audit write failed; records lost");
                out = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(m: &str) -> AuditRecord {
        AuditRecord {
            time: "t".into(),
            principal: "u1".into(),
            auth: "jwt",
            method: m.into(),
            kind: "unary",
            target: Some("x".into()),
            request_id: "r".into(),
            peer: None,
            code: "OK",
            duration_us: 1,
        }
    }

    fn file_cfg(path: PathBuf, max_size: u64, max_files: usize) -> AuditFileConfig {
        AuditFileConfig {
            path,
            max_size: max_size.try_into().unwrap(),
            max_files: max_files.try_into().unwrap(),
        }
    }

    fn wait_for(s: &AuditSink, written: u64, failed: u64) {
        for _ in 0..200 {
            if s.stats().written.load(Ordering::Relaxed) == written
                && s.stats().failed.load(Ordering::Relaxed) == failed
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("sink counters never reached {written}/{failed}");
    }

    #[test]
    fn writes_tagged_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/audit.log");
        let s = AuditSink::file(&file_cfg(p.clone(), 1 << 20, 2), 10);
        s.record(rec("a.S/CreateX"));
        s.record(rec("a.S/DeleteX"));
        wait_for(&s, 2, 0);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("\"method\":\"a.S/DeleteX\""));
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["stream"], "audit");
        }
    }

    #[test]
    fn file_rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.log");
        let line_len = serde_json::to_vec(&Tagged {
            stream: "audit",
            record: &rec("a.S/CreateX"),
        })
        .unwrap()
        .len() as u64
            + 1;
        // Three records per file.
        let s = AuditSink::file(&file_cfg(p.clone(), 3 * line_len, 2), 100);
        for _ in 0..20 {
            s.record(rec("a.S/CreateX"));
        }
        wait_for(&s, 20, 0);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        for name in ["audit.log", "audit.log.1", "audit.log.2"] {
            let text = read(name);
            // Whole records only, and no file over the limit by more than one record.
            for l in text.lines() {
                serde_json::from_str::<serde_json::Value>(l).unwrap();
            }
            assert!(text.len() as u64 <= 3 * line_len, "{name}: {}", text.len());
        }
        assert_eq!(read("audit.log.1").lines().count(), 3);
        assert!(
            !dir.path().join("audit.log.3").exists(),
            "only 2 rotated files kept"
        );
    }

    #[test]
    fn unwritable_path_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: open fails.
        let p = dir.path().join("isdir");
        std::fs::create_dir(&p).unwrap();
        let s = AuditSink::file(&file_cfg(p, 1 << 20, 1), 10);
        s.record(rec("a.S/CreateX"));
        wait_for(&s, 0, 1);
        assert!(s.path().is_some());
    }
}
