//! [`StackHandles`]: the hot-reloadable parts of a running stack.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::StackShared;
use crate::{
    config::{
        AccessLogConfig, AuthnConfig, FaultConfig, IpFilterConfig, MiddlewareConfig, RateRule,
        SwitchRule, TimeoutConfig,
    },
    middleware::{
        auth::{AuthSecrets, AuthState, KeyError},
        fault::FaultSwitch,
        ip_filter::IpFilter,
        log::LogPolicy,
        rate_limit::RateState,
        switch::SwitchBoard,
        timeout::TimeoutState,
    },
    policy::Policies,
};

/// Swappable state of a running stack, for hot reload without a restart.
///
/// Each handle is an [`ArcSwap`] the stack loads once per call: storing a new state changes
/// the policy of the calls that start afterwards; calls already running keep the state they
/// started with. A handle is `None` when its part is off (switch it on at build time to be
/// able to reload it): auth (keys, API keys, RBAC), rate limits (present only when the
/// stack was built with at least one rule), timeouts, the access-log policy and the IP
/// filter (present only when the stack was built with it), fault injection (present when
/// the stack was built with it, on or off: its switch is live too). The
/// `set_*` methods build the new state from config the way the stack does at start; a new
/// rate-limit state starts with full buckets.
///
/// Get them from [`GrpcStackLayer::handles`](super::GrpcStackLayer::handles) or
/// [`ServerBuilder::stack_handles`](crate::server::ServerBuilder::stack_handles).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use grpckit::config::{MethodPattern, RateLimitConfig, RateRule};
/// use grpckit::middleware::GrpcStackLayer;
///
/// let rule = |per_second| RateRule {
///     methods: MethodPattern::any(),
///     per_second,
///     burst: per_second,
///     cluster_limit: 0,
///     cluster_window: Duration::from_secs(1),
///     max_concurrent: 0,
/// };
/// let limits = RateLimitConfig { rules: vec![rule(100)], ..RateLimitConfig::default() };
/// let stack = GrpcStackLayer::builder().rate_limit(&limits).build().expect("no keys");
/// let handles = stack.handles();
/// // Later, while serving: a stricter limit for the calls that start from now on.
/// handles.set_rate_limits(&[rule(1)]).expect("the stack limits rates");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StackHandles {
    /// Keys, API keys, RBAC rules (`None` when auth is off).
    pub auth: Option<Arc<ArcSwap<AuthState>>>,
    /// Rate limits (`None` when the stack was built without rules).
    pub rate: Option<Arc<ArcSwap<RateState>>>,
    /// Timeouts (`None` when timeouts are off).
    pub timeout: Option<Arc<ArcSwap<TimeoutState>>>,
    /// Access-log level, sampling, slow threshold (`None` when the access log is off).
    pub log: Option<Arc<ArcSwap<LogPolicy>>>,
    /// Client address lists (`None` when the IP filter is off).
    pub ip_filter: Option<Arc<ArcSwap<IpFilter>>>,
    /// Fault injection, its switch included (`None` when the stack was built without it).
    pub fault: Option<Arc<FaultSwitch>>,
    /// Per-method switches of the parts (`None` when the stack was built without them).
    pub switches: Option<Arc<SwitchBoard>>,
    /// The stack's known methods, in table order (per-method state is resolved for them).
    methods: Arc<[Box<str>]>,
    /// The policies the methods declare (`grpckit.v1.policy`), before config overrides.
    policies: Arc<Policies>,
}

/// Why a reload was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The part is off in this stack: there is no state to swap.
    #[error("the {0} part is off in this stack; it cannot be reloaded")]
    PartOff(&'static str),
    /// The new auth keys do not load.
    #[error("auth keys")]
    Keys(#[from] KeyError),
}

impl StackHandles {
    pub(super) fn of(sh: &StackShared) -> Self {
        Self {
            auth: sh.auth.clone(),
            rate: sh.rate.clone(),
            timeout: sh.timeout.clone(),
            log: sh.log.clone(),
            ip_filter: sh.ip_filter.clone(),
            fault: sh.fault.clone(),
            switches: sh.switches.clone(),
            methods: sh
                .methods
                .methods()
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            policies: Arc::clone(&sh.policies),
        }
    }

    /// `cfg` with the policies the methods declare, overridden by `cfg.policy`, as rules
    /// after its own (what the stack was built with, [`crate::policy`]): give the parts of
    /// the result to the `set_*` methods on reload.
    pub fn effective_config(&self, cfg: &MiddlewareConfig) -> MiddlewareConfig {
        self.effective_policies(cfg).apply(cfg)
    }

    /// The policy in force per method with `cfg`: the declared ones overridden by
    /// `cfg.policy` (see [`Policies::table`] for the methods that have one).
    pub fn effective_policies(&self, cfg: &MiddlewareConfig) -> Policies {
        (*self.policies).clone().with_overrides(&cfg.policy)
    }

    fn names(&self) -> Vec<&str> {
        self.methods.iter().map(|m| &**m).collect()
    }

    /// Replaces the authentication keys, API keys and RBAC rules.
    ///
    /// # Errors
    /// Auth is off ([`ReloadError::PartOff`]) or the keys do not load (then nothing changes).
    pub fn set_auth(&self, cfg: &AuthnConfig, secrets: &AuthSecrets) -> Result<(), ReloadError> {
        let h = self.auth.as_ref().ok_or(ReloadError::PartOff("auth"))?;
        h.store(Arc::new(AuthState::from_config(cfg, secrets)?));
        Ok(())
    }

    /// Replaces the rate-limit rules (the buckets start full). A rule's `cluster_limit`
    /// applies only if the stack was built with a cluster-wide rule (it has a Redis client).
    ///
    /// # Errors
    /// The stack has no rate-limit part ([`ReloadError::PartOff`]).
    pub fn set_rate_limits(&self, rules: &[RateRule]) -> Result<(), ReloadError> {
        let h = self
            .rate
            .as_ref()
            .ok_or(ReloadError::PartOff("rate limit"))?;
        h.store(Arc::new(RateState::new(rules, &self.names())));
        Ok(())
    }

    /// Replaces the timeouts.
    ///
    /// # Errors
    /// Timeouts are off ([`ReloadError::PartOff`]).
    pub fn set_timeouts(&self, cfg: &TimeoutConfig) -> Result<(), ReloadError> {
        let h = self
            .timeout
            .as_ref()
            .ok_or(ReloadError::PartOff("timeout"))?;
        h.store(Arc::new(TimeoutState::new(cfg, &self.names())));
        Ok(())
    }

    /// Replaces the access-log policy (level, sampling, slow threshold, quiet methods).
    ///
    /// # Errors
    /// The access log is off ([`ReloadError::PartOff`]).
    pub fn set_access_log(&self, cfg: &AccessLogConfig) -> Result<(), ReloadError> {
        let h = self.log.as_ref().ok_or(ReloadError::PartOff("log"))?;
        h.store(Arc::new(LogPolicy::new(cfg)));
        Ok(())
    }

    /// Replaces the IP filter's lists and trusted proxies. The config is taken as it is:
    /// check it first with [`IpFilterConfig::validate`] (loading a config file does).
    ///
    /// # Errors
    /// The stack was built without the IP filter ([`ReloadError::PartOff`]).
    pub fn set_ip_filter(&self, cfg: &IpFilterConfig) -> Result<(), ReloadError> {
        let h = self
            .ip_filter
            .as_ref()
            .ok_or(ReloadError::PartOff("ip filter"))?;
        h.store(Arc::new(IpFilter::new(cfg, &self.names())));
        Ok(())
    }

    /// Replaces the fault-injection rules and switch (`enabled` turns it on or off). The
    /// config is taken as it is: check it first with [`FaultConfig::validate`].
    ///
    /// # Errors
    /// The stack was built without fault injection ([`ReloadError::PartOff`]).
    pub fn set_fault(&self, cfg: &FaultConfig) -> Result<(), ReloadError> {
        let h = self.fault.as_ref().ok_or(ReloadError::PartOff("fault"))?;
        h.set(cfg, &self.names());
        Ok(())
    }

    /// Replaces the per-method switches of the parts (`middleware.switches`). The rules are
    /// taken as they are: check them first (loading a config file does).
    ///
    /// # Errors
    /// The stack was built without switches ([`ReloadError::PartOff`]).
    pub fn set_switches(&self, rules: &[SwitchRule]) -> Result<(), ReloadError> {
        let h = self
            .switches
            .as_ref()
            .ok_or(ReloadError::PartOff("switches"))?;
        h.set(rules, &self.names());
        Ok(())
    }
}
