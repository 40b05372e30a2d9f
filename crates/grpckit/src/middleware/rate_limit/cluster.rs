//! Cluster-wide limits shared by several instances: a fixed-window counter per
//! (rule, principal) in Redis (`INCR` + `PEXPIRE` in one script).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

use crate::config::RedisLimitConfig;

const SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
";

/// Outcome of a cluster check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterVerdict {
    /// Within the budget.
    Allow,
    /// Over the budget; retry after.
    Deny(Duration),
    /// Redis failed and `fail_open` is false.
    Unavailable,
}

/// The Redis-backed limiter.
pub struct ClusterLimiter {
    client: Option<redis::Client>,
    conn: OnceCell<MultiplexedConnection>,
    script: redis::Script,
    prefix: String,
    fail_open: bool,
    timeout: Duration,
}

impl std::fmt::Debug for ClusterLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterLimiter")
            .field("prefix", &self.prefix)
            .field("fail_open", &self.fail_open)
            .finish()
    }
}

impl ClusterLimiter {
    /// Connects lazily on first use.
    pub fn new(cfg: &RedisLimitConfig) -> Self {
        let client = redis::Client::open(cfg.url.as_str())
            .inspect_err(
                |e| tracing::warn!(error = %e, "middleware.rate_limit.redis.url is invalid"),
            )
            .ok();
        Self {
            client,
            conn: OnceCell::new(),
            script: redis::Script::new(SCRIPT),
            prefix: cfg.prefix.clone(),
            fail_open: cfg.fail_open,
            timeout: cfg.timeout,
        }
    }

    async fn count(&self, key: &str, window: Duration) -> Result<(u64, i64), String> {
        let client = self.client.as_ref().ok_or("no redis client")?;
        let conn = self
            .conn
            .get_or_try_init(|| async { client.get_multiplexed_async_connection().await })
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = conn.clone();
        let ms = window.as_millis().max(1) as u64;
        self.script
            .key(key)
            .arg(ms)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }

    /// Counts one call of `who` against `rule`'s `(limit, window)`.
    pub async fn check(
        &self,
        rule: &str,
        who: &str,
        limit: u32,
        window: Duration,
    ) -> ClusterVerdict {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let slot = now.as_millis() / window.as_millis().max(1);
        let key = format!("{}:{rule}:{who}:{slot}", self.prefix);
        match tokio::time::timeout(self.timeout, self.count(&key, window)).await {
            Ok(Ok((n, pttl))) if n > u64::from(limit) => {
                ClusterVerdict::Deny(Duration::from_millis(pttl.max(1) as u64))
            }
            Ok(Ok(_)) => ClusterVerdict::Allow,
            Ok(Err(e)) => self.failed(&e),
            Err(_) => self.failed("timed out"),
        }
    }

    fn failed(&self, why: &str) -> ClusterVerdict {
        tracing::warn!(
            error = why,
            fail_open = self.fail_open,
            "redis rate limit check failed"
        );
        if self.fail_open {
            ClusterVerdict::Allow
        } else {
            ClusterVerdict::Unavailable
        }
    }
}
