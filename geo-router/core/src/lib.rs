//! Pure logic of the geo-router component, natively unit-tested.
//!
//! The component (`geo-router/src`, Spin HTTP middleware) only does I/O: it reads
//! variables, the key-value store and PostgreSQL, hands requests to the component it is
//! composed in front of or forwards them to another region, and asks these modules what to do.

pub mod attempts;
pub mod client;
pub mod consistency;
pub mod gateway;
pub mod geo;
pub mod health;
pub mod hop;
pub mod iptable;
pub mod rate_limit;
pub mod routing;
pub mod settings;
pub mod topology;
