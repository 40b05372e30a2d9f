//! The sqlx adapter. One set of portable SQL and migrations for SQLite and PostgreSQL,
//! through sqlx's `Any` driver; `$n` placeholders work on both.

use crate::reasons;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{
    AnyPool, Row,
    any::{AnyPoolOptions, AnyRow},
};

use super::{CreateOutcome, OrderStore, UserPatch, UserStore};
use crate::{
    ServiceError,
    domain::{
        order::{Item, NewOrder, Order, OrderStatus},
        user::{Role, User},
    },
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Users and orders in one SQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// `db.system.name` of the DB spans.
    system: &'static str,
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Adds `mode=rwc` to SQLite URLs so the file is created on first run.
fn normalize_url(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

impl SqlStore {
    /// Connects, applies pragmas (SQLite: WAL, busy timeout, foreign keys) and migrates.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        min_connections: u32,
    ) -> Result<Self, ServiceError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = normalize_url(url);
        super::open::probe(&url).await?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(min_connections.min(max_connections))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| ServiceError::Open {
                target: super::open::describe(&url),
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            system: if sqlite { "sqlite" } else { "postgresql" },
        })
    }

    /// The pool (for gauges and tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

macro_rules! user_cols {
    () => {
        "id, name, email, password_hash, role, created_at, updated_at"
    };
}
macro_rules! order_cols {
    () => {
        "id, user_id, request_id, fingerprint, items, currency, total_minor, status, payment_id, created_at, updated_at"
    };
}

fn user_from_row(r: &AnyRow) -> Result<User, ServiceError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: Role::parse(&role),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn order_from_row(r: &AnyRow) -> Result<Order, ServiceError> {
    let items: String = r.try_get("items")?;
    let status: String = r.try_get("status")?;
    Ok(Order {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        request_id: r.try_get("request_id")?,
        fingerprint: r.try_get("fingerprint")?,
        items: serde_json::from_str::<Vec<Item>>(&items)
            .map_err(|e| ServiceError::internal_from("corrupt items column", e))?,
        currency: r.try_get("currency")?,
        total_minor: r.try_get("total_minor")?,
        status: OrderStatus::parse(&status)
            .ok_or_else(|| ServiceError::internal(format!("corrupt status column: {status}")))?,
        payment_id: r.try_get("payment_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[async_trait]
impl UserStore for SqlStore {
    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "insert_user"))]
    async fn insert_user(&self, u: &User) -> Result<(), ServiceError> {
        let res = sqlx::query(
            "INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&u.id)
        .bind(&u.name)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(u.created_at)
        .bind(u.updated_at)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(ServiceError::AlreadyExists(
                reasons::EMAIL_TAKEN,
                format!("a user with email '{}' already exists", u.email),
            )),
            Err(e) => Err(e.into()),
        }
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "get_user"))]
    async fn get_user(&self, id: &str) -> Result<Option<User>, ServiceError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "get_user_by_email"))]
    async fn get_user_by_email(&self, email: &str) -> Result<Option<User>, ServiceError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "update_user"))]
    async fn update_user(
        &self,
        id: &str,
        p: UserPatch,
        now: i64,
    ) -> Result<Option<User>, ServiceError> {
        let Some(mut u) = self.get_user(id).await? else {
            return Ok(None);
        };
        if let Some(n) = p.name {
            u.name = n;
        }
        if let Some(e) = p.email {
            u.email = e;
        }
        if let Some(h) = p.password_hash {
            u.password_hash = h;
        }
        if let Some(r) = p.role {
            u.role = r;
        }
        u.updated_at = now;
        let res = sqlx::query(
            "UPDATE users SET name = $1, email = $2, password_hash = $3, role = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(&u.name)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(u.updated_at)
        .bind(id)
        .execute(&self.pool)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => Ok(None),
            Ok(_) => Ok(Some(u)),
            Err(e) if is_unique_violation(&e) => Err(ServiceError::AlreadyExists(
                reasons::EMAIL_TAKEN,
                format!("a user with email '{}' already exists", u.email),
            )),
            Err(e) => Err(e.into()),
        }
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "delete_user"))]
    async fn delete_user(&self, id: &str) -> Result<bool, ServiceError> {
        let r = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "list_users"))]
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, ServiceError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE id > $1 ORDER BY id ASC LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }
}

#[async_trait]
impl OrderStore for SqlStore {
    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "create_order"))]
    async fn create_order(
        &self,
        id: &str,
        o: &NewOrder,
        now: i64,
    ) -> Result<CreateOutcome, ServiceError> {
        let items = serde_json::to_string(&o.items)
            .map_err(|e| ServiceError::internal_from("cannot encode items", e))?;
        // ON CONFLICT DO NOTHING makes concurrent duplicates race safely: exactly one insert
        // wins, the others read the winner's row below.
        let inserted = sqlx::query(
            "INSERT INTO orders (id, user_id, request_id, fingerprint, items, currency, total_minor, status, payment_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(id)
        .bind(&o.user_id)
        .bind(&o.request_id)
        .bind(&o.fingerprint)
        .bind(&items)
        .bind(&o.currency)
        .bind(o.total_minor)
        .bind(OrderStatus::Created.as_str())
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query(concat!(
            "SELECT ",
            order_cols!(),
            " FROM orders WHERE request_id = $1"
        ))
        .bind(&o.request_id)
        .fetch_one(&self.pool)
        .await?;
        let stored = order_from_row(&row)?;
        if inserted {
            return Ok(CreateOutcome::Created(stored));
        }
        if stored.fingerprint != o.fingerprint {
            return Err(ServiceError::AlreadyExists(
                reasons::IDEMPOTENCY_CONFLICT,
                format!(
                    "request_id '{}' was already used for a different order payload; use a new request_id",
                    o.request_id
                ),
            ));
        }
        Ok(CreateOutcome::Replayed(stored))
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "get_order"))]
    async fn get_order(&self, id: &str) -> Result<Option<Order>, ServiceError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            order_cols!(),
            " FROM orders WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "list_orders"))]
    async fn list_orders(
        &self,
        user_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Order>, ServiceError> {
        // Placeholders stay in ascending order: SQLite numbers `$n` by first appearance.
        let rows = match user_id {
            Some(u) => {
                sqlx::query(concat!(
                    "SELECT ",
                    order_cols!(),
                    " FROM orders WHERE id > $1 AND user_id = $2 ORDER BY id ASC LIMIT $3"
                ))
                .bind(after.unwrap_or(""))
                .bind(u)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    order_cols!(),
                    " FROM orders WHERE id > $1 ORDER BY id ASC LIMIT $2"
                ))
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(order_from_row).collect()
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "transition"))]
    async fn transition(
        &self,
        id: &str,
        to: OrderStatus,
        payment_id: Option<&str>,
        now: i64,
    ) -> Result<Order, ServiceError> {
        // Compare-and-set on the current status; retry if another writer moved it meanwhile.
        for _ in 0..5 {
            let Some(current) = self.get_order(id).await? else {
                return Err(ServiceError::NotFound(
                    reasons::ORDER_NOT_FOUND,
                    format!("order '{id}' not found"),
                ));
            };
            if !current.status.can_transition_to(to) {
                return Err(current.status.transition_error(to));
            }
            let r = sqlx::query(
                "UPDATE orders SET status = $1, updated_at = $2, payment_id = COALESCE($3, payment_id) \
                 WHERE id = $4 AND status = $5",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(payment_id)
            .bind(id)
            .bind(current.status.as_str())
            .execute(&self.pool)
            .await?;
            if r.rows_affected() == 1 {
                return Ok(Order {
                    status: to,
                    updated_at: now,
                    payment_id: payment_id.map(str::to_owned).or(current.payment_id),
                    ..current
                });
            }
        }
        Err(ServiceError::Unavailable(
            reasons::ORDER_BUSY,
            format!("order '{id}' is changing concurrently; retry"),
        ))
    }

    #[tracing::instrument(level = "debug", name = "db.query", skip_all, err(level = "debug"), fields(otel.kind = "client", db.system.name = self.system, db.operation.name = "due_orders"))]
    async fn due_orders(
        &self,
        status: OrderStatus,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Order>, ServiceError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_cols!(),
            " FROM orders WHERE status = $1 AND updated_at <= $2 ORDER BY updated_at ASC LIMIT $3"
        ))
        .bind(status.as_str())
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_from_row).collect()
    }
}
