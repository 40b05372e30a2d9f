//! Client integration tests: balancing, failover, retries, discovery against several real
//! gRPC servers on loopback ports.

#[path = "client/support.rs"]
mod support;

#[path = "client/balance.rs"]
mod balance;
#[path = "client/discovery.rs"]
mod discovery;
#[path = "client/failover.rs"]
mod failover;
#[path = "client/retry.rs"]
mod retry;
