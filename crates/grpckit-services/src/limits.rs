//! The reference app's default rate limits. `Login` and `CreateUser` answer anyone (they are
//! `public` in their `grpckit.v1.policy` option), so their option also gives each caller (the
//! client address, as these calls are anonymous) a small bucket: `rate_limit: "1/s burst 5"`.
//! Like every policy rule it comes after the configuration's own rate-limit rules, so a rule
//! of `middleware.rate_limit.rules` for these methods (or `middleware.policy.methods`) wins.

/// The methods throttled per client address by their `.proto` option.
pub const PUBLIC_METHODS: [&str; 2] = [
    "user.v1.UserService/Login",
    "user.v1.UserService/CreateUser",
];

#[cfg(test)]
mod tests {
    use grpckit::policy::Policies;

    use super::PUBLIC_METHODS;

    #[test]
    fn the_public_methods_declare_a_small_bucket_and_every_option_is_usable() {
        let p = Policies::read(&[crate::proto::FILE_DESCRIPTOR_SET]).expect("usable options");
        for m in PUBLIC_METHODS {
            let policy = &p.get(m).expect("known method").policy;
            assert!(policy.public, "{m}");
            let rate = policy.rate_limit.expect("throttled");
            assert_eq!((rate.per_second(), rate.burst()), (1, 5), "{m}");
        }
        let public: Vec<&str> = p
            .iter()
            .filter(|(_, e)| e.policy.public)
            .map(|(m, _)| m)
            .collect();
        assert_eq!(public.len(), PUBLIC_METHODS.len(), "{public:?}");
        let create = &p
            .get("order.v1.OrderService/CreateOrder")
            .expect("known")
            .policy;
        assert!(create.idempotent, "idempotent on request_id");
        assert!(
            !p.get("order.v1.OrderService/PayOrder")
                .expect("known")
                .policy
                .idempotent
        );
    }
}
