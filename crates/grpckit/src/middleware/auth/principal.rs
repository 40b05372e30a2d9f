//! The authenticated caller, put into request extensions for handlers.

use std::sync::Arc;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `authorization: Bearer <JWT>`.
    Jwt,
    /// `x-api-key`.
    ApiKey,
    /// A verified TLS client certificate (mTLS), when the call carries no token or key.
    Certificate,
}

impl AuthMethod {
    /// `jwt`, `api_key` or `certificate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
            Self::Certificate => "certificate",
        }
    }
}

#[derive(Debug)]
struct Inner {
    subject: Box<str>,
    /// `subject` as a JSON string literal, rendered once for the access log.
    subject_json: Box<str>,
    roles: Box<[Box<str>]>,
    method: AuthMethod,
}

/// The caller: subject (user id or API key name), roles and auth method. Cheap to clone.
///
/// Handlers read it with `request.extensions().get::<Principal>()`; it is absent when
/// auth is disabled or the method is public and no credentials were sent.
#[derive(Debug, Clone)]
pub struct Principal(Arc<Inner>);

impl Principal {
    /// A principal.
    pub fn new(subject: impl Into<Box<str>>, roles: Vec<String>, method: AuthMethod) -> Self {
        let roles = roles.into_iter().map(String::into_boxed_str).collect();
        let subject: Box<str> = subject.into();
        Self(Arc::new(Inner {
            subject_json: serde_json::to_string(&*subject)
                .unwrap_or_else(|_| "\"\"".into())
                .into(),
            subject,
            roles,
            method,
        }))
    }

    /// User id (JWT `sub`), API key name or client certificate identity.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The subject as a JSON string literal (quotes and escapes included).
    pub(crate) fn subject_json(&self) -> &str {
        &self.0.subject_json
    }

    /// Roles: those of the credentials plus those bound to the principal
    /// (`middleware.auth.bindings`).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0.roles.iter().map(|r| &**r)
    }

    /// Whether the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// `admin` or `service` (API keys for service-to-service calls act for any user).
    pub fn is_admin(&self) -> bool {
        self.has_role("admin") || self.has_role("service")
    }

    /// Whether the caller may act on data owned by `owner_id` (self or admin).
    pub fn may_act_for(&self, owner_id: &str) -> bool {
        self.is_admin() || self.subject() == owner_id
    }

    /// How the caller authenticated.
    pub fn auth_method(&self) -> AuthMethod {
        self.0.method
    }

    /// This principal with `extra` roles added (its effective roles once
    /// `middleware.auth.bindings` are applied).
    pub(crate) fn with_more_roles(&self, extra: &[&str]) -> Self {
        let roles = self
            .roles()
            .chain(extra.iter().copied())
            .map(str::to_owned)
            .collect();
        Self::new(self.subject(), roles, self.auth_method())
    }
}

/// The identity of the client certificate the TLS handshake verified (mTLS): its first URI
/// SAN (a SPIFFE ID such as `spiffe://example.org/ns/prod/sa/order`), else its first DNS
/// SAN, else its subject's common name. The server puts it in the request extensions of
/// every call of the connection; auth turns it into a [`Principal`] (auth method
/// [`AuthMethod::Certificate`]) when the call carries no token or API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertIdentity(Arc<str>);

impl CertIdentity {
    /// An identity.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The identity as written in `middleware.auth.bindings` (a SPIFFE URI as is, a DNS
    /// name or CN after `cert:`), without the `cert:` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
