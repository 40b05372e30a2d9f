//! Domain <-> proto for orders.

use crate::{
    domain::order::{Item, Order, OrderStatus},
    proto::order::v1 as pb,
    time::to_timestamp,
};

pub(crate) fn status_to_pb(s: OrderStatus) -> pb::OrderStatus {
    match s {
        OrderStatus::Created => pb::OrderStatus::Created,
        OrderStatus::Paid => pb::OrderStatus::Paid,
        OrderStatus::Shipped => pb::OrderStatus::Shipped,
        OrderStatus::Delivered => pb::OrderStatus::Delivered,
        OrderStatus::Cancelled => pb::OrderStatus::Cancelled,
    }
}

pub(crate) fn items_from_pb(items: Vec<pb::OrderItem>) -> Vec<Item> {
    items
        .into_iter()
        .map(|i| Item {
            sku: i.sku,
            quantity: i.quantity,
            unit_price_minor: i.unit_price_minor,
        })
        .collect()
}

pub(crate) fn order_to_pb(o: &Order) -> pb::Order {
    pb::Order {
        id: o.id.clone(),
        user_id: o.user_id.clone(),
        request_id: o.request_id.clone(),
        items: o
            .items
            .iter()
            .map(|i| pb::OrderItem {
                sku: i.sku.clone(),
                quantity: i.quantity,
                unit_price_minor: i.unit_price_minor,
            })
            .collect(),
        currency: o.currency.clone(),
        total_minor: o.total_minor,
        status: status_to_pb(o.status) as i32,
        created_at: Some(to_timestamp(o.created_at)),
        updated_at: Some(to_timestamp(o.updated_at)),
    }
}
