//! [`GrpcStackBuilder`]: which parts of the stack are on, and their config.

use std::sync::Arc;

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;

use super::{GrpcStackLayer, StackShared};
use crate::{
    config::{
        AccessLogConfig, AuditConfig, AuthnConfig, FaultConfig, IpFilterConfig, MiddlewareConfig,
        RateLimitConfig, SwitchRule, TimeoutConfig,
    },
    middleware::{
        audit::AuditSink,
        auth::{AuthSecrets, AuthState, KeyError},
        fault::FaultSwitch,
        ip_filter::IpFilter,
        log::LogPolicy,
        method::MethodPattern,
        rate_limit::{ClusterLimiter, RateState},
        switch::SwitchBoard,
        timeout::TimeoutState,
        validate::Schemas,
    },
    policy::Policies,
    telemetry::metrics,
};

impl GrpcStackLayer {
    /// Builds the stack from config: every part whose `enabled` key is true, the IP
    /// filter when `ip_filter` has a list (it has no `enabled` key), and fault injection
    /// (which does nothing until `fault.enabled`, here or by a reload). The metrics
    /// are recorded too (do not add `MetricsLayer` as well). `descriptor_sets` are the
    /// encoded `FileDescriptorSet`s of the served services (method kinds, validation rules,
    /// and the `grpckit.v1.policy` options: their rules follow the config's own, see
    /// [`crate::policy`]).
    ///
    /// # Errors
    /// The auth part's keys do not load ([`KeyError`]).
    pub fn from_config(
        cfg: &MiddlewareConfig,
        secrets: &AuthSecrets,
        descriptor_sets: &[&[u8]],
    ) -> Result<Self, KeyError> {
        let declared = crate::policy::read_logged(descriptor_sets);
        let effective = declared.clone().with_overrides(&cfg.policy).apply(cfg);
        let cfg = &effective;
        let mut b = Self::builder()
            .descriptor_sets(descriptor_sets)
            .policies(declared);
        if cfg.recover.enabled {
            b = b.recover();
        }
        if cfg.log.enabled {
            b = b.log(&cfg.log);
        }
        if cfg.ip_filter.is_configured() {
            b = b.ip_filter(&cfg.ip_filter);
        }
        if cfg.auth.enabled {
            b = b.auth(&cfg.auth, secrets);
        }
        if cfg.rate_limit.enabled {
            b = b.rate_limit(&cfg.rate_limit);
        }
        if cfg.timeout.enabled {
            b = b.timeout(&cfg.timeout);
        }
        if cfg.validate.enabled {
            b = b.validate();
        }
        if cfg.audit.enabled {
            b = b.audit(&cfg.audit);
        }
        // Always present (off unless `fault.enabled`): a reload may switch it on.
        b.fault(&cfg.fault).switches(&cfg.switches).build()
    }

    /// A builder with every policy part off (the metrics on): switch on the parts wanted.
    /// They run in the canonical order whatever order they are switched on in.
    pub fn builder<'a>() -> GrpcStackBuilder<'a> {
        GrpcStackBuilder {
            descriptor_sets: Vec::new(),
            metrics: true,
            recover: false,
            log: None,
            ip_filter: None,
            auth: None,
            rate_limit: None,
            timeout: None,
            validate: false,
            audit: None,
            policies: Policies::default(),
            fault: None,
            switches: None,
        }
    }
}

/// Which parts of a [`GrpcStackLayer`] are on; see [`GrpcStackLayer::builder`]. A part's
/// `enabled` key in the config it is given is not looked at: calling the method switches
/// the part on.
#[derive(Debug, Clone)]
#[must_use]
pub struct GrpcStackBuilder<'a> {
    descriptor_sets: Vec<&'a [u8]>,
    metrics: bool,
    recover: bool,
    log: Option<AccessLogConfig>,
    ip_filter: Option<IpFilterConfig>,
    auth: Option<(AuthnConfig, AuthSecrets)>,
    rate_limit: Option<RateLimitConfig>,
    timeout: Option<TimeoutConfig>,
    validate: bool,
    audit: Option<AuditConfig>,
    policies: Policies,
    fault: Option<FaultConfig>,
    switches: Option<Vec<SwitchRule>>,
}

impl<'a> GrpcStackBuilder<'a> {
    /// The encoded `FileDescriptorSet`s of the served services: the stack learns each
    /// method's call kind, validation rules and metrics entry from them (added to the sets
    /// given before). Without them every call is of an unknown method: unary, unvalidated.
    pub fn descriptor_sets(mut self, sets: &[&'a [u8]]) -> Self {
        self.descriptor_sets.extend_from_slice(sets);
        self
    }

    /// The policies the methods declare, kept for
    /// [`StackHandles::effective_config`](super::StackHandles::effective_config): the rules
    /// they give must already be in the config of each part
    /// ([`Policies::apply`]; [`GrpcStackLayer::from_config`] does both).
    pub fn policies(mut self, policies: Policies) -> Self {
        self.policies = policies;
        self
    }

    /// Does not record the go-grpc-prometheus series (on by default: a server using the
    /// stack adds no `MetricsLayer`).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }

    /// Panic recovery: a panic of the handler or of its response stream -> `INTERNAL`.
    pub fn recover(mut self) -> Self {
        self.recover = true;
        self
    }

    /// Request ids and the access log.
    pub fn log(mut self, config: &AccessLogConfig) -> Self {
        self.log = Some(config.clone());
        self
    }

    /// Client address allow/deny lists (`PERMISSION_DENIED`, reason `IP_DENIED`), before
    /// routing and auth. On even when `config` has no list (then it refuses nothing, and
    /// lists can be swapped in later through [`StackHandles`](super::StackHandles)).
    pub fn ip_filter(mut self, config: &IpFilterConfig) -> Self {
        self.ip_filter = Some(config.clone());
        self
    }

    /// Authentication (JWT, API keys) and RBAC; the keys are loaded by [`Self::build`].
    pub fn auth(mut self, config: &AuthnConfig, secrets: &AuthSecrets) -> Self {
        self.auth = Some((config.clone(), secrets.clone()));
        self
    }

    /// Rate limits and load shedding (off without rules).
    pub fn rate_limit(mut self, config: &RateLimitConfig) -> Self {
        self.rate_limit = Some(config.clone());
        self
    }

    /// Deadlines and stream timeouts.
    pub fn timeout(mut self, config: &TimeoutConfig) -> Self {
        self.timeout = Some(config.clone());
        self
    }

    /// `buf.validate` rules of the descriptor sets, on every request message.
    pub fn validate(mut self) -> Self {
        self.validate = true;
        self
    }

    /// The audit trail.
    pub fn audit(mut self, config: &AuditConfig) -> Self {
        self.audit = Some(config.clone());
        self
    }

    /// Fault injection (delays, aborts); unlike the other parts its `enabled` key is
    /// looked at, as it is live: with `enabled: false` the part is present but injects
    /// nothing until [`StackHandles::set_fault`](super::StackHandles::set_fault) turns it on.
    pub fn fault(mut self, config: &FaultConfig) -> Self {
        self.fault = Some(config.clone());
        self
    }

    /// Per-method switches of the parts (`middleware.switches`): a part a rule switches off
    /// does not run for the matching methods. The rules can be replaced later through
    /// [`StackHandles::set_switches`](super::StackHandles::set_switches) (even none now).
    pub fn switches(mut self, rules: &[SwitchRule]) -> Self {
        self.switches = Some(rules.to_vec());
        self
    }

    /// Builds the layer (and starts the audit sink's writer when auditing is on).
    ///
    /// # Errors
    /// The auth part's keys do not load ([`KeyError`]).
    pub fn build(self) -> Result<GrpcStackLayer, KeyError> {
        let sets = &self.descriptor_sets;
        for set in sets {
            // The method table points at the sets' metrics entries.
            metrics::register_descriptor_set(set);
        }
        let targets = self.audit.as_ref().map_or(&[][..], |a| &a.target_fields);
        let schemas = Arc::new(Schemas::new(sets).with_audit_targets(targets));
        let audit_extra: Vec<MethodPattern> = self
            .audit
            .iter()
            .flat_map(|a| a.methods.iter().cloned())
            .collect();
        let methods = schemas.method_table(&audit_extra);
        let names: Vec<&str> = methods.methods().iter().map(|m| &*m.name).collect();
        let auth = match &self.auth {
            Some((cfg, secrets)) => Some(Arc::new(ArcSwap::from_pointee(AuthState::from_config(
                cfg, secrets,
            )?))),
            None => None,
        };
        let rules = self.rate_limit.as_ref().map_or(&[][..], |r| &r.rules);
        let rate = (!rules.is_empty())
            .then(|| Arc::new(ArcSwap::from_pointee(RateState::new(rules, &names))));
        let cluster = self
            .rate_limit
            .as_ref()
            .filter(|r| r.rules.iter().any(|r| r.cluster_limit > 0))
            .map(|r| Arc::new(ClusterLimiter::new(&r.redis)));
        let timeout = self
            .timeout
            .as_ref()
            .map(|t| Arc::new(ArcSwap::from_pointee(TimeoutState::new(t, &names))));
        let log = self
            .log
            .as_ref()
            .map(|l| Arc::new(ArcSwap::from_pointee(LogPolicy::new(l))));
        let ip_filter = self
            .ip_filter
            .as_ref()
            .map(|f| Arc::new(ArcSwap::from_pointee(IpFilter::new(f, &names))));
        let audit = self.audit.as_ref().map(AuditSink::from_config);
        let fault = self
            .fault
            .as_ref()
            .map(|f| Arc::new(FaultSwitch::new(f, &names)));
        let switches = self
            .switches
            .as_ref()
            .map(|s| Arc::new(SwitchBoard::new(s, &names)));
        drop(names);
        Ok(GrpcStackLayer {
            max_recv: None,
            responses: None,
            routed: None,
            shared: Arc::new(StackShared {
                methods,
                schemas,
                metrics: self.metrics,
                recover: self.recover,
                log,
                ip_filter,
                auth,
                rate,
                cluster,
                timeout,
                validate: self.validate,
                audit,
                audit_extra,
                policies: Arc::new(self.policies),
                fault,
                switches,
                hasher: RandomState::default(),
            }),
        })
    }
}
