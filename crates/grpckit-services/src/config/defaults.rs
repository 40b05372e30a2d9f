//! The reference app's middleware defaults: its public methods, roles, audited methods and
//! audit target fields. They fill the keys a configuration leaves out (the framework's own
//! defaults know no app: only health and reflection are public, only `admin` and `service`
//! have roles, no unary method is audited). The default rate limits are in
//! [`crate::limits`].

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
pub const KEYS: [&str; 4] = [
    "middleware.auth.public_methods",
    "middleware.auth.roles",
    "middleware.audit.methods",
    "middleware.audit.target_fields",
];

/// The framework's public methods (health, reflection) plus `Login` and `CreateUser`.
pub fn public_methods() -> Vec<MethodPattern> {
    let mut v = vec![user("Login"), user("CreateUser")];
    v.extend(grpckit::config::AuthnConfig::default().public_methods);
    v
}

/// `admin` and `service` may call everything; `support` reads orders, users and chats;
/// `user` calls its own user and order methods (ownership enforced by the handlers) and
/// bulk sign-up, but not `ListUsers`.
pub fn roles() -> Vec<RoleRule> {
    let mut v = RoleRule::defaults();
    v.push(RoleRule::new(
        "support",
        vec![
            user("GetUser"),
            user("ListUsers"),
            order("GetOrder"),
            order("ListOrders"),
            order("TrackOrder"),
            order("Chat"),
        ],
    ));
    v.push(RoleRule::new(
        "user",
        vec![
            user("GetUser"),
            user("UpdateUser"),
            user("DeleteUser"),
            user("StreamUserActivity"),
            user("BatchCreateUsers"),
            MethodPattern::service(ORDER),
        ],
    ));
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
        m.auth.public_methods = public_methods();
    }
    if !given(KEYS[1]) {
        m.auth.roles = roles();
    }
    if !given(KEYS[2]) {
        m.audit.methods = audited_methods();
    }
    if !given(KEYS[3]) {
        m.audit.target_fields = audit_target_fields();
    }
    m
}
