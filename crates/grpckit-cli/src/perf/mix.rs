//! The default workload (no `--call`): sign up and log in once, seed one order, then a
//! realistic mix per 10 requests: 5 GetUser, 3 GetOrder, 1 ListOrders, 1 CreateOrder.

use anyhow::Context;
use grpckit_services::proto::{order::v1 as orderpb, user::v1 as userpb};
use tonic::Status;

use super::engine::{WorkerCall, Workload};
use crate::session::Session;

#[derive(Debug)]
pub(crate) struct Mix {
    sessions: Vec<Session>,
    user_id: String,
    order_id: String,
}

impl Mix {
    /// Signs up on the first session, copies its token to the others and seeds an order.
    pub(crate) async fn prepare(mut sessions: Vec<Session>) -> anyhow::Result<Self> {
        let first = sessions.first_mut().context("no connection")?;
        let acct = first.sign_up_and_login("perf").await?;
        let seed = first
            .orders
            .create_order(first.req(order_request(&acct.id)))
            .await
            .context("seed CreateOrder")?
            .into_inner()
            .order
            .context("no order")?;
        let token = first.token.clone();
        for s in &mut sessions {
            s.token.clone_from(&token);
        }
        Ok(Self {
            sessions,
            user_id: acct.id,
            order_id: seed.id,
        })
    }
}

fn order_request(user_id: &str) -> orderpb::CreateOrderRequest {
    orderpb::CreateOrderRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        items: vec![orderpb::OrderItem {
            sku: "PERF".into(),
            quantity: 1,
            unit_price_minor: 100,
        }],
        currency: "USD".into(),
    }
}

#[derive(Debug)]
pub(crate) struct MixWorker {
    s: Session,
    user_id: String,
    order_id: String,
}

impl Workload for Mix {
    type Worker = MixWorker;

    fn worker(&self, id: usize) -> MixWorker {
        MixWorker {
            s: self.sessions[id % self.sessions.len()].clone(),
            user_id: self.user_id.clone(),
            order_id: self.order_id.clone(),
        }
    }
}

impl WorkerCall for MixWorker {
    async fn call(&mut self, seq: u64) -> Result<(), Status> {
        let s = &mut self.s;
        match seq % 10 {
            0..=4 => {
                let r = s.req(userpb::GetUserRequest {
                    id: self.user_id.clone(),
                });
                s.users.get_user(r).await.map(drop)
            }
            5..=7 => {
                let r = s.req(orderpb::GetOrderRequest {
                    id: self.order_id.clone(),
                });
                s.orders.get_order(r).await.map(drop)
            }
            8 => {
                let r = s.req(orderpb::ListOrdersRequest {
                    user_id: self.user_id.clone(),
                    page_size: 10,
                    page_token: String::new(),
                });
                s.orders.list_orders(r).await.map(drop)
            }
            _ => {
                let r = s.req(order_request(&self.user_id));
                s.orders.create_order(r).await.map(drop)
            }
        }
    }
}
