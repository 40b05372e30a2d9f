//! Errors of the reference services, classified through grpckit's one error table.

use grpckit::{ErrorKind, IntoStatus, error::FieldViolation};

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
    /// The entity does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The entity exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// Not allowed in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Bad credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to touch this entity.
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency (e.g. UserService) is not reachable.
    #[error("{0}")]
    Unavailable(String),
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
    /// Anything else unexpected.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
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
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::FailedPrecondition(_) => ErrorKind::FailedPrecondition,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Storage(sqlx::Error::PoolTimedOut) => ErrorKind::Unavailable,
            Self::Storage(_) | Self::Open { .. } | Self::Migrate(_) | Self::Internal(_) => {
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
}

impl From<ServiceError> for tonic::Status {
    fn from(e: ServiceError) -> Self {
        e.to_status()
    }
}
