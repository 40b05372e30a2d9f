//! Authentication (JWT bearer tokens, API keys, verified client certificates) and authorization (RBAC by method pattern).
//!
//! The [`Principal`] is put into request extensions; handlers enforce ownership with
//! [`Principal::may_act_for`]. Failures: `UNAUTHENTICATED` with one generic message,
//! `PERMISSION_DENIED` when authenticated but not allowed.

mod cache;
mod jwt;
mod principal;
mod state;
#[cfg(test)]
mod tests;

pub use jwt::{KeyError, KeySet, TokenError};
pub use principal::{AuthMethod, CertIdentity, Principal};
pub use state::{AuthSecrets, AuthState, UNAUTHENTICATED_MSG, hash_api_key};
