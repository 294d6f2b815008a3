//! Pure logic of the geo-router component, natively unit-tested.
//!
//! The component (`geo-router/src`) only does I/O: it reads variables, the key-value
//! store and PostgreSQL, forwards requests, and asks these modules what to do.

pub mod client;
pub mod consistency;
pub mod gateway;
pub mod geo;
pub mod health;
pub mod hop;
pub mod iptable;
pub mod rate_limit;
pub mod routing;
pub mod topology;
