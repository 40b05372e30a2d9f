//! [`Tracked`]: a subscription that tells the bus when it is dropped.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures::Stream;

use crate::events::{Event, Subscription};

/// Yields the inner subscription's events; on drop, drops the receiver first and then runs
/// `on_drop` (which may remove the topic, now that this receiver no longer counts).
pub(super) struct Tracked<F: FnOnce()> {
    events: Option<Subscription>,
    on_drop: Option<F>,
}

impl<F: FnOnce()> Tracked<F> {
    pub(super) fn new(events: Subscription, on_drop: F) -> Self {
        Self {
            events: Some(events),
            on_drop: Some(on_drop),
        }
    }
}

impl<F: FnOnce() + Unpin> Stream for Tracked<F> {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        match self.events.as_mut() {
            Some(s) => s.as_mut().poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<F: FnOnce()> Drop for Tracked<F> {
    fn drop(&mut self) {
        self.events.take();
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}
