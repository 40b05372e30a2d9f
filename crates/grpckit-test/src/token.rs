//! [`TokenMinter`]: HS256 bearer tokens for tests, as the auth part of the stack verifies
//! them (a key from `middleware.auth.jwt.keys`, matched by `kid`, or the login secret).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use tonic::{Request, metadata::MetadataValue};

/// Mints HS256 tokens signed with one secret, optionally with a `kid`, `iss` and `aud`.
#[derive(Clone)]
pub struct TokenMinter {
    key: EncodingKey,
    kid: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    ttl: Duration,
}

impl std::fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMinter")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    roles: &'a [&'a str],
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

impl TokenMinter {
    /// Tokens signed with `secret` (no `kid`, `iss` or `aud`; valid for an hour).
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_ref()),
            kid: None,
            issuer: None,
            audience: None,
            ttl: Duration::from_secs(3600),
        }
    }

    /// Sets the header's `kid` (selects a key of `middleware.auth.jwt.keys`).
    #[must_use]
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `iss`.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets `aud`.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets how long tokens are valid (a zero TTL mints tokens that have already expired).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// A token for `subject` with `roles`.
    pub fn token(&self, subject: &str, roles: &[&str]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let exp = if self.ttl.is_zero() {
            now.saturating_sub(3600)
        } else {
            now + self.ttl.as_secs()
        };
        let claims = Claims {
            sub: subject,
            roles,
            iat: now,
            exp,
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid.clone_from(&self.kid);
        // Encoding HS256 claims of plain strings and numbers cannot fail.
        jsonwebtoken::encode(&header, &claims, &self.key).expect("HS256 encoding")
    }
}

/// `message` as a request carrying `authorization: Bearer <token>`.
pub fn with_bearer<T>(message: T, token: &str) -> Request<T> {
    let mut req = Request::new(message);
    let value =
        MetadataValue::try_from(format!("Bearer {token}")).expect("a token is printable ASCII");
    req.metadata_mut().insert("authorization", value);
    req
}
