//! The JSON-lines file sink.

use std::{
    fs::OpenOptions,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender, TrySendError},
    },
    time::Duration,
};

use serde::Serialize;

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

/// Where audit records go. Cloning shares the writer.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: SyncSender<AuditRecord>,
    stats: Arc<AuditStats>,
    path: PathBuf,
}

impl AuditSink {
    /// A JSON-lines file sink at `path` (appended; created when missing), with a bounded queue.
    pub fn file(path: &Path, buffer: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel(buffer.max(1));
        let stats = Arc::new(AuditStats::default());
        let (p, s) = (path.to_path_buf(), stats.clone());
        let spawned = std::thread::Builder::new()
            .name("grpckit-audit".into())
            .spawn(move || writer(&p, &rx, &s));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the audit writer thread");
        }
        Self {
            tx,
            stats,
            path: path.to_path_buf(),
        }
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

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> std::io::Result<BufWriter<std::fs::File>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(BufWriter::new(
        OpenOptions::new().create(true).append(true).open(path)?,
    ))
}

fn writer(path: &Path, rx: &Receiver<AuditRecord>, stats: &AuditStats) {
    let mut out: Option<BufWriter<std::fs::File>> = None;
    let mut line = Vec::with_capacity(512);
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(r) = rx.recv_timeout(Duration::from_millis(0)) {
            batch.push(r);
            if batch.len() >= 256 {
                break;
            }
        }
        if out.is_none() {
            match open(path) {
                Ok(f) => out = Some(f),
                Err(e) => {
                    let n = stats
                        .failed
                        .fetch_add(batch.len() as u64, Ordering::Relaxed)
                        + batch.len() as u64;
                    tracing::error!(error = %e, path = %path.display(), failed_total = n, "audit file cannot be opened; records lost");
                    continue;
                }
            }
        }
        let Some(f) = out.as_mut() else { continue };
        let mut result = Ok(());
        for r in &batch {
            line.clear();
            if serde_json::to_writer(&mut line, r).is_ok() {
                line.push(b'\n');
                result = result.and_then(|()| f.write_all(&line));
            }
        }
        match result.and_then(|()| f.flush()) {
            Ok(()) => {
                stats
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                let n = stats
                    .failed
                    .fetch_add(batch.len() as u64, Ordering::Relaxed)
                    + batch.len() as u64;
                tracing::error!(error = %e, path = %path.display(), failed_total = n, "audit write failed; records lost");
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

    #[test]
    fn writes_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/audit.log");
        let s = AuditSink::file(&p, 10);
        s.record(rec("a.S/CreateX"));
        s.record(rec("a.S/DeleteX"));
        for _ in 0..200 {
            if s.stats().written.load(Ordering::Relaxed) == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("\"method\":\"a.S/DeleteX\""));
    }

    #[test]
    fn unwritable_path_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: open fails.
        let p = dir.path().join("isdir");
        std::fs::create_dir(&p).unwrap();
        let s = AuditSink::file(&p, 10);
        s.record(rec("a.S/CreateX"));
        for _ in 0..200 {
            if s.stats().failed.load(Ordering::Relaxed) == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(s.stats().failed.load(Ordering::Relaxed), 1);
    }
}
