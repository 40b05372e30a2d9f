//! Split mode (a process serving only some of the services): tokens issued by one process
//! must verify in the others, so a random per-process secret cannot work there.

use grpckit::config::InvalidValue;

use super::{AppConfig, ServiceName};

impl AppConfig {
    /// Whether this process serves only some of the services (`services.serve` other than
    /// both `user` and `order`).
    pub fn split_mode(&self) -> bool {
        ![ServiceName::User, ServiceName::Order]
            .iter()
            .all(|s| self.services.serve.contains(s))
    }

    /// Split mode needs a configured key: a process serving `user` signs `Login` tokens with
    /// `auth.jwt_secret` for the others to verify; an `order`-only process with
    /// authentication on verifies them with that secret, `middleware.auth.jwt.keys` or a
    /// JWKS file.
    pub(super) fn check_split_mode_key(&self) -> Result<(), InvalidValue> {
        if !self.split_mode() || !self.auth.jwt_secret.is_empty() {
            return Ok(());
        }
        let issues = self.services.serve.contains(&ServiceName::User);
        let auth = &self.middleware.auth;
        let verifies = self.middleware.enabled && auth.enabled;
        let has_keys = !auth.jwt.keys.is_empty() || auth.jwt.jwks_file.is_some();
        if !issues && (!verifies || has_keys) {
            return Ok(());
        }
        let services: Vec<&str> = self.services.serve.iter().map(|s| s.as_str()).collect();
        let alternative = if issues {
            ""
        } else {
            " (or verify with middleware.auth.jwt.keys or middleware.auth.jwt.jwks_file)"
        };
        Err(InvalidValue::new(
            "auth.jwt_secret",
            format!(
                "required in split mode (services.serve: {}): tokens issued by \
                 UserService must verify in every process, so give each process the same secret \
                 with --jwt-secret SECRET, the GRPCKIT_JWT_SECRET environment variable or \
                 auth.jwt_secret in the config file{alternative}",
                services.join(",")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpckit::config::{JwtAlgorithm, JwtKeyConfig};

    fn split(services: &[ServiceName]) -> AppConfig {
        let mut c = AppConfig::default();
        c.services.serve = services.to_vec();
        c.services.user_service = "http://127.0.0.1:9090".into();
        c
    }

    #[test]
    fn both_services_need_no_key() {
        assert!(!AppConfig::default().split_mode());
        assert_eq!(AppConfig::default().validate(), Ok(()));
    }

    #[test]
    fn each_split_process_needs_a_key_and_says_how_to_give_one() {
        for s in [[ServiceName::User], [ServiceName::Order]] {
            let e = split(&s).validate().unwrap_err().to_string();
            for how in ["--jwt-secret", "GRPCKIT_JWT_SECRET", "auth.jwt_secret"] {
                assert!(e.contains(how), "{e}");
            }
            let mut ok = split(&s);
            ok.auth.jwt_secret = "shared-secret".into();
            assert_eq!(ok.validate(), Ok(()));
        }
    }

    #[test]
    fn an_order_process_may_verify_with_keys_or_without_auth() {
        let mut keys = split(&[ServiceName::Order]);
        keys.middleware.auth.jwt.keys.push(JwtKeyConfig {
            kid: "k1".into(),
            algorithm: JwtAlgorithm::HS256,
            secret: Some("s".into()),
            file: None,
        });
        assert_eq!(keys.validate(), Ok(()));
        let mut open = split(&[ServiceName::Order]);
        open.middleware.auth.enabled = false;
        assert_eq!(open.validate(), Ok(()));
        // A user process signs tokens for the others: it needs the secret even without auth.
        let mut user = split(&[ServiceName::User]);
        user.middleware.auth.enabled = false;
        assert!(user.validate().is_err());
    }
}
