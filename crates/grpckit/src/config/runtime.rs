//! `server.runtime`: which tokio runtime serves the calls.
//!
//! On one CPU the multi-thread scheduler costs ~22% throughput and a ~30 ms p99 tail
//! compared with a current-thread runtime (see `bench/README.md`), so `auto` picks
//! `current_thread` when the process may use exactly one CPU (cgroup quota and affinity, as
//! `std::thread::available_parallelism` reports them) and `multi_thread` otherwise.

use serde::{Deserialize, Serialize};

/// Runtime flavour names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeFlavor {
    /// `current_thread` on one available CPU, `multi_thread` otherwise.
    #[default]
    Auto,
    /// tokio's work-stealing scheduler with `server.workers` threads.
    MultiThread,
    /// One thread does everything.
    CurrentThread,
    /// `server.cores` current-thread runtimes, each with its own `SO_REUSEPORT` listener.
    ThreadPerCore,
}

impl RuntimeFlavor {
    /// Config/flag name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::MultiThread => "multi_thread",
            Self::CurrentThread => "current_thread",
            Self::ThreadPerCore => "thread_per_core",
        }
    }
}

impl std::str::FromStr for RuntimeFlavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.replace('-', "_").as_str() {
            "auto" => Self::Auto,
            "multi_thread" => Self::MultiThread,
            "current_thread" => Self::CurrentThread,
            "thread_per_core" => Self::ThreadPerCore,
            other => {
                return Err(format!(
                    "unknown runtime '{other}' (expected auto, multi_thread, current_thread or thread_per_core)"
                ));
            }
        })
    }
}
