//! Errors of the reference services, classified through grpckit's one error table.

use grpckit::{ErrorKind, IntoStatus, Reason, error::FieldViolation};

/// Everything that can go wrong in a service call.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// One or more fields are invalid; every violation is listed.
    #[error("{message}")]
    InvalidArgument {
        /// Summary.
        message: String,
        /// Each invalid field.
        violations: Vec<FieldViolation>,
    },
    /// The entity does not exist. Names its stable reason and a message.
    #[error("{1}")]
    NotFound(Reason, String),
    /// The entity exists already. Names its stable reason and a message.
    #[error("{1}")]
    AlreadyExists(Reason, String),
    /// Not allowed in the current state. Names its stable reason and a message.
    #[error("{1}")]
    FailedPrecondition(Reason, String),
    /// Bad credentials. Names its stable reason and a message.
    #[error("{1}")]
    Unauthenticated(Reason, String),
    /// Authenticated, but not allowed to touch this entity. Names its stable reason and a message.
    #[error("{1}")]
    PermissionDenied(Reason, String),
    /// A dependency (e.g. UserService) is not reachable. Names its stable reason and a message.
    #[error("{1}")]
    Unavailable(Reason, String),
    /// The database failed.
    #[error("storage error")]
    Storage(#[from] sqlx::Error),
    /// The database could not be opened at start (`target` names the address or file;
    /// the cause, e.g. connection refused, is the source).
    #[error("cannot open {target}")]
    Open {
        /// What was being opened, e.g. `PostgreSQL at 127.0.0.1:5432`.
        target: String,
        /// Why it failed.
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("migration error")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Anything else unexpected: what was being done, and the error that stopped it (its
    /// whole chain is logged; the caller only sees `INTERNAL`).
    #[error("{context}")]
    Internal {
        /// What failed, e.g. `token signing failed`.
        context: String,
        /// The cause, if there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ServiceError {
    /// An unexpected failure with no underlying error (e.g. a corrupt column value).
    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An unexpected failure caused by `source`, kept as the error's source.
    pub fn internal_from(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A single invalid field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::InvalidArgument {
            message: format!("invalid {field}: {description}"),
            violations: vec![FieldViolation::new(field, description)],
        }
    }

    /// Several invalid fields (`violations` must not be empty).
    pub fn invalid_many(violations: Vec<FieldViolation>) -> Self {
        let message = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ");
        Self::InvalidArgument {
            message: format!("invalid request: {message}"),
            violations,
        }
    }
}

impl IntoStatus for ServiceError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Self::NotFound(..) => ErrorKind::NotFound,
            Self::AlreadyExists(..) => ErrorKind::AlreadyExists,
            Self::FailedPrecondition(..) => ErrorKind::FailedPrecondition,
            Self::Unauthenticated(..) => ErrorKind::Unauthenticated,
            Self::PermissionDenied(..) => ErrorKind::PermissionDenied,
            Self::Unavailable(..) => ErrorKind::Unavailable,
            Self::Storage(sqlx::Error::PoolTimedOut) => ErrorKind::Unavailable,
            Self::Storage(_) | Self::Open { .. } | Self::Migrate(_) | Self::Internal { .. } => {
                ErrorKind::Internal
            }
        }
    }

    fn field_violations(&self) -> Vec<FieldViolation> {
        match self {
            Self::InvalidArgument { violations, .. } => violations.clone(),
            _ => Vec::new(),
        }
    }

    fn reason(&self) -> Option<Reason> {
        match self {
            Self::InvalidArgument { .. } => Some(grpckit::reason::INVALID_FIELDS),
            Self::NotFound(r, _)
            | Self::AlreadyExists(r, _)
            | Self::FailedPrecondition(r, _)
            | Self::Unauthenticated(r, _)
            | Self::PermissionDenied(r, _)
            | Self::Unavailable(r, _) => Some(*r),
            Self::Storage(_) | Self::Open { .. } | Self::Migrate(_) | Self::Internal { .. } => None,
        }
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(e: ServiceError) -> Self {
        e.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_keeps_its_source_chain_and_hides_it_from_the_caller() {
        let io = std::io::Error::other("disk on fire");
        let e = ServiceError::internal_from("cannot encode items", io);
        let chain = grpckit::ErrorChain(&e).to_string();
        assert_eq!(chain, "cannot encode items: disk on fire");
        assert!(std::error::Error::source(&e).is_some());
        let status = e.to_status();
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(status.message(), "internal error");
        assert!(ServiceError::internal("x").to_string() == "x");
    }
}
