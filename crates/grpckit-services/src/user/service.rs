//! The UserService handlers: proto in, domain rules, store, events out.

use crate::reasons;
use std::{pin::Pin, sync::Arc, time::Duration};

use futures::{Stream, StreamExt};
use tokio::time::Instant;
use tonic::{Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, StatusExt};

use super::convert::user_to_pb;
use crate::{
    ServiceError,
    domain::{
        page, user as rules,
        user::{Role, User},
    },
    events::{EventBody, EventBus, event, user_topic},
    proto::user::v1::{self as pb, ActivityKind, user_service_server::UserService},
    security::{
        DUMMY_HASH, LoginBackoff, TokenIssuer, caller, check_owner, check_reader, hash_password,
        verify_password,
    },
    store::{UserPatch, UserStore},
    time::{now_micros, to_timestamp},
};

/// Most events replayed by `StreamUserActivity`.
const MAX_REPLAY: usize = 1000;
/// Most items accepted by one `BatchCreateUsers` call.
const MAX_BATCH: u32 = 10_000;

/// `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail, for an email in back-off.
fn too_many_failures(wait: Duration) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(wait));
    reasons::LOGIN_BACKOFF.add_to(&mut details);
    Status::with_error_details(
        tonic::Code::ResourceExhausted,
        "too many failed logins for this email: retry later",
        details,
    )
}

/// The UserService implementation.
#[derive(Debug, Clone)]
pub struct UserApi {
    store: Arc<dyn UserStore>,
    bus: Arc<dyn EventBus>,
    tokens: TokenIssuer,
    backoff: Arc<LoginBackoff>,
}

impl UserApi {
    /// Wires the service with the default back-off after failed logins.
    pub fn new(store: Arc<dyn UserStore>, bus: Arc<dyn EventBus>, tokens: TokenIssuer) -> Self {
        Self {
            store,
            bus,
            tokens,
            backoff: Arc::default(),
        }
    }

    /// Uses `backoff` (shared by every copy of the service in the process).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Arc<LoginBackoff>) -> Self {
        self.backoff = backoff;
        self
    }

    async fn activity(&self, user_id: &str, kind: ActivityKind, description: String) {
        let body = EventBody::Activity {
            user_id: user_id.into(),
            kind: kind as i32,
            description,
            order_id: String::new(),
        };
        self.bus.publish(&user_topic(user_id), event(body)).await;
    }

    /// Signs up one user (shared by `CreateUser` and `BatchCreateUsers`).
    async fn sign_up(&self, req: pb::CreateUserRequest) -> Result<User, ServiceError> {
        rules::check_sign_up(&req.name, &req.email, &req.password)?;
        let email = rules::normalize_email(&req.email);
        if self.store.get_user_by_email(&email).await?.is_some() {
            return Err(ServiceError::AlreadyExists(
                reasons::EMAIL_TAKEN,
                format!("a user with email '{email}' already exists"),
            ));
        }
        let now = now_micros();
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            name: req.name.trim().to_owned(),
            email,
            password_hash: hash_password(req.password).await?,
            role: Role::User,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(&user).await?;
        self.activity(
            &user.id,
            ActivityKind::UserCreated,
            "account created".into(),
        )
        .await;
        Ok(user)
    }

    async fn require_user(&self, id: &str) -> Result<User, ServiceError> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("id", "must not be empty"));
        }
        self.store.get_user(id).await?.ok_or_else(|| {
            ServiceError::NotFound(reasons::USER_NOT_FOUND, format!("user '{id}' not found"))
        })
    }
}

fn to_activity(e: crate::events::Event, replayed: bool) -> Option<pb::ActivityEvent> {
    match e.body {
        EventBody::Activity {
            user_id,
            kind,
            description,
            order_id,
        } => Some(pb::ActivityEvent {
            id: e.id,
            user_id,
            kind,
            description,
            order_id,
            occurred_at: Some(to_timestamp(e.at)),
            replayed,
        }),
        _ => None,
    }
}

type ActivityStream = Pin<Box<dyn Stream<Item = Result<pb::ActivityEvent, Status>> + Send>>;

#[tonic::async_trait]
impl UserService for UserApi {
    async fn create_user(
        &self,
        req: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let user = self.sign_up(req.into_inner()).await?;
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(user_to_pb(user)),
        }))
    }

    async fn get_user(
        &self,
        req: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        let p = caller(&req);
        let id = req.into_inner().id;
        check_reader(p.as_ref(), &id, reasons::USER)?;
        let user = self.require_user(&id).await?;
        Ok(Response::new(pb::GetUserResponse {
            user: Some(user_to_pb(user)),
        }))
    }

    async fn update_user(
        &self,
        req: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        let p = caller(&req);
        let req = req.into_inner();
        check_owner(p.as_ref(), &req.id, reasons::USER)?;
        let mut violations = Vec::new();
        if req.id.trim().is_empty() {
            violations.push(grpckit::error::FieldViolation::new(
                "id",
                "must not be empty",
            ));
        }
        if let Some(Err(e)) = req.name.as_deref().map(rules::check_name) {
            violations.push(grpckit::error::FieldViolation::new("name", e));
        }
        if let Some(Err(e)) = req.email.as_deref().map(rules::check_email) {
            violations.push(grpckit::error::FieldViolation::new("email", e));
        }
        if let Some(Err(e)) = req.password.as_deref().map(rules::check_password) {
            violations.push(grpckit::error::FieldViolation::new("password", e));
        }
        if !violations.is_empty() {
            return Err(ServiceError::invalid_many(violations).into());
        }
        let password_hash = match req.password {
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let patch = UserPatch {
            name: req.name.map(|n| n.trim().to_owned()),
            email: req.email.as_deref().map(rules::normalize_email),
            password_hash,
            role: None,
        };
        let changed: Vec<&str> = [
            patch.name.as_ref().map(|_| "name"),
            patch.email.as_ref().map(|_| "email"),
            patch.password_hash.as_ref().map(|_| "password"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let user = self
            .store
            .update_user(&req.id, patch, now_micros())
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(
                    reasons::USER_NOT_FOUND,
                    format!("user '{}' not found", req.id),
                )
            })?;
        let what = if changed.is_empty() {
            "nothing".to_owned()
        } else {
            changed.join(", ")
        };
        self.activity(
            &user.id,
            ActivityKind::ProfileUpdated,
            format!("profile updated: {what}"),
        )
        .await;
        Ok(Response::new(pb::UpdateUserResponse {
            user: Some(user_to_pb(user)),
        }))
    }

    async fn delete_user(
        &self,
        req: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let p = caller(&req);
        let id = req.into_inner().id;
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("id", "must not be empty").into());
        }
        check_owner(p.as_ref(), &id, reasons::USER)?;
        if !self.store.delete_user(&id).await? {
            return Err(ServiceError::NotFound(
                reasons::USER_NOT_FOUND,
                format!("user '{id}' not found"),
            )
            .into());
        }
        self.activity(&id, ActivityKind::UserDeleted, "account deleted".into())
            .await;
        Ok(Response::new(pb::DeleteUserResponse {}))
    }

    async fn list_users(
        &self,
        req: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let req = req.into_inner();
        let size = page::page_size(req.page_size)?;
        let after = page::decode("users", &req.page_token)?;
        let mut users = self.store.list_users(after.as_deref(), size + 1).await?;
        let next_page_token = if users.len() > size as usize {
            users.truncate(size as usize);
            users
                .last()
                .map(|u| page::encode("users", &u.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(user_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn login(
        &self,
        req: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let req = req.into_inner();
        let denied = || {
            ServiceError::Unauthenticated(
                reasons::BAD_CREDENTIALS,
                "invalid email or password".into(),
            )
        };
        if req.email.is_empty() || req.password.is_empty() {
            return Err(denied().into());
        }
        let email = rules::normalize_email(&req.email);
        // Checked before the password, for every email, so it reveals nothing.
        if let Err(wait) = self.backoff.check(&email, Instant::now()) {
            return Err(too_many_failures(wait));
        }
        let Some(user) = self.store.get_user_by_email(&email).await? else {
            // Same cost as a real check, so timing does not reveal which emails exist.
            let _ = verify_password(req.password, DUMMY_HASH.into()).await;
            self.backoff.failed(&email, Instant::now());
            return Err(denied().into());
        };
        if !verify_password(req.password, user.password_hash.clone()).await? {
            self.backoff.failed(&email, Instant::now());
            return Err(denied().into());
        }
        self.backoff.succeeded(&email);
        let token =
            self.tokens
                .issue(&user.id, &user.email, vec![user.role.as_str().to_owned()])?;
        self.activity(&user.id, ActivityKind::Login, "logged in".into())
            .await;
        Ok(Response::new(pb::LoginResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: self.tokens.ttl().as_secs() as i64,
            user: Some(user_to_pb(user)),
        }))
    }

    type StreamUserActivityStream = ActivityStream;

    async fn stream_user_activity(
        &self,
        req: Request<pb::StreamUserActivityRequest>,
    ) -> Result<Response<Self::StreamUserActivityStream>, Status> {
        let p = caller(&req);
        let req = req.into_inner();
        check_reader(p.as_ref(), &req.user_id, reasons::USER)?;
        self.require_user(&req.user_id).await.map_err(|e| match e {
            ServiceError::InvalidArgument { .. } => {
                ServiceError::invalid("user_id", "must not be empty")
            }
            other => other,
        })?;
        let topic = user_topic(&req.user_id);
        // Subscribe before reading history so nothing falls in between; skip live events
        // already replayed.
        let live = self.bus.subscribe(&topic).await;
        let replay = if req.replay_last > 0 {
            self.bus
                .recent(&topic, (req.replay_last as usize).min(MAX_REPLAY))
                .await
        } else {
            Vec::new()
        };
        let last_replayed = replay.last().map(|e| e.id.clone());
        let history = futures::stream::iter(
            replay
                .into_iter()
                .filter_map(|e| to_activity(e, true))
                .map(Ok),
        );
        let live = live
            .filter(move |e| {
                std::future::ready(last_replayed.as_ref().is_none_or(|last| e.id > *last))
            })
            .filter_map(|e| std::future::ready(to_activity(e, false).map(Ok)));
        // The server ends it with UNAVAILABLE when it drains: the client resubscribes elsewhere.
        Ok(Response::new(Box::pin(history.chain(live))))
    }

    async fn batch_create_users(
        &self,
        req: Request<Streaming<pb::CreateUserRequest>>,
    ) -> Result<Response<pb::BatchCreateUsersResponse>, Status> {
        let mut stream = req.into_inner();
        let mut out = pb::BatchCreateUsersResponse::default();
        let mut index = 0u32;
        while let Some(item) = stream.message().await? {
            if index >= MAX_BATCH {
                return Err(reasons::BATCH_TOO_LARGE.status(
                    tonic::Code::ResourceExhausted,
                    format!("at most {MAX_BATCH} users per batch"),
                ));
            }
            match self.sign_up(item).await {
                Ok(user) => {
                    out.created_count += 1;
                    out.created.push(user_to_pb(user));
                }
                Err(e) => {
                    let reason = grpckit::IntoStatus::reason(&e);
                    let st: Status = e.into();
                    out.failed_count += 1;
                    out.errors.push(pb::BatchItemError {
                        index,
                        code: grpckit::error::code_name(st.code()).to_owned(),
                        message: st.message().to_owned(),
                        reason: reason.map(|r| r.reason().to_owned()).unwrap_or_default(),
                        domain: reason.map(|r| r.domain().to_owned()).unwrap_or_default(),
                    });
                }
            }
            index += 1;
        }
        Ok(Response::new(out))
    }
}
