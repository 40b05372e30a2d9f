//! The reference app's middleware defaults: its roles, audited methods and audit target
//! fields. They fill the keys a configuration leaves out (the framework's own defaults know
//! no app: only `admin` and `service` have roles, no unary method is audited). Which methods
//! are public, which roles may call each method and the rate limits of the public methods
//! are declared in the `.proto` files (`option (grpckit.v1.policy)`, see
//! [`grpckit::policy`]).

use grpckit::config::{MethodPattern, MiddlewareConfig, RoleRule};

const USER: &str = "user.v1.UserService";
const ORDER: &str = "order.v1.OrderService";

fn user(method: &str) -> MethodPattern {
    MethodPattern::exact(&format!("{USER}/{method}"))
}

fn order(method: &str) -> MethodPattern {
    MethodPattern::exact(&format!("{ORDER}/{method}"))
}

/// The keys [`apply`] fills when the configuration leaves them out.
pub const KEYS: [&str; 3] = [
    "middleware.auth.roles",
    "middleware.audit.methods",
    "middleware.audit.target_fields",
];

/// The app's roles: `admin` and `service` may call everything; `support` and `user` are
/// named here (so bindings may grant them) and get their methods from the `roles` of each
/// method's `grpckit.v1.policy` option: `support` reads orders, users and chats; `user`
/// calls its own user and order methods (ownership enforced by the handlers) and bulk
/// sign-up, but not `ListUsers`.
pub fn roles() -> Vec<RoleRule> {
    let mut v = RoleRule::defaults();
    v.push(RoleRule::new("support", Vec::new()));
    v.push(RoleRule::new("user", Vec::new()));
    v
}

/// The unary methods that change state (stream opens are audited anyway).
pub fn audited_methods() -> Vec<MethodPattern> {
    vec![
        user("CreateUser"),
        user("UpdateUser"),
        user("DeleteUser"),
        user("Login"),
        order("CreateOrder"),
        order("PayOrder"),
        order("CancelOrder"),
    ]
}

/// The request fields naming what a call acts on.
pub fn audit_target_fields() -> Vec<String> {
    ["id", "order_id", "user_id"].map(String::from).to_vec()
}

/// `middleware` with the app's default for each of [`KEYS`] for which `given(key)` is false.
pub fn apply(mut m: MiddlewareConfig, given: impl Fn(&str) -> bool) -> MiddlewareConfig {
    if !given(KEYS[0]) {
        m.auth.roles = roles();
    }
    if !given(KEYS[1]) {
        m.audit.methods = audited_methods();
    }
    if !given(KEYS[2]) {
        m.audit.target_fields = audit_target_fields();
    }
    m
}
