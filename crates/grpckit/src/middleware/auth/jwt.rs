//! JWT verification: keys by `kid` (HS256/RS256/ES256 from config files or a JWKS file);
//! the algorithm always comes from the key, never from the token.

use std::{collections::HashMap, fs};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;

use super::principal::{AuthMethod, Principal};
use crate::config::{JwtAlgorithm, JwtConfig};

/// Why a key set could not be built (start-up/reload error, never sent to callers).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("middleware.auth.jwt: cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key is malformed.
    #[error("middleware.auth.jwt: key '{kid}': {reason}")]
    Bad {
        /// Key id.
        kid: String,
        /// Why.
        reason: String,
    },
}

/// Why a token was refused (logged at debug; the caller only sees a generic message).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The header does not parse (garbage, `alg: none`, unknown alg).
    #[error("malformed token header")]
    Header,
    /// `kid` names no configured key, or no kid and no default key.
    #[error("unknown key id")]
    UnknownKey,
    /// Signature, algorithm, exp/nbf/iss/aud or required claims failed.
    #[error("token rejected: {0:?}")]
    Rejected(jsonwebtoken::errors::ErrorKind),
}

#[derive(Clone)]
struct Key {
    key: DecodingKey,
    validation: Validation,
}

/// The claims the framework reads.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    pub(crate) exp: u64,
    #[serde(default)]
    pub(crate) nbf: Option<u64>,
    #[serde(default)]
    pub(crate) roles: Vec<String>,
}

/// Verification keys.
#[derive(Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<String, Key>,
    default: Option<Key>,
    pub(crate) leeway: u64,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("default", &self.default.is_some())
            .finish()
    }
}

fn alg(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::ES256 => Algorithm::ES256,
    }
}

fn validation(alg: Algorithm, cfg: &JwtConfig, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = cfg.leeway.as_secs();
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp", "sub"]);
    let iss = cfg.issuer.as_deref().unwrap_or(issuer);
    if !iss.is_empty() {
        v.set_issuer(&[iss]);
    }
    let aud = cfg.audience.as_deref().unwrap_or(audience);
    if aud.is_empty() {
        v.validate_aud = false;
    } else {
        v.set_audience(&[aud]);
    }
    v
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, KeyError> {
    fs::read(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl KeySet {
    /// Builds the keys: the login secret (no kid) plus configured keys and the JWKS file.
    pub fn from_config(
        cfg: &JwtConfig,
        login_secret: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        let mut set = Self {
            leeway: cfg.leeway.as_secs(),
            ..Self::default()
        };
        if cfg.accept_login_tokens && !login_secret.is_empty() {
            set.default = Some(Key {
                key: DecodingKey::from_secret(login_secret),
                validation: validation(Algorithm::HS256, cfg, issuer, audience),
            });
        }
        for k in &cfg.keys {
            let bad = |reason: String| KeyError::Bad {
                kid: k.kid.clone(),
                reason,
            };
            let material = match (&k.secret, &k.file) {
                (Some(s), None) => s.as_bytes().to_vec(),
                (None, Some(p)) => read(p)?,
                _ => return Err(bad("set exactly one of secret, file".into())),
            };
            let key = match k.algorithm {
                JwtAlgorithm::HS256 => {
                    let secret = if k.file.is_some() {
                        trim_ascii(&material)
                    } else {
                        &material
                    };
                    DecodingKey::from_secret(secret)
                }
                JwtAlgorithm::RS256 => {
                    DecodingKey::from_rsa_pem(&material).map_err(|e| bad(e.to_string()))?
                }
                JwtAlgorithm::ES256 => {
                    DecodingKey::from_ec_pem(&material).map_err(|e| bad(e.to_string()))?
                }
            };
            let validation = validation(alg(k.algorithm), cfg, issuer, audience);
            set.by_kid.insert(k.kid.clone(), Key { key, validation });
        }
        if let Some(path) = &cfg.jwks_file {
            let text = read(path)?;
            let jwks: JwkSet = serde_json::from_slice(&text).map_err(|e| KeyError::Bad {
                kid: path.display().to_string(),
                reason: e.to_string(),
            })?;
            for jwk in &jwks.keys {
                let kid = jwk.common.key_id.clone().ok_or_else(|| KeyError::Bad {
                    kid: "?".into(),
                    reason: "JWKS key without kid".into(),
                })?;
                let bad = |reason: String| KeyError::Bad {
                    kid: kid.clone(),
                    reason,
                };
                let a = match &jwk.algorithm {
                    jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                    jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                    jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_) => Algorithm::HS256,
                    _ => return Err(bad("unsupported key type".into())),
                };
                let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(e.to_string()))?;
                set.by_kid.insert(
                    kid.clone(),
                    Key {
                        key,
                        validation: validation(a, cfg, issuer, audience),
                    },
                );
            }
        }
        Ok(set)
    }

    /// Whether any key is configured.
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.by_kid.is_empty()
    }

    /// Verifies `token` and returns the principal with the token's `exp` and `nbf`.
    pub(crate) fn verify(&self, token: &str) -> Result<(Principal, u64, u64), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Header)?;
        let key = match &header.kid {
            Some(kid) => self.by_kid.get(kid),
            None => self.default.as_ref().or_else(|| {
                if self.by_kid.len() == 1 {
                    self.by_kid.values().next()
                } else {
                    None
                }
            }),
        }
        .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation)
            .map_err(|e| TokenError::Rejected(e.into_kind()))?;
        let c = data.claims;
        if c.sub.is_empty() {
            return Err(TokenError::Rejected(
                jsonwebtoken::errors::ErrorKind::MissingRequiredClaim("sub".into()),
            ));
        }
        let nbf = c.nbf.unwrap_or(0);
        Ok((Principal::new(c.sub, c.roles, AuthMethod::Jwt), c.exp, nbf))
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}
