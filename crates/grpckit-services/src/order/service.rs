//! The OrderService handlers.

use crate::reasons;
use std::{pin::Pin, sync::Arc};

use futures::Stream;
use grpckit::{middleware::auth::Principal, server::Shutdown};
use tonic::{Request, Response, Status, Streaming};

use super::{
    chat,
    convert::{items_from_pb, order_to_pb},
    tracking,
};
use crate::{
    ServiceError,
    directory::UserDirectory,
    domain::{
        order::{Order, OrderStatus, check_new_order},
        page,
    },
    events::{EventBody, EventBus, event, order_topic, user_topic},
    proto::{
        order::v1::{self as pb, order_service_server::OrderService},
        user::v1::ActivityKind,
    },
    security::{CallContext, caller, check_owner, check_reader},
    store::{CreateOutcome, OrderStore},
    time::now_micros,
};

/// Most orders accepted by one `UploadOrders` call.
const MAX_UPLOAD: u32 = 10_000;

/// The OrderService implementation.
#[derive(Debug, Clone)]
pub struct OrderApi {
    store: Arc<dyn OrderStore>,
    users: Arc<dyn UserDirectory>,
    bus: Arc<dyn EventBus>,
    shutdown: Shutdown,
}

/// Publishes the tracking and activity events of an order change.
pub(crate) async fn publish_change(bus: &dyn EventBus, order: &Order, description: &str) {
    let kind = match order.status {
        OrderStatus::Created => ActivityKind::OrderCreated,
        OrderStatus::Paid => ActivityKind::OrderPaid,
        OrderStatus::Shipped => ActivityKind::OrderShipped,
        OrderStatus::Delivered => ActivityKind::OrderDelivered,
        OrderStatus::Cancelled => ActivityKind::OrderCancelled,
    };
    let tracking = EventBody::Tracking {
        order_id: order.id.clone(),
        status: order.status.as_str().into(),
        description: description.into(),
    };
    bus.publish(&order_topic(&order.id), event(tracking)).await;
    let activity = EventBody::Activity {
        user_id: order.user_id.clone(),
        kind: kind as i32,
        description: format!("order {}: {description}", order.id),
        order_id: order.id.clone(),
    };
    bus.publish(&user_topic(&order.user_id), event(activity))
        .await;
}

impl OrderApi {
    /// Wires the service.
    pub fn new(
        store: Arc<dyn OrderStore>,
        users: Arc<dyn UserDirectory>,
        bus: Arc<dyn EventBus>,
        shutdown: Shutdown,
    ) -> Self {
        Self {
            store,
            users,
            bus,
            shutdown,
        }
    }

    async fn create(
        &self,
        req: pb::CreateOrderRequest,
        p: Option<&Principal>,
        ctx: &CallContext,
    ) -> Result<Order, ServiceError> {
        let new = check_new_order(
            &req.request_id,
            &req.user_id,
            items_from_pb(req.items),
            &req.currency,
        )?;
        check_owner(p, &new.user_id, reasons::ORDER)?;
        if !self.users.user_exists(&new.user_id, ctx).await? {
            return Err(ServiceError::NotFound(
                reasons::ORDER_USER_NOT_FOUND,
                format!("user '{}' not found", new.user_id),
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        match self.store.create_order(&id, &new, now_micros()).await? {
            CreateOutcome::Created(o) => {
                publish_change(self.bus.as_ref(), &o, "order created").await;
                Ok(o)
            }
            CreateOutcome::Replayed(o) => Ok(o),
        }
    }

    async fn require_order(&self, id: &str) -> Result<Order, ServiceError> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("id", "must not be empty"));
        }
        self.store.get_order(id).await?.ok_or_else(|| {
            ServiceError::NotFound(reasons::ORDER_NOT_FOUND, format!("order '{id}' not found"))
        })
    }
}

type TrackStream = Pin<Box<dyn Stream<Item = Result<pb::TrackingEvent, Status>> + Send>>;
type ChatStream = Pin<Box<dyn Stream<Item = Result<pb::ChatEvent, Status>> + Send>>;

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn create_order(
        &self,
        req: Request<pb::CreateOrderRequest>,
    ) -> Result<Response<pb::CreateOrderResponse>, Status> {
        let (p, ctx) = (caller(&req), CallContext::of(&req));
        let order = self.create(req.into_inner(), p.as_ref(), &ctx).await?;
        Ok(Response::new(pb::CreateOrderResponse {
            order: Some(order_to_pb(&order)),
        }))
    }

    async fn get_order(
        &self,
        req: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::GetOrderResponse>, Status> {
        let p = caller(&req);
        let order = self.require_order(&req.into_inner().id).await?;
        check_reader(p.as_ref(), &order.user_id, reasons::ORDER)?;
        Ok(Response::new(pb::GetOrderResponse {
            order: Some(order_to_pb(&order)),
        }))
    }

    async fn list_orders(
        &self,
        req: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let p = caller(&req);
        let mut req = req.into_inner();
        // A normal user lists only their own orders.
        if let Some(p) = p
            .as_ref()
            .filter(|p| !p.is_admin() && !p.has_role("support"))
        {
            if req.user_id.is_empty() {
                req.user_id = p.subject().to_owned();
            }
            check_owner(Some(p), &req.user_id, reasons::ORDER)?;
        }
        let size = page::page_size(req.page_size)?;
        let after = page::decode("orders", &req.page_token)?;
        let user = (!req.user_id.is_empty()).then_some(req.user_id.as_str());
        let mut orders = self
            .store
            .list_orders(user, after.as_deref(), size + 1)
            .await?;
        let next_page_token = if orders.len() > size as usize {
            orders.truncate(size as usize);
            orders
                .last()
                .map(|o| page::encode("orders", &o.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListOrdersResponse {
            orders: orders.iter().map(order_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn cancel_order(
        &self,
        req: Request<pb::CancelOrderRequest>,
    ) -> Result<Response<pb::CancelOrderResponse>, Status> {
        let p = caller(&req);
        let req = req.into_inner();
        let current = self.require_order(&req.id).await?;
        check_owner(p.as_ref(), &current.user_id, reasons::ORDER)?;
        let order = self
            .store
            .transition(&req.id, OrderStatus::Cancelled, None, now_micros())
            .await?;
        let why = if req.reason.trim().is_empty() {
            "cancelled".to_owned()
        } else {
            format!("cancelled: {}", req.reason.trim())
        };
        publish_change(self.bus.as_ref(), &order, &why).await;
        Ok(Response::new(pb::CancelOrderResponse {
            order: Some(order_to_pb(&order)),
        }))
    }

    async fn pay_order(
        &self,
        req: Request<pb::PayOrderRequest>,
    ) -> Result<Response<pb::PayOrderResponse>, Status> {
        let p = caller(&req);
        let req = req.into_inner();
        let current = self.require_order(&req.id).await?;
        check_owner(p.as_ref(), &current.user_id, reasons::ORDER)?;
        if req.amount_minor < 0 {
            return Err(ServiceError::invalid("amount_minor", "must not be negative").into());
        }
        if req.amount_minor != 0 && req.amount_minor != current.total_minor {
            return Err(ServiceError::invalid(
                "amount_minor",
                format!(
                    "must equal the order total {} (or 0 to pay the total)",
                    current.total_minor
                ),
            )
            .into());
        }
        let payment_id = format!("pay_{}", uuid::Uuid::now_v7().simple());
        let order = self
            .store
            .transition(&req.id, OrderStatus::Paid, Some(&payment_id), now_micros())
            .await?;
        publish_change(self.bus.as_ref(), &order, "payment received").await;
        Ok(Response::new(pb::PayOrderResponse {
            order: Some(order_to_pb(&order)),
            payment_id,
        }))
    }

    type TrackOrderStream = TrackStream;

    async fn track_order(
        &self,
        req: Request<pb::TrackOrderRequest>,
    ) -> Result<Response<Self::TrackOrderStream>, Status> {
        let p = caller(&req);
        let id = req.into_inner().order_id;
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("order_id", "must not be empty").into());
        }
        // Subscribe first, then read the state: no change can slip in between.
        let live = self.bus.subscribe(&order_topic(&id)).await;
        let current = self.require_order(&id).await?;
        check_reader(p.as_ref(), &current.user_id, reasons::ORDER)?;
        Ok(Response::new(tracking::stream(current, live)))
    }

    async fn upload_orders(
        &self,
        req: Request<Streaming<pb::CreateOrderRequest>>,
    ) -> Result<Response<pb::UploadOrdersResponse>, Status> {
        let (p, ctx) = (caller(&req), CallContext::of(&req));
        let mut stream = req.into_inner();
        let mut out = pb::UploadOrdersResponse::default();
        let mut index = 0u32;
        while let Some(item) = stream.message().await? {
            if index >= MAX_UPLOAD {
                return Err(reasons::UPLOAD_TOO_LARGE.status(
                    tonic::Code::ResourceExhausted,
                    format!("at most {MAX_UPLOAD} orders per upload"),
                ));
            }
            let request_id = item.request_id.clone();
            match self.create(item, p.as_ref(), &ctx).await {
                Ok(o) => {
                    out.created_count += 1;
                    out.created.push(order_to_pb(&o));
                }
                Err(e) => {
                    let st: Status = e.into();
                    out.failed_count += 1;
                    out.errors.push(pb::UploadItemError {
                        index,
                        request_id,
                        code: grpckit::error::code_name(st.code()).to_owned(),
                        message: st.message().to_owned(),
                    });
                }
            }
            index += 1;
        }
        Ok(Response::new(out))
    }

    type ChatStream = ChatStream;

    async fn chat(
        &self,
        req: Request<Streaming<pb::ChatMessage>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let p = caller(&req);
        let inbound = req.into_inner();
        let events = chat::open(
            inbound,
            p,
            self.store.clone(),
            self.bus.clone(),
            self.shutdown.clone(),
        )
        .await?;
        Ok(Response::new(events))
    }
}
