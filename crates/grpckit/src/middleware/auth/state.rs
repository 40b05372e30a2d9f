//! The swappable auth state (keys, API keys, RBAC rules) and the per-call decision.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use sha2::{Digest, Sha256};
use tonic::{Code, Status};

use super::{
    cache::TokenCache,
    jwt::{KeyError, KeySet, TokenError},
    principal::{AuthMethod, CertIdentity, Principal},
};
use crate::{
    config::{AuthnConfig, PrincipalSelector},
    middleware::method::MethodPattern,
    reason,
};

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
    bindings: Bindings,
    /// The principal of each certificate identity that has bindings, built once.
    cert_principals: foldhash::HashMap<String, Principal>,
}

/// `middleware.auth.bindings` by principal kind: the roles each principal gets on top of
/// those of its credentials.
#[derive(Debug, Default)]
struct Bindings {
    users: foldhash::HashMap<String, Vec<String>>,
    api_keys: foldhash::HashMap<String, Vec<String>>,
    roles: foldhash::HashMap<String, Vec<String>>,
    certs: foldhash::HashMap<String, Vec<String>>,
}

impl Bindings {
    fn new(cfg: &AuthnConfig) -> Self {
        let mut b = Self::default();
        for binding in &cfg.bindings {
            let (map, key) = match &binding.principal {
                PrincipalSelector::User(id) => (&mut b.users, id),
                PrincipalSelector::ApiKey(name) => (&mut b.api_keys, name),
                PrincipalSelector::Role(role) => (&mut b.roles, role),
                PrincipalSelector::Certificate(id) => (&mut b.certs, id),
            };
            map.entry(key.clone())
                .or_default()
                .extend(binding.roles.iter().cloned());
        }
        b
    }

    /// `p` with the roles bound to it (to its subject by kind, and to each of its roles;
    /// bindings do not chain). `p` itself when nothing is bound.
    fn apply(&self, p: Principal) -> Principal {
        let by_subject = match p.auth_method() {
            AuthMethod::Jwt => &self.users,
            AuthMethod::ApiKey => &self.api_keys,
            AuthMethod::Certificate => &self.certs,
        };
        let mut extra: Vec<&str> = Vec::new();
        let bound = by_subject
            .get(p.subject())
            .into_iter()
            .chain(p.roles().filter_map(|r| self.roles.get(r)))
            .flatten();
        for role in bound {
            if !p.has_role(role) && !extra.contains(&role.as_str()) {
                extra.push(role);
            }
        }
        if extra.is_empty() {
            return p;
        }
        p.with_more_roles(&extra)
    }
}

/// What the application that issues tokens tells the verifier (the framework's config holds
/// no token issuing): the reference server fills it from its `auth:` section.
#[derive(Clone, Default)]
pub struct AuthSecrets {
    /// HS256 secret of the application's own tokens (no `kid`), accepted when
    /// `middleware.auth.jwt.accept_login_tokens` is on; empty: none.
    pub login_secret: Vec<u8>,
    /// Required `iss` unless `middleware.auth.jwt.issuer` says otherwise.
    pub issuer: String,
    /// Required `aud` unless `middleware.auth.jwt.audience` says otherwise.
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
        let bindings = Bindings::new(cfg);
        let api_keys = cfg
            .api_keys
            .iter()
            .map(|k| {
                let p = Principal::new(k.name.clone(), k.roles.clone(), AuthMethod::ApiKey);
                (k.sha256.to_ascii_lowercase(), bindings.apply(p))
            })
            .collect();
        let cert_principals = bindings
            .certs
            .keys()
            .map(|id| {
                let p = Principal::new(id.as_str(), Vec::new(), AuthMethod::Certificate);
                (id.clone(), bindings.apply(p))
            })
            .collect();
        let mut roles: foldhash::HashMap<String, Vec<MethodPattern>> = Default::default();
        for r in &cfg.roles {
            roles
                .entry(r.role.clone())
                .or_default()
                .extend(r.allow.iter().cloned());
        }
        Ok(Self {
            keys,
            cache: TokenCache::new(cfg.token_cache_size),
            api_keys,
            public: cfg.public_methods.clone(),
            roles,
            bindings,
            cert_principals,
        })
    }

    /// Whether `method` needs no credentials.
    pub fn is_public(&self, method: &str) -> bool {
        MethodPattern::any_matches(&self.public, method)
    }

    /// Whether any role of `p` allows `method` (its roles include those bound to it: the
    /// principals this state authenticates carry them).
    pub fn allows(&self, p: &Principal, method: &str) -> bool {
        p.roles().any(|r| {
            self.roles
                .get(r)
                .is_some_and(|pats| MethodPattern::any_matches(pats, method))
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
                    let p = self.bindings.apply(p);
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
        self.decide_with_cert(method, headers, None, now)
    }

    /// The principal of a verified client certificate: the roles bound to its identity
    /// (`middleware.auth.bindings`), none when nothing is bound.
    pub fn certificate_principal(&self, id: &CertIdentity) -> Principal {
        self.cert_principals
            .get(id.as_str())
            .cloned()
            .unwrap_or_else(|| Principal::new(id.as_str(), Vec::new(), AuthMethod::Certificate))
    }

    /// [`Self::decide_at`] for a call over a connection whose client certificate was
    /// verified (`cert`): without a token or API key, the certificate's identity is the
    /// principal ([`Self::certificate_principal`]).
    pub fn decide_with_cert(
        &self,
        method: &str,
        headers: &HeaderMap,
        cert: Option<&CertIdentity>,
        now: u64,
    ) -> Result<Option<Principal>, Status> {
        self.decide_recorded(method, headers, cert, now)
            .map_err(|refused| refused.status)
    }

    /// [`Self::decide_with_cert`], keeping the caller of a call refused for its roles
    /// (`PERMISSION_DENIED`): the access log and the audit trail name who was refused.
    pub(crate) fn decide_recorded(
        &self,
        method: &str,
        headers: &HeaderMap,
        cert: Option<&CertIdentity>,
        now: u64,
    ) -> Result<Option<Principal>, Refused> {
        let public = self.is_public(method);
        let authenticated = match self.authenticate_at(headers, now) {
            Ok(None) => Ok(cert.map(|c| self.certificate_principal(c))),
            other => other,
        };
        match authenticated {
            Ok(Some(p)) => {
                if public || self.allows(&p, method) {
                    Ok(Some(p))
                } else {
                    Err(Refused {
                        status: reason::ROLE_FORBIDDEN
                            .status(Code::PermissionDenied, "not allowed to call this method"),
                        caller: Some(p),
                    })
                }
            }
            Ok(None) if public => Ok(None),
            Err(_) if public => Ok(None),
            Ok(None) => Err(Refused::anonymous(
                reason::TOKEN_MISSING.status(Code::Unauthenticated, UNAUTHENTICATED_MSG),
            )),
            Err(why) => {
                let r = if why == EXPIRED {
                    reason::TOKEN_EXPIRED
                } else {
                    reason::TOKEN_INVALID
                };
                Err(Refused::anonymous(
                    r.status(Code::Unauthenticated, UNAUTHENTICATED_MSG),
                ))
            }
        }
    }
}

/// A refused call: the status it is answered with and, when it was authenticated but its
/// roles do not allow the method, the caller.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: Status,
    pub(crate) caller: Option<Principal>,
}

impl Refused {
    fn anonymous(status: Status) -> Self {
        Self {
            status,
            caller: None,
        }
    }
}
