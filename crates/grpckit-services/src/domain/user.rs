//! User rules: field checks and roles.

use grpckit::error::FieldViolation;

use crate::ServiceError;

/// A user's role. Sign-up always yields [`Role::User`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A customer.
    User,
    /// Support staff (may join any order's chat).
    Support,
    /// May do everything.
    Admin,
}

impl Role {
    /// Stored/claim name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Support => "support",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored name; unknown names are treated as the least privileged role.
    pub fn parse(s: &str) -> Self {
        match s {
            "admin" => Self::Admin,
            "support" => Self::Support,
            _ => Self::User,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// UUIDv7.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lower-cased, unique.
    pub email: String,
    /// PHC string of the argon2 hash.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Unix micros.
    pub created_at: i64,
    /// Unix micros.
    pub updated_at: i64,
}

/// Normalizes an email for storage and lookup.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// Checks the shape of an email address (local@domain.tld, no spaces, <= 254 chars).
pub fn check_email(email: &str) -> Result<(), String> {
    let email = email.trim();
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.len() > 254 {
        return Err("must be at most 254 characters".into());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must look like name@example.com".into());
    };
    let ok = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err("must look like name@example.com".into())
    }
}

/// Checks a display name.
pub fn check_name(name: &str) -> Result<(), String> {
    let n = name.trim();
    if n.is_empty() {
        return Err("must not be empty".into());
    }
    if n.chars().count() > 100 {
        return Err("must be at most 100 characters".into());
    }
    Ok(())
}

/// Checks a password's length (8..=128 characters).
pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 8 {
        return Err("must be at least 8 characters".into());
    }
    if n > 128 {
        return Err("must be at most 128 characters".into());
    }
    Ok(())
}

/// Validates a sign-up, reporting every invalid field at once.
pub fn check_sign_up(name: &str, email: &str, password: &str) -> Result<(), ServiceError> {
    let mut v = Vec::new();
    if let Err(e) = check_name(name) {
        v.push(FieldViolation::new("name", e));
    }
    if let Err(e) = check_email(email) {
        v.push(FieldViolation::new("email", e));
    }
    if let Err(e) = check_password(password) {
        v.push(FieldViolation::new("password", e));
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::invalid_many(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("a@b.co").is_ok());
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a b@c.de", "a@b.co.", "a@@b.co",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sign_up_reports_all_fields() {
        let Err(ServiceError::InvalidArgument { violations, .. }) =
            check_sign_up(" ", "x", "short")
        else {
            panic!("expected invalid")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "password"]);
    }
}
