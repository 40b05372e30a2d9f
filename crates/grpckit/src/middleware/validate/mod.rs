//! Request validation with `buf.validate` rules declared in the `.proto` files
//! (the standard rules built in; the full CEL runtime of `prost-protovalidate` with the
//! `protovalidate` feature). Every request message, including each message of a client
//! stream, is checked before the handler sees it; a violation ends the call with
//! `INVALID_ARGUMENT` and a `google.rpc.BadRequest` listing every violated field.

mod body;
#[cfg(not(feature = "protovalidate"))]
mod rules;
mod schema;
#[cfg(not(feature = "protovalidate"))]
mod wire;

pub use body::{InspectBody, Inspected};
pub use schema::Schemas;
#[cfg(feature = "protovalidate")]
pub use schema::violations_status;
