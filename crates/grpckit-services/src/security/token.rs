//! Access tokens issued by `Login`: HS256 JWTs with `sub`, `email`, `roles`, `iss`, `aud`,
//! `iat`, `nbf`, `exp` and a `jti`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Email at issue time.
    pub email: String,
    /// Roles, e.g. `["user"]`.
    pub roles: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Not before (unix seconds).
    pub nbf: u64,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Token id.
    pub jti: String,
}

/// Signs tokens with an HS256 secret.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer with `secret`; an empty secret generates a random one and logs a warning.
    pub fn new(secret: &str, issuer: &str, audience: &str, ttl: Duration) -> Self {
        let secret = if secret.is_empty() {
            tracing::warn!(
                "no auth.jwt_secret / GRPCKIT_JWT_SECRET configured: generated a random secret; \
                 tokens will not survive a restart and other instances will not accept them"
            );
            let mut b = [0u8; 32];
            rand::rng().fill_bytes(&mut b);
            b.to_vec()
        } else {
            secret.as_bytes().to_vec()
        };
        Self {
            key: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        }
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a token for a user.
    pub fn issue(
        &self,
        user_id: &str,
        email: &str,
        roles: Vec<String>,
    ) -> Result<String, ServiceError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = Claims {
            sub: user_id.into(),
            email: email.into(),
            roles,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| ServiceError::internal_from("token signing failed", e))
    }

    /// Verifies a token signed by this issuer (signature, exp, nbf, iss, aud).
    pub fn verify(&self, token: &str) -> Result<Claims, ServiceError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.validate_nbf = true;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| {
                ServiceError::Unauthenticated(
                    grpckit::reason::TOKEN_INVALID,
                    "invalid token".into(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_and_reject_foreign() {
        let a = TokenIssuer::new("s3cret", "grpckit", "grpckit", Duration::from_secs(60));
        let t = a.issue("u1", "a@b.co", vec!["user".into()]).unwrap();
        let c = a.verify(&t).unwrap();
        assert_eq!(c.sub, "u1");
        assert_eq!(c.exp - c.iat, 60);
        let b = TokenIssuer::new("other", "grpckit", "grpckit", Duration::from_secs(60));
        assert!(b.verify(&t).is_err());
        let random = TokenIssuer::new("", "grpckit", "grpckit", Duration::from_secs(60));
        assert!(random.verify(&t).is_err());
    }
}
