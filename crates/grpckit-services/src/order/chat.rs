//! `Chat`: a room per order. The first message names the room (`order_id`); every message
//! fans out to every OTHER participant; join/leave notices are sent too. Each participant
//! has a bounded buffer on the bus, so a slow reader skips ahead instead of blocking the
//! room. No task is spawned: the stream owns its state and dropping it (client gone,
//! cancelled) unsubscribes.

use crate::reasons;
use std::{pin::Pin, sync::Arc};

use futures::{Stream, StreamExt};
use grpckit::{middleware::auth::Principal, server::Shutdown};
use tonic::{Status, Streaming};

use crate::{
    ServiceError,
    events::{Event, EventBody, EventBus, Subscription, chat_topic, event},
    proto::order::v1::{self as pb, ChatEventKind},
    store::OrderStore,
    time::to_timestamp,
};

/// Longest chat message in bytes.
const MAX_TEXT: usize = 4096;

struct Room {
    order_id: String,
    sender: String,
    live: Subscription,
}

struct State {
    inbound: Streaming<pb::ChatMessage>,
    store: Arc<dyn OrderStore>,
    bus: Arc<dyn EventBus>,
    shutdown: Shutdown,
    principal: Option<Principal>,
    me: String,
    room: Option<Room>,
    finished: bool,
}

impl State {
    async fn say(&mut self, kind: ChatEventKind, text: String) {
        let Some(room) = &self.room else { return };
        let body = EventBody::Chat {
            order_id: room.order_id.clone(),
            participant: self.me.clone(),
            sender: room.sender.clone(),
            text,
            kind: kind as i32,
        };
        self.bus
            .publish(&chat_topic(&room.order_id), event(body))
            .await;
    }

    /// Handles one inbound message; joins the room on the first one.
    async fn on_message(&mut self, m: pb::ChatMessage) -> Result<(), Status> {
        if m.text.len() > MAX_TEXT {
            return Err(
                ServiceError::invalid("text", format!("must be at most {MAX_TEXT} bytes")).into(),
            );
        }
        match &self.room {
            None => {
                if m.order_id.trim().is_empty() {
                    return Err(ServiceError::invalid(
                        "order_id",
                        "the first message must name the room",
                    )
                    .into());
                }
                let Some(order) = self.store.get_order(&m.order_id).await? else {
                    return Err(ServiceError::NotFound(
                        reasons::ORDER_NOT_FOUND,
                        format!("order '{}' not found", m.order_id),
                    )
                    .into());
                };
                // Only the order's owner, admins and support enter the room.
                crate::security::check_reader(
                    self.principal.as_ref(),
                    &order.user_id,
                    reasons::ORDER,
                )?;
                let live = self.bus.subscribe(&chat_topic(&m.order_id)).await;
                let sender = if m.sender.trim().is_empty() {
                    "anonymous".to_owned()
                } else {
                    m.sender.trim().to_owned()
                };
                self.room = Some(Room {
                    order_id: m.order_id.clone(),
                    sender: sender.clone(),
                    live,
                });
                self.say(ChatEventKind::Joined, format!("{sender} joined"))
                    .await;
            }
            Some(room) if !m.order_id.is_empty() && m.order_id != room.order_id => {
                return Err(ServiceError::invalid(
                    "order_id",
                    "must stay the same for the whole chat",
                )
                .into());
            }
            Some(_) => {}
        }
        if !m.text.is_empty() {
            self.say(ChatEventKind::Message, m.text).await;
        }
        Ok(())
    }

    async fn leave(&mut self) {
        if let Some(room) = &self.room {
            let text = format!("{} left", room.sender);
            self.say(ChatEventKind::Left, text).await;
        }
        self.room = None;
        self.finished = true;
    }

    fn to_pb(&self, e: Event) -> Option<pb::ChatEvent> {
        match e.body {
            EventBody::Chat {
                order_id,
                participant,
                sender,
                text,
                kind,
            } if participant != self.me => Some(pb::ChatEvent {
                order_id,
                sender,
                text,
                kind,
                sent_at: Some(to_timestamp(e.at)),
            }),
            _ => None,
        }
    }
}

/// The outbound stream of one participant.
pub(super) type ChatEvents = Pin<Box<dyn Stream<Item = Result<pb::ChatEvent, Status>> + Send>>;

/// Reads the first message and joins its room BEFORE the response starts: when the caller's
/// `Chat` call returns, it is in the room and sees everyone who joins after it. Then streams
/// the room. A bad first message fails the call with its status.
pub(super) async fn open(
    inbound: Streaming<pb::ChatMessage>,
    principal: Option<Principal>,
    store: Arc<dyn OrderStore>,
    bus: Arc<dyn EventBus>,
    shutdown: Shutdown,
) -> Result<ChatEvents, Status> {
    let mut st = State {
        inbound,
        store,
        bus,
        shutdown,
        principal,
        me: uuid::Uuid::new_v4().to_string(),
        room: None,
        finished: false,
    };
    let first = tokio::select! {
        m = st.inbound.next() => m,
        _ = st.shutdown.cancelled() => return Err(Status::unavailable("server shutting down")),
    };
    match first {
        Some(Ok(m)) => st.on_message(m).await?,
        Some(Err(status)) => return Err(status),
        // Closed before saying anything: nothing to stream.
        None => st.finished = true,
    }
    Ok(room_stream(st))
}

fn room_stream(state: State) -> ChatEvents {
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        loop {
            let live_next = async {
                match st.room.as_mut() {
                    Some(r) => r.live.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = st.inbound.next() => match msg {
                    Some(Ok(m)) => {
                        if let Err(status) = st.on_message(m).await {
                            st.leave().await;
                            return Some((Err(status), st));
                        }
                    }
                    // The client closed its side or went away: leave the room.
                    Some(Err(_)) | None => {
                        st.leave().await;
                        return None;
                    }
                },
                ev = live_next => match ev {
                    Some(e) => {
                        if let Some(out) = st.to_pb(e) {
                            return Some((Ok(out), st));
                        }
                    }
                    None => return None,
                },
            }
        }
    }))
}
