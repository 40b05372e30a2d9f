//! Hot reload of a configuration file, generic over the application's config type `T`.
//!
//! The framework does not know an application's sections: [`Reloader`] is given how to load
//! the whole config (the same loader as at start, layering included), which keys can change
//! while serving, and what to do with a new config; it does the rest:
//!
//! - [`watch`] calls it when the file changes (debounced; rename-replace works) and on SIGHUP;
//! - the new config is loaded and validated as a whole; a broken one is rejected (logged with
//!   the reason, counted) and the config in force stays;
//! - the keys that differ from the config in force ([`changed_keys`]) are split into live
//!   ones, handed to the apply closure, and ones that need a restart, logged as
//!   "needs restart" (they keep their running values);
//! - `grpckit_config_reload_total{result}` counts `applied`, `restart_required` (some changed
//!   key needs a restart; the live ones were applied), `rejected` and `unchanged`;
//! - [`ConfigState`] holds the config in force behind an `ArcSwap`, with a version (1 at
//!   start, +1 per reload that changed something) and a SHA-256 hash; published with
//!   [`ConfigState::publish`], the admin port's `GET /config` shows it with secrets hidden.

mod diff;
mod metrics;
mod watch;

use std::{path::PathBuf, sync::Arc};

use arc_swap::ArcSwap;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use diff::{REDACTED, changed_keys, redact};
pub use watch::{Trigger, watch};

use crate::{error_chain::ErrorChain, server::Shutdown};

/// An error from an application's load or apply closure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The outcome of one reload, the `result` label of `grpckit_config_reload_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    /// Every changed key was applied live.
    Applied,
    /// Some changed key needs a restart (the live ones were applied).
    RestartRequired,
    /// The new config did not load or apply; the previous one stays in force.
    Rejected,
    /// Nothing changed.
    Unchanged,
}

impl ReloadResult {
    const ALL: [Self; 4] = [
        Self::Applied,
        Self::RestartRequired,
        Self::Rejected,
        Self::Unchanged,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::RestartRequired => "restart_required",
            Self::Rejected => "rejected",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The config in force at one moment.
#[derive(Debug)]
pub struct Snapshot<T> {
    /// The config as last loaded (keys that need a restart may differ from the running
    /// values; see `pending_restart`).
    pub config: Arc<T>,
    /// 1 at start, +1 per reload that changed something.
    pub version: u64,
    /// SHA-256 (hex) of the config's JSON.
    pub hash: String,
    /// Keys whose loaded value differs from the one the process started with and that need
    /// a restart to take effect.
    pub pending_restart: Vec<String>,
}

/// Computes a view entry from the config in force.
type DerivedFn<T> = Box<dyn Fn(&T) -> Value + Send + Sync>;

/// The config in force, swappable, with what `GET /config` shows.
pub struct ConfigState<T> {
    current: ArcSwap<Snapshot<T>>,
    /// The JSON of the config the process started with (what restart-only keys still run).
    started: Value,
    /// Key names whose values are hidden in views ([`redact`]).
    secret_keys: &'static [&'static str],
    /// Entries computed from the config, shown beside it ([`ConfigState::with_derived`]).
    derived: Vec<(&'static str, DerivedFn<T>)>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for ConfigState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigState")
            .field("current", &self.current)
            .field(
                "derived",
                &self.derived.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn to_json<T: Serialize>(cfg: &T) -> Result<Value, serde_json::Error> {
    serde_json::to_value(cfg)
}

fn hash_of(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl<T: Serialize + Send + Sync + 'static> ConfigState<T> {
    /// The state of a process that started with `config` (version 1). Values under keys
    /// named in `secret_keys` (and URL passwords) are hidden from [`ConfigState::view`].
    ///
    /// # Errors
    /// The config does not serialize to JSON.
    pub fn new(config: T, secret_keys: &'static [&'static str]) -> Result<Self, BoxError> {
        let started = to_json(&config)?;
        let hash = hash_of(&started);
        metrics::register();
        Ok(Self {
            current: ArcSwap::from_pointee(Snapshot {
                config: Arc::new(config),
                version: 1,
                hash,
                pending_restart: Vec::new(),
            }),
            started,
            secret_keys,
            derived: Vec::new(),
        })
    }

    /// Shows `derive(config in force)` under `key` in [`ConfigState::view`], beside the
    /// config (e.g. the effective per-method policy, which the config alone does not say).
    /// The value is shown as computed: keep secrets out of it.
    #[must_use]
    pub fn with_derived(
        mut self,
        key: &'static str,
        derive: impl Fn(&T) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.derived.push((key, Box::new(derive)));
        self
    }

    /// The config in force now.
    pub fn current(&self) -> Arc<Snapshot<T>> {
        self.current.load_full()
    }

    /// `{version, hash, pending_restart, config}`: the config running now (keys pending a
    /// restart show their running values), secrets hidden; plus the entries of
    /// [`ConfigState::with_derived`].
    pub fn view(&self) -> Value {
        let snap = self.current.load();
        let mut config = to_json(&*snap.config).unwrap_or(Value::Null);
        for key in &snap.pending_restart {
            if let Some(v) = diff::get(&self.started, key) {
                diff::set(&mut config, key, v.clone());
            }
        }
        redact(&mut config, self.secret_keys);
        let mut view = json!({
            "version": snap.version,
            "hash": snap.hash,
            "pending_restart": snap.pending_restart,
            "config": config,
        });
        for (key, derive) in &self.derived {
            view[*key] = derive(&snap.config);
        }
        view
    }

    /// Serves [`ConfigState::view`] at `GET /config` on the admin port (the last state
    /// published wins).
    pub fn publish(self: &Arc<Self>) {
        let me = Arc::clone(self);
        crate::telemetry::admin::set_config_view(Arc::new(move || me.view()));
    }
}

/// Loads a config.
type LoadFn<T> = Box<dyn Fn() -> Result<T, BoxError> + Send + Sync>;
/// Whether a key can change live.
type LiveFn = Box<dyn Fn(&str) -> bool + Send + Sync>;
/// Applies the live keys of a new config.
type ApplyFn<T> = Box<dyn Fn(&T, &[String]) -> Result<(), BoxError> + Send + Sync>;

/// Reloads a [`ConfigState`] with an application's closures (see the module docs).
pub struct Reloader<T> {
    state: Arc<ConfigState<T>>,
    load: LoadFn<T>,
    is_live: LiveFn,
    apply: ApplyFn<T>,
    /// One reload at a time (each runs on a blocking thread, see [`Reloader::watch`]).
    one: std::sync::Mutex<()>,
}

impl<T> std::fmt::Debug for Reloader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader").finish_non_exhaustive()
    }
}

impl<T: Serialize + Send + Sync + 'static> Reloader<T> {
    /// A reloader of `state`: `load` reads and validates the whole config (as at start);
    /// `is_live` tells whether a dotted key path can change while serving; `apply` puts the
    /// live keys of a new config in force (given the changed live keys) or fails, and then
    /// nothing may have changed.
    pub fn new(
        state: Arc<ConfigState<T>>,
        load: impl Fn() -> Result<T, BoxError> + Send + Sync + 'static,
        is_live: impl Fn(&str) -> bool + Send + Sync + 'static,
        apply: impl Fn(&T, &[String]) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            state,
            load: Box::new(load),
            is_live: Box::new(is_live),
            apply: Box::new(apply),
            one: std::sync::Mutex::new(()),
        }
    }

    /// Loads, compares, applies and counts once.
    pub fn reload(&self, trigger: Trigger) -> ReloadResult {
        let _one = self.one.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.try_reload(trigger);
        metrics::count(result);
        result
    }

    fn reject(trigger: Trigger, e: &(dyn std::error::Error + 'static)) -> ReloadResult {
        let trigger = trigger.as_str();
        tracing::warn!(
            trigger,
            error = %ErrorChain(e),
            "configuration rejected ({trigger}): {}; the previous configuration stays in force",
            ErrorChain(e)
        );
        ReloadResult::Rejected
    }

    fn try_reload(&self, trigger: Trigger) -> ReloadResult {
        let new = match (self.load)() {
            Ok(c) => c,
            Err(e) => return Self::reject(trigger, &*e),
        };
        let new_json = match to_json(&new) {
            Ok(v) => v,
            Err(e) => return Self::reject(trigger, &e),
        };
        let cur = self.state.current.load_full();
        let cur_json = to_json(&*cur.config).unwrap_or(Value::Null);
        let changed = changed_keys(&cur_json, &new_json);
        let t = trigger.as_str();
        if changed.is_empty() {
            tracing::info!(
                trigger = t,
                version = cur.version,
                "configuration read again ({t}): unchanged"
            );
            return ReloadResult::Unchanged;
        }
        let (live, restart): (Vec<String>, Vec<String>) =
            changed.into_iter().partition(|k| (self.is_live)(k));
        if !live.is_empty()
            && let Err(e) = (self.apply)(&new, &live)
        {
            return Self::reject(trigger, &*e);
        }
        let pending_restart: Vec<String> = changed_keys(&self.state.started, &new_json)
            .into_iter()
            .filter(|k| !(self.is_live)(k))
            .collect();
        // A restart-only key set back to its running value needs nothing.
        let (restart, back): (Vec<String>, Vec<String>) = restart
            .into_iter()
            .partition(|k| pending_restart.contains(k));
        let version = cur.version + 1;
        let hash = hash_of(&new_json);
        self.state.current.store(Arc::new(Snapshot {
            config: Arc::new(new),
            version,
            hash: hash.clone(),
            pending_restart,
        }));
        if !live.is_empty() {
            tracing::info!(
                trigger = t,
                version,
                hash,
                keys = ?live,
                "configuration reloaded ({t}): applied {}",
                live.join(", ")
            );
        }
        if !back.is_empty() {
            tracing::info!(
                trigger = t,
                version,
                keys = ?back,
                "configuration reloaded ({t}): {} back to the running values",
                back.join(", ")
            );
        }
        if restart.is_empty() {
            ReloadResult::Applied
        } else {
            tracing::warn!(
                trigger = t,
                version,
                keys = ?restart,
                "configuration changed ({t}) but needs restart for: {}; these keys keep their running values until the process restarts",
                restart.join(", ")
            );
            ReloadResult::RestartRequired
        }
    }

    /// Reloads on each change of `path` and each SIGHUP until `stop` fires ([`watch`]).
    /// Each reload (reading the file, checking it whole, building the new states) runs on
    /// tokio's blocking pool, one at a time, so that it never holds up the calls of a
    /// serving thread (with the default `current_thread` runtime the watch shares the
    /// serving thread).
    pub async fn watch(self, path: PathBuf, stop: Shutdown) {
        let this = Arc::new(self);
        watch(path, stop, |t| {
            let this = this.clone();
            drop(tokio::task::spawn_blocking(move || this.reload(t)));
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Debug, Clone, Serialize)]
    struct Cfg {
        live: u32,
        port: u16,
        secret: String,
    }

    fn cfg(live: u32, port: u16) -> Cfg {
        Cfg {
            live,
            port,
            secret: "hush".into(),
        }
    }

    /// A reloader whose file is `next` (`None`: broken) and whose apply refuses `live == 99`.
    fn reloader(
        next: Arc<Mutex<Option<Cfg>>>,
        applied: Arc<Mutex<Vec<Vec<String>>>>,
    ) -> (Arc<ConfigState<Cfg>>, Reloader<Cfg>) {
        let state = Arc::new(ConfigState::new(cfg(1, 80), &["secret"]).unwrap());
        let r = Reloader::new(
            state.clone(),
            move || {
                next.lock()
                    .unwrap()
                    .clone()
                    .ok_or_else(|| "broken at line 3".into())
            },
            |k| k == "live",
            move |c: &Cfg, keys| {
                if c.live == 99 {
                    return Err("cannot apply".into());
                }
                applied.lock().unwrap().push(keys.to_vec());
                Ok(())
            },
        );
        (state, r)
    }

    #[test]
    fn applies_live_keys_reports_restart_keys_and_keeps_the_old_config_on_errors() {
        let next = Arc::new(Mutex::new(Some(cfg(1, 80))));
        let applied = Arc::default();
        let (state, r) = reloader(next.clone(), Arc::clone(&applied));
        let hash = state.current().hash.clone();
        assert_eq!(r.reload(Trigger::Sighup), ReloadResult::Unchanged);
        assert_eq!(state.current().version, 1);

        *next.lock().unwrap() = Some(cfg(2, 80));
        assert_eq!(r.reload(Trigger::FileChange), ReloadResult::Applied);
        assert_eq!(*applied.lock().unwrap(), [vec!["live".to_owned()]]);
        let snap = state.current();
        assert_eq!((snap.version, snap.config.live), (2, 2));
        assert_ne!(snap.hash, hash);

        *next.lock().unwrap() = None;
        assert_eq!(r.reload(Trigger::FileChange), ReloadResult::Rejected);
        *next.lock().unwrap() = Some(cfg(99, 80));
        assert_eq!(r.reload(Trigger::FileChange), ReloadResult::Rejected);
        assert_eq!(state.current().version, 2, "rejections change nothing");

        *next.lock().unwrap() = Some(cfg(3, 8080));
        assert_eq!(r.reload(Trigger::FileChange), ReloadResult::RestartRequired);
        let view = state.view();
        assert_eq!(view["version"], 3);
        assert_eq!(view["pending_restart"], json!(["port"]));
        assert_eq!(view["config"]["port"], 80, "the running value");
        assert_eq!(view["config"]["live"], 3);
        assert_eq!(view["config"]["secret"], REDACTED);

        // Back to the running port: nothing pending any more.
        *next.lock().unwrap() = Some(cfg(3, 80));
        assert_eq!(r.reload(Trigger::FileChange), ReloadResult::Applied);
        assert_eq!(state.view()["pending_restart"], json!([]));
    }
}
