//! Wiring: turns an [`AppConfig`] into running services (stores, bus, directory, simulator) and
//! hands them to grpckit's [`ServerBuilder`].

use std::sync::{Arc, OnceLock};

use grpckit::{
    client::BalancedChannel,
    config::ClientConfig,
    middleware::{GrpcStackLayer, StackHandles, auth::AuthSecrets},
    server::{ServerBuilder, Shutdown},
};

use crate::{
    ServiceError,
    config::{AppConfig, ServiceName},
    directory::{GrpcDirectory, LocalDirectory, UserDirectory},
    domain::user::{self as rules, Role, User},
    events::{EventBus, MemoryBus},
    order::{OrderApi, logistics},
    proto::{
        FILE_DESCRIPTOR_SET, order::v1::order_service_server::OrderServiceServer,
        user::v1::user_service_server::UserServiceServer,
    },
    security::{LoginBackoff, TokenIssuer, hash_password},
    store::{CachedUsers, SqlStore, UserPatch, UserStore},
    time::now_micros,
    user::UserApi,
};

/// Everything a server process needs, built from config.
#[derive(Debug, Clone)]
pub struct App {
    config: AppConfig,
    store: SqlStore,
    /// Users, through the read cache when `database.user_cache.capacity > 0`; shared by
    /// every server builder (thread-per-core cores) so writes invalidate one cache.
    users: Arc<dyn UserStore>,
    bus: Arc<dyn EventBus>,
    tokens: TokenIssuer,
    /// Failed logins per email, shared by every builder's UserService.
    backoff: Arc<LoginBackoff>,
    auth_secrets: AuthSecrets,
    /// The middleware stack, built by the first `server_builder` and shared by every later
    /// one (thread-per-core cores), so rate limits and hot reloads are process-wide.
    stack: Arc<OnceLock<Option<GrpcStackLayer>>>,
    /// The order service's `UserService` client (split mode), built by the first
    /// `server_builder` and shared by every later one.
    user_client: Arc<OnceLock<BalancedChannel>>,
    shutdown: Shutdown,
}

impl App {
    /// Opens the database (migrating it), creates the bus and the token issuer, and
    /// bootstraps the admin if configured. Logs a warning for each earlier key spelling the
    /// configuration file used.
    pub async fn build(config: AppConfig, shutdown: Shutdown) -> Result<Self, ServiceError> {
        for key in config.moved_keys() {
            tracing::warn!(
                old = key.old,
                new = key.new,
                "config key {} has moved to {}; the earlier spelling still works",
                key.old,
                key.new
            );
        }
        let db = &config.database;
        let store = SqlStore::connect(&db.url, db.max_connections, db.min_connections).await?;
        let pool = store.pool().clone();
        grpckit::telemetry::metrics::register_db_pool("main", move || {
            grpckit::telemetry::metrics::PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        });
        let memory_bus = MemoryBus::new(&config.events);
        let stats = memory_bus.stats_probe();
        grpckit::telemetry::metrics::register_event_bus("memory", move || {
            let s = stats();
            grpckit::telemetry::metrics::BusStats {
                topics: u64::try_from(s.topics).unwrap_or(u64::MAX),
                retained_bytes: u64::try_from(s.retained_bytes).unwrap_or(u64::MAX),
            }
        });
        // Ends on shutdown; removes topics whose replay history expired.
        drop(memory_bus.spawn_sweeper(shutdown.clone()));
        let bus: Arc<dyn EventBus> = Arc::new(memory_bus);
        let a = &config.auth;
        // One secret for issuing AND verifying (the auth middleware accepts Login tokens by
        // default); generated when not configured.
        let secret = if a.jwt_secret.is_empty() {
            tracing::warn!(
                "no auth.jwt_secret / GRPCKIT_JWT_SECRET configured: generated a random secret; \
                 tokens will not survive a restart and other instances will not accept them"
            );
            let mut b = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
            b.iter().map(|x| format!("{x:02x}")).collect()
        } else {
            a.jwt_secret.clone()
        };
        let tokens = TokenIssuer::new(&secret, &a.issuer, &a.audience, a.token_ttl);
        let auth_secrets = AuthSecrets {
            login_secret: secret.into_bytes(),
            issuer: a.issuer.clone(),
            audience: a.audience.clone(),
        };
        let cache = &config.database.user_cache;
        let users: Arc<dyn UserStore> = if cache.capacity > 0 {
            Arc::new(CachedUsers::new(store.clone(), cache.capacity, cache.ttl))
        } else {
            Arc::new(store.clone())
        };
        let app = Self {
            config,
            store,
            users,
            bus,
            tokens,
            backoff: Arc::default(),
            auth_secrets,
            stack: Arc::default(),
            user_client: Arc::default(),
            shutdown,
        };
        if !app.config.auth.admin_email.is_empty() && !app.config.auth.admin_password.is_empty() {
            let (e, p) = (
                app.config.auth.admin_email.clone(),
                app.config.auth.admin_password.clone(),
            );
            ensure_admin(&app.store, "admin", &e, &p).await?;
        }
        Ok(app)
    }

    /// The store.
    pub fn store(&self) -> &SqlStore {
        &self.store
    }

    /// The event bus.
    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    /// The token issuer (its secret verifies tokens too).
    pub fn tokens(&self) -> &TokenIssuer {
        &self.tokens
    }

    /// The hot-reload handles of the middleware stack (`None` before the first
    /// [`App::server_builder`], or without middleware).
    pub fn stack_handles(&self) -> Option<StackHandles> {
        self.stack.get()?.as_ref().map(GrpcStackLayer::handles)
    }

    /// The order service's `UserService` client when the user service runs apart
    /// (`services.user_service`), after the first [`App::server_builder`].
    pub fn user_client(&self) -> Option<BalancedChannel> {
        self.user_client.get().cloned()
    }

    /// The login secret, issuer and audience the auth middleware verifies tokens with.
    pub fn auth_secrets(&self) -> &AuthSecrets {
        &self.auth_secrets
    }

    fn serves(&self, s: ServiceName) -> bool {
        self.config.services.serve.contains(&s)
    }

    /// A server builder with the configured services added (the framework holds every
    /// service to `server.max_recv_size`/`max_send_size`) and the middleware stack (`middleware:` config, with the policies
    /// the `.proto` files declare, [`grpckit::policy`]) in place. Every builder of one `App` shares
    /// the same stack state.
    pub fn server_builder(&self) -> Result<ServerBuilder, ServiceError> {
        let cfg = &self.config.server;
        let mut b = ServerBuilder::new(cfg.clone()).file_descriptor_set(FILE_DESCRIPTOR_SET);
        b = match self.stack.get() {
            Some(Some(stack)) => b.stack(stack.clone()),
            Some(None) => b,
            None => {
                let b = b
                    .middleware(&self.config.middleware, &self.auth_secrets)
                    .map_err(|e| ServiceError::internal_from("middleware config", e))?;
                let _ = self.stack.set(b.stack_layer());
                b
            }
        };
        let user_store = self.users.clone();
        if self.serves(ServiceName::User) {
            let api = UserApi::new(user_store.clone(), self.bus.clone(), self.tokens.clone())
                .with_backoff(self.backoff.clone());
            b = b.add_service(UserServiceServer::new(api));
        }
        if self.serves(ServiceName::Order) {
            let user_service = &self.config.services.user_service;
            let users: Arc<dyn UserDirectory> = if user_service.is_empty() {
                Arc::new(LocalDirectory(user_store))
            } else {
                let ch = match self.user_client.get() {
                    Some(ch) => ch.clone(),
                    None => {
                        // A comma-separated list and/or dns://NAME:PORT.
                        let ch =
                            grpckit::client::ClientBuilder::new(user_client_config(&self.config))
                                .endpoint_list(user_service)
                                .build()
                                .map_err(|e| {
                                    ServiceError::internal_from("UserService client", e)
                                })?;
                        self.user_client.get_or_init(|| ch).clone()
                    }
                };
                Arc::new(GrpcDirectory::new(ch))
            };
            let api = OrderApi::new(
                Arc::new(self.store.clone()),
                users,
                self.bus.clone(),
                self.shutdown.clone(),
            );
            b = b.add_service(OrderServiceServer::new(api));
        }
        Ok(b)
    }

    /// Starts background work (the logistics simulator) on the current runtime.
    pub fn spawn_background(&self) -> Option<tokio::task::JoinHandle<()>> {
        if !self.serves(ServiceName::Order) || !self.config.logistics.enabled {
            return None;
        }
        Some(tokio::spawn(logistics::run(
            Arc::new(self.store.clone()),
            self.bus.clone(),
            self.config.logistics.interval,
            self.shutdown.clone(),
        )))
    }
}

/// The `client:` settings of the order service's `UserService` client: those of `cfg`
/// without `client.endpoints` (`services.user_service` lists them), with `GetUser` safe to
/// retry.
pub fn user_client_config(cfg: &AppConfig) -> ClientConfig {
    let mut c = cfg.client.clone();
    c.endpoints.clear();
    c.retry
        .idempotent_methods
        .push("/user.v1.UserService/GetUser".into());
    c
}

/// Creates an admin, or promotes (and re-keys) the existing account with that email.
pub async fn ensure_admin(
    store: &SqlStore,
    name: &str,
    email: &str,
    password: &str,
) -> Result<User, ServiceError> {
    rules::check_sign_up(name, email, password)?;
    let email = rules::normalize_email(email);
    let hash = hash_password(password.to_owned()).await?;
    if let Some(existing) = store.get_user_by_email(&email).await? {
        let patch = UserPatch {
            password_hash: Some(hash),
            role: Some(Role::Admin),
            ..UserPatch::default()
        };
        let u = store.update_user(&existing.id, patch, now_micros()).await?;
        return u.ok_or_else(|| ServiceError::internal("admin vanished during update"));
    }
    let now = now_micros();
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        email,
        password_hash: hash,
        role: Role::Admin,
        created_at: now,
        updated_at: now,
    };
    store.insert_user(&user).await?;
    tracing::info!(user_id = %user.id, email = %user.email, "admin account created");
    Ok(user)
}
