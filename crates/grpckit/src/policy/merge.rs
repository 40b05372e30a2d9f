//! The config's overrides over the declared policies, and the effective policies turned
//! into the middleware rules the layers read.

use std::time::Duration;

use super::{Policies, PolicyEntry};
use crate::config::{
    MethodPattern, MethodTimeout, MiddlewareConfig, PolicyConfig, PolicyOverride, RateRule,
    RoleRule,
};

/// Sets the fields `o` has on `e`, noting each as overridden.
fn override_entry(e: &mut PolicyEntry, o: &PolicyOverride) {
    let p = &mut e.policy;
    let mut set = |name: &'static str| e.overridden.push(name);
    if let Some(v) = o.public {
        p.public = v;
        set("public");
    }
    if let Some(v) = &o.roles {
        p.roles.clone_from(v);
        set("roles");
    }
    if let Some(v) = o.rate_limit {
        p.rate_limit = Some(v);
        set("rate_limit");
    }
    if let Some(v) = o.timeout {
        p.timeout = Some(v);
        set("timeout");
    }
    if let Some(v) = o.idempotent {
        p.idempotent = v;
        set("idempotent");
    }
    if let Some(v) = o.audit {
        p.audit = v;
        set("audit");
    }
}

impl Policies {
    /// These policies with `config`'s overrides: for each method, the first entry of
    /// `config.methods` whose pattern matches replaces the fields it sets.
    #[must_use]
    pub fn with_overrides(mut self, config: &PolicyConfig) -> Self {
        for (method, entry) in &mut self.methods {
            if let Some(o) = config.methods.iter().find(|o| o.methods.matches(method)) {
                override_entry(entry, o);
            }
        }
        self
    }

    /// `config` with these policies added as rules after its own (see the module docs),
    /// so that the config's own rules for a method still win.
    #[must_use]
    pub fn apply(&self, config: &MiddlewareConfig) -> MiddlewareConfig {
        let mut cfg = config.clone();
        for (method, entry) in &self.methods {
            let p = &entry.policy;
            let exact = || MethodPattern::exact(method);
            if p.public {
                cfg.auth.public_methods.push(exact());
            }
            for role in &p.roles {
                match cfg.auth.roles.iter_mut().find(|r| &r.role == role) {
                    Some(rule) => rule.allow.push(exact()),
                    None => cfg
                        .auth
                        .roles
                        .push(RoleRule::new(role.clone(), vec![exact()])),
                }
            }
            if let Some(rate) = p.rate_limit {
                cfg.rate_limit.rules.push(RateRule {
                    methods: exact(),
                    per_second: rate.per_second(),
                    burst: rate.burst(),
                    cluster_limit: 0,
                    cluster_window: Duration::from_secs(1),
                    max_concurrent: 0,
                });
            }
            if let Some(timeout) = p.timeout {
                cfg.timeout.methods.push(MethodTimeout {
                    methods: exact(),
                    timeout,
                });
            }
            if p.audit {
                cfg.audit.methods.push(exact());
            }
        }
        cfg
    }
}

/// The middleware config in force for a server of `descriptor_sets`: `config` with the
/// methods' declared policies, overridden by `config.policy`, added after its own rules.
/// Options that cannot be used are logged (error) and left out.
pub fn effective_config(config: &MiddlewareConfig, descriptor_sets: &[&[u8]]) -> MiddlewareConfig {
    effective_policies(config, descriptor_sets).apply(config)
}

/// The policies in force for a server of `descriptor_sets` (declared, then overridden by
/// `config.policy`): what `GET /config` shows. Options that cannot be used are logged
/// (error) and left out.
pub fn effective_policies(config: &MiddlewareConfig, descriptor_sets: &[&[u8]]) -> Policies {
    read_logged(descriptor_sets).with_overrides(&config.policy)
}

/// [`Policies::read_lenient`], logging each option that cannot be used (error).
pub(crate) fn read_logged(descriptor_sets: &[&[u8]]) -> Policies {
    let (declared, errors) = Policies::read_lenient(descriptor_sets);
    for e in errors {
        tracing::error!(method = %e.method, reason = %e.reason, "{e}; the option is ignored");
    }
    declared
}
