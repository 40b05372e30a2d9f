//! [`watch`]: calls back when a file changes (debounced) or the process gets SIGHUP.
//!
//! The file is checked by path every [`POLL`] (modification time and size, as the TLS
//! certificate watch does): an editor that writes a new file and renames it over the old one
//! is seen like an in-place write, and a file that is missing for a moment (between unlink
//! and rename) only delays the call. A change is reported once the file has kept the same
//! stamp for [`SETTLE`], so a burst of writes gives one call.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use crate::server::{Hangup, Shutdown};

/// How often the file is checked.
const POLL: Duration = Duration::from_millis(50);
/// How long the file must stay unchanged before a change is reported.
const SETTLE: Duration = Duration::from_millis(200);

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The watched file changed.
    FileChange,
    /// The process received SIGHUP.
    Sighup,
}

impl Trigger {
    /// `file change` or `SIGHUP`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FileChange => "file change",
            Self::Sighup => "SIGHUP",
        }
    }
}

/// Modification time and size of `path` (`None` while it cannot be read).
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Calls `on_change` after each settled change of `path` and on each SIGHUP, until
/// `stop` fires. Calls run one at a time on this task.
pub async fn watch(path: PathBuf, stop: Shutdown, mut on_change: impl FnMut(Trigger)) {
    let mut seen = stamp(&path);
    // The stamp of a change not reported yet, and since when the file has had it.
    let mut pending: Option<(Option<(SystemTime, u64)>, tokio::time::Instant)> = None;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = Hangup::register();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = hangup.recv() => {
                seen = stamp(&path);
                pending = None;
                on_change(Trigger::Sighup);
            }
            _ = tick.tick() => {
                let now = stamp(&path);
                match &pending {
                    Some((p, since)) if *p == now => {
                        if since.elapsed() >= SETTLE && now.is_some() {
                            seen = now;
                            pending = None;
                            on_change(Trigger::FileChange);
                        }
                    }
                    _ if now != seen => pending = Some((now, tokio::time::Instant::now())),
                    _ => pending = None,
                }
            }
        }
    }
}
