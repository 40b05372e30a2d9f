//! Order rules: the state machine, item checks, totals in minor units, and the payload
//! fingerprint that makes `CreateOrder` idempotent.

use crate::reasons;
use grpckit::error::FieldViolation;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ServiceError;

/// Order states: CREATED -> PAID -> SHIPPED -> DELIVERED; CANCELLED from CREATED or PAID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Placed, not paid.
    Created,
    /// Paid, waiting for shipment.
    Paid,
    /// Handed to the carrier.
    Shipped,
    /// Arrived (terminal).
    Delivered,
    /// Cancelled (terminal).
    Cancelled,
}

impl OrderStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "CREATED" => Self::Created,
            "PAID" => Self::Paid,
            "SHIPPED" => Self::Shipped,
            "DELIVERED" => Self::Delivered,
            "CANCELLED" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Whether no further transition is possible.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled)
    }

    /// Position along the happy path, to order tracking events.
    pub fn rank(self) -> u8 {
        match self {
            Self::Created => 0,
            Self::Paid => 1,
            Self::Shipped => 2,
            Self::Delivered | Self::Cancelled => 3,
        }
    }

    /// The state machine.
    pub fn can_transition_to(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Created, Self::Paid)
                | (Self::Paid, Self::Shipped)
                | (Self::Shipped, Self::Delivered)
                | (Self::Created | Self::Paid, Self::Cancelled)
        )
    }

    /// The error for an illegal transition.
    pub fn transition_error(self, to: Self) -> ServiceError {
        let (reason, allowed) = match to {
            Self::Paid => (
                reasons::ORDER_NOT_PAYABLE,
                "only CREATED orders can be paid",
            ),
            Self::Cancelled => (
                reasons::ORDER_NOT_CANCELLABLE,
                "only CREATED or PAID orders can be cancelled",
            ),
            Self::Shipped => (
                reasons::ORDER_WRONG_STATE,
                "only PAID orders can be shipped",
            ),
            Self::Delivered => (
                reasons::ORDER_WRONG_STATE,
                "only SHIPPED orders can be delivered",
            ),
            Self::Created => (
                reasons::ORDER_WRONG_STATE,
                "orders cannot go back to CREATED",
            ),
        };
        ServiceError::FailedPrecondition(reason, format!("order is {}; {allowed}", self.as_str()))
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Stock keeping unit.
    pub sku: String,
    /// How many (> 0).
    pub quantity: u32,
    /// Minor units per unit (>= 0).
    pub unit_price_minor: i64,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// UUIDv7.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Idempotency key.
    pub request_id: String,
    /// Hash of (user, items, currency) to detect key reuse with another payload.
    pub fingerprint: String,
    /// Lines.
    pub items: Vec<Item>,
    /// ISO 4217.
    pub currency: String,
    /// Sum of quantity x unit price.
    pub total_minor: i64,
    /// State.
    pub status: OrderStatus,
    /// Set once paid.
    pub payment_id: Option<String>,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros.
    pub updated_at: i64,
}

/// A validated order to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Idempotency key.
    pub request_id: String,
    /// Owner.
    pub user_id: String,
    /// Lines.
    pub items: Vec<Item>,
    /// ISO 4217.
    pub currency: String,
    /// Total.
    pub total_minor: i64,
    /// Payload hash.
    pub fingerprint: String,
}

/// Most items per order.
pub const MAX_ITEMS: usize = 100;
/// Most units per item.
pub const MAX_QUANTITY: u32 = 1_000_000;

/// Validates a create request, reporting every violation, and computes the total.
pub fn check_new_order(
    request_id: &str,
    user_id: &str,
    items: Vec<Item>,
    currency: &str,
) -> Result<NewOrder, ServiceError> {
    let mut v = Vec::new();
    if request_id.trim().is_empty() {
        v.push(FieldViolation::new("request_id", "must not be empty"));
    } else if request_id.len() > 128 {
        v.push(FieldViolation::new(
            "request_id",
            "must be at most 128 characters",
        ));
    }
    if user_id.trim().is_empty() {
        v.push(FieldViolation::new("user_id", "must not be empty"));
    }
    let currency = if currency.is_empty() {
        "USD".to_owned()
    } else {
        currency.to_owned()
    };
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        v.push(FieldViolation::new(
            "currency",
            "must be a 3-letter ISO 4217 code such as USD",
        ));
    }
    if items.is_empty() {
        v.push(FieldViolation::new(
            "items",
            "must contain at least one item",
        ));
    } else if items.len() > MAX_ITEMS {
        v.push(FieldViolation::new(
            "items",
            format!("must contain at most {MAX_ITEMS} items"),
        ));
    }
    let mut total: Option<i64> = Some(0);
    for (i, it) in items.iter().enumerate() {
        if it.sku.trim().is_empty() {
            v.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "must not be empty",
            ));
        }
        if it.quantity == 0 {
            v.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                "must be greater than 0",
            ));
        } else if it.quantity > MAX_QUANTITY {
            v.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                format!("must be at most {MAX_QUANTITY}"),
            ));
        }
        if it.unit_price_minor < 0 {
            v.push(FieldViolation::new(
                format!("items[{i}].unit_price_minor"),
                "must not be negative",
            ));
        }
        total = total.and_then(|t| {
            it.unit_price_minor
                .checked_mul(i64::from(it.quantity))
                .and_then(|x| t.checked_add(x))
        });
    }
    let Some(total_minor) = total else {
        v.push(FieldViolation::new("items", "order total overflows"));
        return Err(ServiceError::invalid_many(v));
    };
    if !v.is_empty() {
        return Err(ServiceError::invalid_many(v));
    }
    let fingerprint = fingerprint(user_id, &items, &currency);
    Ok(NewOrder {
        request_id: request_id.to_owned(),
        user_id: user_id.to_owned(),
        items,
        currency,
        total_minor,
        fingerprint,
    })
}

fn fingerprint(user_id: &str, items: &[Item], currency: &str) -> String {
    let canonical = serde_json::json!({ "user_id": user_id, "items": items, "currency": currency });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(q: u32, p: i64) -> Item {
        Item {
            sku: "A".into(),
            quantity: q,
            unit_price_minor: p,
        }
    }

    #[test]
    fn state_machine() {
        use OrderStatus::*;
        assert!(Created.can_transition_to(Paid));
        assert!(Created.can_transition_to(Cancelled));
        assert!(Paid.can_transition_to(Cancelled));
        assert!(!Shipped.can_transition_to(Cancelled));
        assert!(!Delivered.can_transition_to(Paid));
        assert!(!Cancelled.can_transition_to(Paid));
        assert!(!Created.can_transition_to(Shipped));
    }

    #[test]
    fn totals_and_violations() {
        let o = check_new_order("r", "u", vec![item(2, 150), item(1, 5)], "").unwrap();
        assert_eq!(o.total_minor, 305);
        assert_eq!(o.currency, "USD");
        let Err(ServiceError::InvalidArgument { violations, .. }) =
            check_new_order("", "u", vec![item(0, -1)], "usd")
        else {
            panic!()
        };
        assert_eq!(violations.len(), 4, "{violations:?}");
        assert!(check_new_order("r", "u", vec![item(1_000_000, i64::MAX)], "USD").is_err());
    }

    #[test]
    fn fingerprint_depends_on_payload() {
        let a = check_new_order("r", "u", vec![item(1, 1)], "USD").unwrap();
        let b = check_new_order("r", "u", vec![item(2, 1)], "USD").unwrap();
        let c = check_new_order("other", "u", vec![item(1, 1)], "USD").unwrap();
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint, c.fingerprint);
    }
}
