//! The swappable auth state (keys, API keys, RBAC rules) and the per-call decision.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use sha2::{Digest, Sha256};
use tonic::{Code, Status};

use super::{
    cache::TokenCache,
    jwt::{KeyError, KeySet, TokenError},
    principal::{AuthMethod, Principal},
};
use crate::{config::AuthnConfig, middleware::method::MethodPattern, reason};

/// The message of every authentication failure (the reason is logged at debug only).
pub const UNAUTHENTICATED_MSG: &str = "missing or invalid credentials";

/// The refusal [`AuthState::authenticate`] gives for an expired bearer token (answered with
/// the reason `TOKEN_EXPIRED` rather than `TOKEN_INVALID`).
const EXPIRED: &str = "bearer token expired";

/// Keys, API keys and RBAC rules; held behind an `ArcSwap` so reload replaces it whole.
#[derive(Debug)]
pub struct AuthState {
    keys: KeySet,
    cache: TokenCache,
    api_keys: foldhash::HashMap<String, Principal>,
    public: Vec<MethodPattern>,
    roles: foldhash::HashMap<String, Vec<MethodPattern>>,
}

/// Authentication secrets the config file does not hold (the login token secret).
#[derive(Clone, Default)]
pub struct AuthSecrets {
    /// HS256 secret of `Login` tokens (`auth.jwt_secret`, or the generated one).
    pub login_secret: Vec<u8>,
    /// `auth.issuer`.
    pub issuer: String,
    /// `auth.audience`.
    pub audience: String,
}

impl std::fmt::Debug for AuthSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSecrets")
            .field("login_secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Hex SHA-256 of an API key, as stored in `middleware.auth.api_keys[].sha256`.
pub fn hash_api_key(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    let mut s = String::with_capacity(64);
    for b in d {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    s
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl AuthState {
    /// Builds the state from config.
    pub fn from_config(cfg: &AuthnConfig, secrets: &AuthSecrets) -> Result<Self, KeyError> {
        let keys = KeySet::from_config(
            &cfg.jwt,
            &secrets.login_secret,
            &secrets.issuer,
            &secrets.audience,
        )?;
        let api_keys = cfg
            .api_keys
            .iter()
            .map(|k| {
                (
                    k.sha256.to_ascii_lowercase(),
                    Principal::new(k.name.clone(), k.roles.clone(), AuthMethod::ApiKey),
                )
            })
            .collect();
        let mut roles: foldhash::HashMap<String, Vec<MethodPattern>> = Default::default();
        for r in &cfg.roles {
            roles
                .entry(r.role.clone())
                .or_default()
                .extend(r.allow.iter().map(|p| MethodPattern::new(p)));
        }
        Ok(Self {
            keys,
            cache: TokenCache::new(cfg.token_cache_size),
            api_keys,
            public: cfg
                .public_methods
                .iter()
                .map(|p| MethodPattern::new(p))
                .collect(),
            roles,
        })
    }

    /// Whether `method` needs no credentials.
    pub fn is_public(&self, method: &str) -> bool {
        MethodPattern::any(&self.public, method)
    }

    /// Whether any role of `p` allows `method`.
    pub fn allows(&self, p: &Principal, method: &str) -> bool {
        p.roles().any(|r| {
            self.roles
                .get(r)
                .is_some_and(|pats| MethodPattern::any(pats, method))
        })
    }

    /// Authenticates from headers: `Ok(None)` when no credentials were sent.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, &'static str> {
        self.authenticate_at(headers, unix_now())
    }

    /// [`Self::authenticate`] at `now` (Unix seconds) for token expiry.
    pub fn authenticate_at(
        &self,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<Option<Principal>, &'static str> {
        if let Some(v) = headers.get(http::header::AUTHORIZATION) {
            let v = v.as_bytes();
            let token = v
                .strip_prefix(b"Bearer ")
                .or_else(|| v.strip_prefix(b"bearer "))
                .ok_or("authorization is not a Bearer token")?
                .trim_ascii();
            // A hit is byte-equal to a token that was verified before: no text checks needed.
            if let Some(p) = self.cache.get(token, now, self.keys.leeway) {
                return Ok(Some(p));
            }
            let token = std::str::from_utf8(token)
                .ok()
                .filter(|t| t.is_ascii())
                .ok_or("authorization header not ASCII")?;
            return match self.keys.verify(token) {
                Ok((p, exp, nbf)) => {
                    self.cache.put(token, p.clone(), exp, nbf);
                    Ok(Some(p))
                }
                Err(TokenError::Rejected(jsonwebtoken::errors::ErrorKind::ExpiredSignature)) => {
                    tracing::debug!("bearer token expired");
                    Err(EXPIRED)
                }
                Err(e) => {
                    tracing::debug!(reason = %e, "bearer token refused");
                    Err("bearer token refused")
                }
            };
        }
        if let Some(v) = headers.get(crate::headers::X_API_KEY) {
            let key = v.to_str().map_err(|_| "x-api-key not ASCII")?;
            return self
                .api_keys
                .get(&hash_api_key(key))
                .cloned()
                .map(Some)
                .ok_or("unknown API key");
        }
        Ok(None)
    }

    /// The per-call decision: the principal (if any) or the status to answer with.
    pub fn decide(&self, method: &str, headers: &HeaderMap) -> Result<Option<Principal>, Status> {
        self.decide_at(method, headers, unix_now())
    }

    /// [`Self::decide`] at `now` (Unix seconds) for token expiry.
    pub fn decide_at(
        &self,
        method: &str,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<Option<Principal>, Status> {
        let public = self.is_public(method);
        match self.authenticate_at(headers, now) {
            Ok(Some(p)) => {
                if public || self.allows(&p, method) {
                    Ok(Some(p))
                } else {
                    Err(reason::ROLE_FORBIDDEN
                        .status(Code::PermissionDenied, "not allowed to call this method"))
                }
            }
            Ok(None) if public => Ok(None),
            Err(_) if public => Ok(None),
            Ok(None) => {
                Err(reason::TOKEN_MISSING.status(Code::Unauthenticated, UNAUTHENTICATED_MSG))
            }
            Err(why) => {
                let r = if why == EXPIRED {
                    reason::TOKEN_EXPIRED
                } else {
                    reason::TOKEN_INVALID
                };
                Err(r.status(Code::Unauthenticated, UNAUTHENTICATED_MSG))
            }
        }
    }
}
