//! Storage ports and the sqlx adapter (SQLite by default, PostgreSQL by URL).

mod cache;
mod open;
mod sql;

pub use cache::CachedUsers;
pub use sql::SqlStore;

use async_trait::async_trait;

use crate::{
    ServiceError,
    domain::{
        order::{NewOrder, Order, OrderStatus},
        user::{Role, User},
    },
};

/// Fields of a user to change; `None` = keep.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New name.
    pub name: Option<String>,
    /// New (normalized) email.
    pub email: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New role (admin bootstrap only).
    pub role: Option<Role>,
}

/// The outcome of an idempotent create.
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    /// A new row was written.
    Created(Order),
    /// The same request was seen before; this is the stored order.
    Replayed(Order),
}

impl CreateOutcome {
    /// The order either way.
    pub fn order(&self) -> &Order {
        match self {
            Self::Created(o) | Self::Replayed(o) => o,
        }
    }
}

/// Users.
#[async_trait]
pub trait UserStore: Send + Sync + std::fmt::Debug {
    /// Inserts; `ALREADY_EXISTS` when the email is taken.
    async fn insert_user(&self, user: &User) -> Result<(), ServiceError>;
    /// By id.
    async fn get_user(&self, id: &str) -> Result<Option<User>, ServiceError>;
    /// By normalized email.
    async fn get_user_by_email(&self, email: &str) -> Result<Option<User>, ServiceError>;
    /// Applies a patch; `None` when the user does not exist.
    async fn update_user(
        &self,
        id: &str,
        patch: UserPatch,
        now: i64,
    ) -> Result<Option<User>, ServiceError>;
    /// Deletes; false when it did not exist.
    async fn delete_user(&self, id: &str) -> Result<bool, ServiceError>;
    /// Users with id greater than `after`, ascending, at most `limit`.
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, ServiceError>;
}

/// Orders.
#[async_trait]
pub trait OrderStore: Send + Sync + std::fmt::Debug {
    /// Idempotent insert keyed by `request_id`; `ALREADY_EXISTS` when the key was used with
    /// another payload.
    async fn create_order(
        &self,
        id: &str,
        order: &NewOrder,
        now: i64,
    ) -> Result<CreateOutcome, ServiceError>;
    /// By id.
    async fn get_order(&self, id: &str) -> Result<Option<Order>, ServiceError>;
    /// Orders (of one user when given) with id greater than `after`, ascending.
    async fn list_orders(
        &self,
        user_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Order>, ServiceError>;
    /// Moves an order to `to` if the state machine allows it from its current state.
    /// `NOT_FOUND` / `FAILED_PRECONDITION` otherwise. Safe under concurrency (compare-and-set).
    async fn transition(
        &self,
        id: &str,
        to: OrderStatus,
        payment_id: Option<&str>,
        now: i64,
    ) -> Result<Order, ServiceError>;
    /// Orders in `status` last changed at or before `before` (for the logistics simulator).
    async fn due_orders(
        &self,
        status: OrderStatus,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Order>, ServiceError>;
}
