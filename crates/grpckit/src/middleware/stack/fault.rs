//! Fault: the delay and/or abort a `middleware.fault` rule draws for the call
//! (`middleware::fault`). An abort without delay answers at once; a delay is awaited in the
//! call's future before the handler and counts against the call's deadline.

use http::Request;
use tokio::time::Instant;
use tonic::{Status, body::Body};

use super::{record::CallRecord, timeout};
use crate::{middleware::fault::Injected, telemetry::metrics};

/// A delay to await before the handler, then maybe an abort.
#[derive(Debug)]
pub(super) struct Delay {
    until: Instant,
    abort: Option<Status>,
}

/// Draws the call's fault: `Err` aborts now, `Some` delays.
#[inline]
pub(super) fn check(
    rec: &CallRecord,
    req: &Request<Body>,
    now: Instant,
) -> Result<Option<Box<Delay>>, Status> {
    let Some(f) = &rec.shared.fault else {
        return Ok(None);
    };
    if !f.is_on() {
        return Ok(None);
    }
    let m = &rec.method;
    let Injected { delay, abort } = f.decide(m.index, &m.name, req.headers());
    if delay.is_some() {
        metrics::fault_injected(&m.name, "delay");
    }
    if abort.is_some() {
        metrics::fault_injected(&m.name, "abort");
    }
    match (delay, abort) {
        (None, None) => Ok(None),
        (None, Some(st)) => Err(st),
        (Some(d), abort) => Ok(Some(Box::new(Delay {
            until: now + d,
            abort,
        }))),
    }
}

/// Waits out the delay; `DEADLINE_EXCEEDED` when the call's deadline comes first, else the
/// abort status if one was drawn.
pub(super) async fn delay(d: Box<Delay>, deadline: Option<Instant>) -> Result<(), Status> {
    let Delay { until, abort } = *d;
    match deadline {
        Some(dl) if dl < until => {
            tokio::time::sleep_until(dl).await;
            Err(timeout::exceeded())
        }
        _ => {
            tokio::time::sleep_until(until).await;
            abort.map_or(Ok(()), Err)
        }
    }
}
