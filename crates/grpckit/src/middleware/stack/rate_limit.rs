//! Rate limit / load shed: a token bucket per (rule, principal or peer IP) and the rule's
//! concurrency limit, checked before the handler; a cluster-wide budget in Redis, awaited
//! just before it (`middleware::rate_limit`).

use std::{
    future::Future, hash::BuildHasher, net::SocketAddr, pin::Pin, sync::Arc, time::Duration,
};

use tonic::{Code, Status};

use super::{StackShared, record::CallRecord};
use crate::{
    middleware::{
        auth::Principal,
        rate_limit::{ClusterLimiter, ClusterVerdict, Refused, rate_limited, refused_status},
    },
    telemetry::metrics,
};

/// The cluster-wide check still to await: limiter, rule name, who, limit, window.
pub(super) type ClusterCheck = (Arc<ClusterLimiter>, Box<str>, String, u32, Duration);

/// Takes a token and a concurrency permit (kept in the record until the call ends).
#[inline]
pub(super) fn check(rec: &mut CallRecord) -> Result<Option<ClusterCheck>, Status> {
    let sh = &*rec.shared;
    let Some(rate) = &sh.rate else {
        return Ok(None);
    };
    let state = rate.load();
    let Some(rule) = state.rule(rec.method.index, &rec.method.name) else {
        return Ok(None);
    };
    let key = principal_key(sh, rec.principal.as_ref(), rec.peer);
    match rule.admit(key) {
        Ok(permit) => rec.permit = permit,
        Err(r) => {
            metrics::rate_limited(match r {
                Refused::RateLimited(_) => "per_client",
                Refused::Overloaded => "load_shed",
            });
            return Err(refused_status(r));
        }
    }
    Ok(match (rule.cluster, &sh.cluster) {
        (Some((limit, window)), Some(cl)) => {
            let w = who(rec.principal.as_ref(), rec.peer);
            Some((cl.clone(), rule.name.clone(), w, limit, window))
        }
        _ => None,
    })
}

/// The cluster-wide budget (a Redis round trip). Boxed (one allocation, on this path only):
/// the round trip's state would otherwise widen every call's future, and the copy that
/// boxes it.
pub(super) fn cluster(
    check: ClusterCheck,
) -> Pin<Box<impl Future<Output = Result<(), Status>> + Send>> {
    Box::pin(async move {
        let (cl, rule, who, limit, window) = &check;
        match cl.check(rule, who, *limit, *window).await {
            ClusterVerdict::Allow => Ok(()),
            ClusterVerdict::Deny(d) => {
                metrics::rate_limited("cluster");
                Err(rate_limited(d))
            }
            ClusterVerdict::Unavailable => Err(crate::reason::RATE_LIMITER_UNAVAILABLE
                .status(Code::Unavailable, "rate limiter unavailable")),
        }
    })
}

fn principal_key(sh: &StackShared, p: Option<&Principal>, peer: Option<SocketAddr>) -> u64 {
    match (p, peer) {
        (Some(p), _) => sh.hasher.hash_one(p.subject()),
        (None, Some(a)) => sh.hasher.hash_one(a.ip()),
        (None, None) => 0,
    }
}

fn who(p: Option<&Principal>, peer: Option<SocketAddr>) -> String {
    match (p, peer) {
        (Some(p), _) => p.subject().to_owned(),
        (None, Some(a)) => a.ip().to_string(),
        (None, None) => "unknown".into(),
    }
}
