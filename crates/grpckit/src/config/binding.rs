//! `middleware.auth.bindings:` principals -> roles, the second half of the one authorization
//! schema (the first is `roles: [{role, allow}]`).
//!
//! The principal grammar is on [`PrincipalSelector`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// One binding: `principal` gets `roles` on top of the roles of its credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleBinding {
    /// Who ([`PrincipalSelector`]).
    pub principal: PrincipalSelector,
    /// Roles granted (names from `middleware.auth.roles`).
    pub roles: Vec<String>,
}

/// Who a [`RoleBinding`] applies to.
///
/// A principal is written `KIND:VALUE`:
///
/// | principal | who |
/// |---|---|
/// | `user:ID` | the caller whose bearer token's subject (`sub`) is `ID` |
/// | `apikey:NAME` | the API key named `NAME` in `middleware.auth.api_keys` |
/// | `role:NAME` | every caller whose token or API key carries the role `NAME` |
/// | `spiffe://TRUST-DOMAIN/PATH` | the caller whose verified TLS client certificate has this SPIFFE ID (URI SAN) |
/// | `cert:NAME` | the caller whose verified TLS client certificate is `NAME`: its first URI SAN, else its first DNS SAN, else its CN |
///
/// Certificate principals apply to calls that carry no token or API key (mTLS,
/// `server.tls.client_ca_file`). Kinds for OIDC subjects and groups are added here later;
/// an unknown kind is refused when the configuration is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PrincipalSelector {
    /// `user:ID`: the subject (`sub`) of a bearer token.
    User(String),
    /// `apikey:NAME`: an API key by its configured name.
    ApiKey(String),
    /// `role:NAME`: every caller whose credentials carry that role.
    Role(String),
    /// `spiffe://...` or `cert:NAME`: the identity of a verified client certificate
    /// ([`crate::middleware::auth::CertIdentity`]); holds the identity without `cert:`.
    Certificate(String),
}

/// The scheme of SPIFFE IDs, written as principals as they are.
const SPIFFE: &str = "spiffe://";

/// Why a principal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid principal '{0}': expected user:ID, apikey:NAME, role:NAME, spiffe://ID or cert:NAME"
)]
pub struct PrincipalError(pub String);

impl std::str::FromStr for PrincipalSelector {
    type Err = PrincipalError;

    fn from_str(s: &str) -> Result<Self, PrincipalError> {
        let err = || PrincipalError(s.to_owned());
        if let Some(id) = s.strip_prefix(SPIFFE) {
            return if id.is_empty() {
                Err(err())
            } else {
                Ok(Self::Certificate(s.to_owned()))
            };
        }
        let (kind, value) = s.split_once(':').ok_or_else(err)?;
        if value.is_empty() {
            return Err(err());
        }
        let value = value.to_owned();
        match kind {
            "user" => Ok(Self::User(value)),
            "apikey" => Ok(Self::ApiKey(value)),
            "role" => Ok(Self::Role(value)),
            "cert" => Ok(Self::Certificate(value)),
            _ => Err(err()),
        }
    }
}

impl TryFrom<String> for PrincipalSelector {
    type Error = PrincipalError;

    fn try_from(s: String) -> Result<Self, PrincipalError> {
        s.parse()
    }
}

impl fmt::Display for PrincipalSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(v) => write!(f, "user:{v}"),
            Self::ApiKey(v) => write!(f, "apikey:{v}"),
            Self::Role(v) => write!(f, "role:{v}"),
            Self::Certificate(v) if v.starts_with(SPIFFE) => f.write_str(v),
            Self::Certificate(v) => write!(f, "cert:{v}"),
        }
    }
}

impl From<PrincipalSelector> for String {
    fn from(p: PrincipalSelector) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_print_back() {
        for (text, want) in [
            ("user:42", PrincipalSelector::User("42".into())),
            ("apikey:ci-bot", PrincipalSelector::ApiKey("ci-bot".into())),
            ("role:admin", PrincipalSelector::Role("admin".into())),
            ("user:a:b", PrincipalSelector::User("a:b".into())),
            (
                "spiffe://example.org/ns/prod/sa/order",
                PrincipalSelector::Certificate("spiffe://example.org/ns/prod/sa/order".into()),
            ),
            (
                "cert:order.internal",
                PrincipalSelector::Certificate("order.internal".into()),
            ),
        ] {
            let p: PrincipalSelector = text.parse().unwrap();
            assert_eq!(p, want);
            assert_eq!(p.to_string(), text);
        }
    }

    #[test]
    fn unknown_kinds_and_empty_values_are_refused() {
        for bad in [
            "42",
            "user:",
            "group:ops",
            "User:42",
            "",
            "spiffe://",
            "cert:",
        ] {
            let e = bad.parse::<PrincipalSelector>().unwrap_err();
            assert!(e.to_string().contains("user:ID"), "{e}");
        }
    }
}
