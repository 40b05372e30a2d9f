//! What of [`AppConfig`] changes while serving: the app's side of hot reload
//! ([`grpckit::config::reload`]). The framework watches the file and compares configs; this
//! says which keys are live and puts them in force through the stack's [`StackHandles`].
//!
//! Live: `log.level` (when the process's log subscriber is grpckit's; `RUST_LOG`, when set,
//! still wins); and, for each middleware part that is on, its settings (not its
//! `enabled` switch): `middleware.auth.*` (API keys, JWT keys, RBAC roles, bindings, public
//! methods), `middleware.rate_limit.rules`, `middleware.timeout.*`, `middleware.log.*`
//! (access-log level, sampling, slow threshold), `middleware.ip_filter.*`;
//! `middleware.policy.*` (the per-method overrides of the `.proto` policies; their `audit`
//! needs a restart; each part is rebuilt from the config with the `.proto` policies added,
//! [`StackHandles::effective_config`], as at start); all of `middleware.fault.*`, its
//! `enabled` switch included (fault injection is always built in, off until switched on);
//! `middleware.switches` (parts switched off per method); and, when the
//! order service calls a user service apart, its client's endpoints, balancing and retry
//! policy: `services.user_service` (endpoints that stay keep their connections, removed
//! ones get no new calls and their running calls complete), `client.enable_load_balancing`,
//! `client.load_balancing_policy`, `client.retry.*` except `client.retry.budget`,
//! `client.circuit_breaker.*`. Every other key
//! (listen addresses, TLS settings, database, runtime, the app's `auth` and `services`
//! sections, switching a part on or off) needs a restart.

use grpckit::{
    client::BalancedChannel,
    config::reload::BoxError,
    middleware::{StackHandles, auth::AuthSecrets},
};

use crate::{app::App, config::AppConfig};

/// Key names whose values `GET /config` hides (anywhere in the tree); URL passwords are
/// hidden too.
pub const SECRET_KEYS: &[&str] = &[
    "jwt_secret",
    "admin_password",
    "secret",
    "sha256",
    "password",
];

/// The sections of the order service's `UserService` client that change while serving
/// (`services.user_service` first).
const USER_CLIENT_KEYS: [&str; 5] = [
    "services.user_service",
    "client.enable_load_balancing",
    "client.load_balancing_policy",
    "client.retry",
    "client.circuit_breaker",
];

/// The live parts of a running app.
#[derive(Debug, Clone)]
pub struct LiveParts {
    handles: StackHandles,
    secrets: AuthSecrets,
    /// The order service's `UserService` client (split mode).
    user_client: Option<BalancedChannel>,
}

/// `key` is `section` or a key under it.
fn under(key: &str, section: &str) -> bool {
    key.strip_prefix(section)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

impl LiveParts {
    /// The live parts of `app` (after its server builder was made).
    pub fn of(app: &App) -> Self {
        Self {
            handles: app.stack_handles().unwrap_or_default(),
            secrets: app.auth_secrets().clone(),
            user_client: app.user_client(),
        }
    }

    /// The middleware parts that are on and can be reloaded, with their config sections.
    fn parts(&self) -> [(&'static str, bool); 8] {
        let h = &self.handles;
        [
            // Auth, rate limits and timeouts are rebuilt with them.
            ("middleware.policy", h.auth.is_some() || h.timeout.is_some()),
            ("middleware.auth", h.auth.is_some()),
            ("middleware.rate_limit.rules", h.rate.is_some()),
            ("middleware.timeout", h.timeout.is_some()),
            ("middleware.log", h.log.is_some()),
            ("middleware.ip_filter", h.ip_filter.is_some()),
            ("middleware.fault", h.fault.is_some()),
            ("middleware.switches", h.switches.is_some()),
        ]
    }

    /// Whether the dotted key path can change while serving.
    pub fn is_live(&self, key: &str) -> bool {
        if key == "log.level" {
            return grpckit::telemetry::log_level_reloadable();
        }
        if self.user_client.is_some() && USER_CLIENT_KEYS.iter().any(|s| under(key, s)) {
            return !under(key, "client.retry.budget");
        }
        if key == "middleware.fault.enabled" {
            // Fault injection is switched on and off live.
            return self.handles.fault.is_some();
        }
        if key.ends_with(".enabled") || (under(key, "middleware.policy") && key.ends_with(".audit"))
        {
            return false;
        }
        self.parts()
            .iter()
            .any(|(section, on)| *on && under(key, section))
    }

    /// Puts the live keys of `new` in force; `changed` are the live keys that differ from
    /// the config in force. Only the parts with a changed key are replaced (a replaced
    /// rate-limit state starts with full buckets). Calls already running keep the state
    /// they started with.
    ///
    /// # Errors
    /// The log level cannot change, the new auth keys do not load, `services.user_service`
    /// is emptied or the `client` section is invalid; then nothing changed. An address the
    /// `UserService` client refuses fails the reload after the auth keys were replaced.
    pub fn apply(&self, new: &AppConfig, changed: &[String]) -> Result<(), BoxError> {
        let touched = |section: &str| changed.iter().any(|k| under(k, section));
        // The policy overrides become auth, rate-limit and timeout rules.
        let policy = touched("middleware.policy");
        let h = &self.handles;
        let mw = h.effective_config(&new.middleware);
        let user_endpoints = match &self.user_client {
            Some(_) if touched("services.user_service") => {
                Some(user_endpoints(&new.services.user_service)?)
            }
            _ => None,
        };
        let policies = USER_CLIENT_KEYS[1..].iter().any(|s| touched(s));
        let client_cfg = crate::app::user_client_config(new);
        if self.user_client.is_some() && policies {
            client_cfg.validate()?;
        }
        // The only part that can fail to build (key files): first, so a failure changes nothing
        // else.
        if (policy || touched("middleware.auth")) && h.auth.is_some() {
            h.set_auth(&mw.auth, &self.secrets)?;
        }
        if let Some(client) = &self.user_client {
            if let Some(endpoints) = user_endpoints {
                client.set_endpoints(endpoints)?;
            }
            if policies {
                client.set_policies(&client_cfg)?;
            }
        }
        if touched("log.level") {
            grpckit::telemetry::set_log_level(&new.log)?;
        }
        if (policy || touched("middleware.rate_limit.rules")) && h.rate.is_some() {
            h.set_rate_limits(&mw.rate_limit.rules)?;
        }
        if (policy || touched("middleware.timeout")) && h.timeout.is_some() {
            h.set_timeouts(&mw.timeout)?;
        }
        if touched("middleware.log") {
            h.set_access_log(&mw.log)?;
        }
        if touched("middleware.ip_filter") {
            h.set_ip_filter(&mw.ip_filter)?;
        }
        if touched("middleware.fault") {
            h.set_fault(&mw.fault)?;
        }
        if touched("middleware.switches") {
            h.set_switches(&mw.switches)?;
        }
        Ok(())
    }
}

/// The addresses of a `services.user_service` list; an empty list is refused (the order
/// service would then use the local store, which needs a restart).
fn user_endpoints(list: &str) -> Result<Vec<String>, BoxError> {
    let endpoints: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if endpoints.is_empty() {
        return Err(
            "services.user_service: an empty list cannot be put in force while serving (restart to use the local user store)"
                .into(),
        );
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::{under, user_endpoints};

    #[test]
    fn user_service_lists_are_split_and_must_not_be_empty() {
        assert_eq!(
            user_endpoints(" http://a:1 ,, http://b:2").unwrap(),
            ["http://a:1", "http://b:2"]
        );
        assert!(
            user_endpoints(" , ")
                .unwrap_err()
                .to_string()
                .contains("services.user_service")
        );
    }

    #[test]
    fn sections_match_whole_names() {
        assert!(under("middleware.auth.api_keys", "middleware.auth"));
        assert!(under("middleware.auth", "middleware.auth"));
        assert!(!under("middleware.authx", "middleware.auth"));
        assert!(!under("log.level", "middleware.log"));
    }
}
