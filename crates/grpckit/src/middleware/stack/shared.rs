//! [`StackShared`]: the per-server state of the stack, one field per part that has state.

use std::sync::Arc;

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;

use crate::middleware::{
    audit::AuditSink,
    auth::AuthState,
    fault::FaultSwitch,
    ip_filter::IpFilter,
    log::LogPolicy,
    method::{MethodPattern, MethodTable},
    rate_limit::{ClusterLimiter, RateState},
    switch::SwitchBoard,
    timeout::TimeoutState,
    validate::Schemas,
};
use crate::policy::Policies;

/// Shared, per-server state of the stack (`None`/`false`: the part is off). The
/// hot-reloadable parts sit behind [`ArcSwap`] (see [`super::StackHandles`]).
#[derive(Debug)]
pub(crate) struct StackShared {
    pub(crate) methods: MethodTable,
    pub(crate) schemas: Arc<Schemas>,
    /// Whether this stack records the go-grpc-prometheus series.
    pub(crate) metrics: bool,
    pub(crate) recover: bool,
    pub(crate) log: Option<Arc<ArcSwap<LogPolicy>>>,
    pub(crate) ip_filter: Option<Arc<ArcSwap<IpFilter>>>,
    pub(crate) auth: Option<Arc<ArcSwap<AuthState>>>,
    pub(crate) rate: Option<Arc<ArcSwap<RateState>>>,
    pub(crate) cluster: Option<Arc<ClusterLimiter>>,
    pub(crate) timeout: Option<Arc<ArcSwap<TimeoutState>>>,
    pub(crate) validate: bool,
    pub(crate) audit: Option<AuditSink>,
    pub(crate) audit_extra: Vec<MethodPattern>,
    /// The policies the methods declare (`grpckit.v1.policy`), before config overrides.
    pub(crate) policies: Arc<Policies>,
    /// Fault injection (its switch is live: `None` only when the stack was built without it).
    pub(crate) fault: Option<Arc<FaultSwitch>>,
    /// The per-method switches of the parts (`None` only when the stack was built without).
    pub(crate) switches: Option<Arc<SwitchBoard>>,
    /// Keys the rate-limit buckets by principal or peer address.
    pub(crate) hasher: RandomState,
}
