//! HTTP glue shared by every component.
//!
//! Components stay thin: they parse a request with [`request`], call domain code, and
//! answer through [`response`]. Every failure a client can see is an [`ApiError`], and
//! [`ApiError::into_response`] is the one place that turns errors into HTTP.
//!
//! Nothing here depends on `spin-sdk`, so all of it is unit-tested natively.

pub mod gateway;
pub mod log;
pub mod problem;
pub mod redis;
pub mod replication;
pub mod request;
pub mod response;
pub mod routing;
pub mod secret;
pub mod timing;

pub use problem::ApiError;
pub use response::{Body, HttpResponse};
pub use routing::{PathParams, Route};
pub use secret::Secret;
