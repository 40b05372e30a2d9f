//! `TrackOrder`: the current state first, then each later change until a terminal state.

use futures::StreamExt;
use tonic::Status;

use super::convert::status_to_pb;
use crate::{
    domain::order::{Order, OrderStatus},
    events::{EventBody, Subscription},
    proto::order::v1 as pb,
    time::to_timestamp,
};

struct State {
    live: Subscription,
    rank: u8,
    done: bool,
}

pub(super) fn stream(
    current: Order,
    live: Subscription,
) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::TrackingEvent, Status>> + Send>> {
    let first = pb::TrackingEvent {
        order_id: current.id.clone(),
        status: status_to_pb(current.status) as i32,
        description: format!("current state: {}", current.status.as_str()),
        occurred_at: Some(to_timestamp(current.updated_at)),
    };
    let state = State {
        live,
        rank: current.status.rank(),
        done: current.status.is_terminal(),
    };
    let rest = futures::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            // The server ends the stream (UNAVAILABLE) when it drains.
            let e = st.live.next().await?;
            let EventBody::Tracking {
                order_id,
                status,
                description,
            } = e.body
            else {
                continue;
            };
            let Some(s) = OrderStatus::parse(&status) else {
                continue;
            };
            // Skip changes already reflected in the state sent first.
            if s.rank() <= st.rank && !(s == OrderStatus::Cancelled && st.rank < 3) {
                continue;
            }
            st.rank = s.rank();
            st.done = s.is_terminal();
            let ev = pb::TrackingEvent {
                order_id,
                status: status_to_pb(s) as i32,
                description,
                occurred_at: Some(to_timestamp(e.at)),
            };
            return Some((Ok(ev), st));
        }
    });
    Box::pin(futures::stream::once(async move { Ok(first) }).chain(rest))
}
