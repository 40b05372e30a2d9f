//! The stable error reasons of the reference services (`google.rpc.ErrorInfo`), one constant
//! each, with the service's proto package as domain. Listed in docs/errors.md; clients
//! branch on these, never on message text. Field errors use the framework's
//! [`grpckit::reason::INVALID_FIELDS`].

use grpckit::Reason;

/// The domain of UserService reasons.
pub const USER: &str = "user.v1";
/// The domain of OrderService reasons.
pub const ORDER: &str = "order.v1";

/// `ALREADY_EXISTS`: another account uses the email.
pub const EMAIL_TAKEN: Reason = Reason::new(USER, "EMAIL_TAKEN");
/// `NOT_FOUND`: no user with the id.
pub const USER_NOT_FOUND: Reason = Reason::new(USER, "USER_NOT_FOUND");
/// `UNAUTHENTICATED`: Login with an unknown email or a wrong password (never says which).
pub const BAD_CREDENTIALS: Reason = Reason::new(USER, "BAD_CREDENTIALS");
/// `RESOURCE_EXHAUSTED`: too many failed logins for the email; `RetryInfo` says when.
pub const LOGIN_BACKOFF: Reason = Reason::new(USER, "LOGIN_BACKOFF");
/// `RESOURCE_EXHAUSTED`: a BatchCreateUsers stream sent more users than allowed.
pub const BATCH_TOO_LARGE: Reason = Reason::new(USER, "BATCH_TOO_LARGE");

/// `NOT_FOUND`: no order with the id.
pub const ORDER_NOT_FOUND: Reason = Reason::new(ORDER, "ORDER_NOT_FOUND");
/// `NOT_FOUND`: the order names a user that does not exist.
pub const ORDER_USER_NOT_FOUND: Reason = Reason::new(ORDER, "USER_NOT_FOUND");
/// `FAILED_PRECONDITION`: only CREATED orders can be paid.
pub const ORDER_NOT_PAYABLE: Reason = Reason::new(ORDER, "ORDER_NOT_PAYABLE");
/// `FAILED_PRECONDITION`: only CREATED or PAID orders can be cancelled.
pub const ORDER_NOT_CANCELLABLE: Reason = Reason::new(ORDER, "ORDER_NOT_CANCELLABLE");
/// `FAILED_PRECONDITION`: any other move the order's status does not allow (ship, deliver).
pub const ORDER_WRONG_STATE: Reason = Reason::new(ORDER, "ORDER_WRONG_STATE");
/// `ALREADY_EXISTS`: the request_id was used before for a different payload.
pub const IDEMPOTENCY_CONFLICT: Reason = Reason::new(ORDER, "IDEMPOTENCY_CONFLICT");
/// `UNAVAILABLE`: the order kept changing concurrently; retry.
pub const ORDER_BUSY: Reason = Reason::new(ORDER, "ORDER_BUSY");
/// `UNAVAILABLE`: UserService did not answer (down or out of time); retry.
pub const USER_SERVICE_UNAVAILABLE: Reason = Reason::new(ORDER, "USER_SERVICE_UNAVAILABLE");
/// `RESOURCE_EXHAUSTED`: an UploadOrders stream sent more orders than allowed.
pub const UPLOAD_TOO_LARGE: Reason = Reason::new(ORDER, "UPLOAD_TOO_LARGE");

/// `PERMISSION_DENIED`: the caller may not act on (or read) another user's data, in `domain`.
pub const fn not_owner(domain: &'static str) -> Reason {
    Reason::new(domain, "NOT_OWNER")
}

/// Every reason of the services, for docs checks.
pub const ALL: &[Reason] = &[
    EMAIL_TAKEN,
    USER_NOT_FOUND,
    BAD_CREDENTIALS,
    LOGIN_BACKOFF,
    BATCH_TOO_LARGE,
    not_owner(USER),
    ORDER_NOT_FOUND,
    ORDER_USER_NOT_FOUND,
    ORDER_NOT_PAYABLE,
    ORDER_NOT_CANCELLABLE,
    ORDER_WRONG_STATE,
    IDEMPOTENCY_CONFLICT,
    ORDER_BUSY,
    USER_SERVICE_UNAVAILABLE,
    UPLOAD_TOO_LARGE,
    not_owner(ORDER),
];
