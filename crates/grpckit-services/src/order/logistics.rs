//! The logistics simulator: paid orders move to SHIPPED, shipped ones to DELIVERED, one step
//! per `interval`. It scans the store instead of keeping a task per order, so it survives
//! restarts, spawns nothing per order, and several instances sharing one PostgreSQL do not
//! double-step an order (each step is a compare-and-set).

use std::{sync::Arc, time::Duration};

use grpckit::server::Shutdown;

use super::service::publish_change;
use crate::{
    ServiceError, domain::order::OrderStatus, events::EventBus, store::OrderStore, time::now_micros,
};

/// Runs until `shutdown`.
pub async fn run(
    store: Arc<dyn OrderStore>,
    bus: Arc<dyn EventBus>,
    interval: Duration,
    shutdown: Shutdown,
) {
    let tick = (interval / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if let Err(e) = step(store.as_ref(), bus.as_ref(), interval).await {
            tracing::warn!(error = %e, "logistics step failed");
        }
    }
}

/// Advances every order that has waited `interval` in PAID or SHIPPED.
pub async fn step(
    store: &dyn OrderStore,
    bus: &dyn EventBus,
    interval: Duration,
) -> Result<(), ServiceError> {
    let before = now_micros() - interval.as_micros() as i64;
    for (from, to, what) in [
        (
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            "delivered to the customer",
        ),
        (
            OrderStatus::Paid,
            OrderStatus::Shipped,
            "handed to the carrier",
        ),
    ] {
        for order in store.due_orders(from, before, 100).await? {
            match store.transition(&order.id, to, None, now_micros()).await {
                Ok(o) => publish_change(bus, &o, what).await,
                // Cancelled or moved by someone else meanwhile: nothing to do.
                Err(ServiceError::FailedPrecondition(..) | ServiceError::NotFound(..)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
