//! Catalog domain, free of `spin-sdk` so all of it is unit-tested natively.
//!
//! The `catalog` component parses a request with [`query`] and [`admin`], runs the
//! statements of [`sql`], answers with the types of [`course`], and caches responses as
//! [`cache`] entries under [`cache`] keys. The `cache-invalidator` component applies the
//! [`cache::Invalidation`] messages the catalog publishes.

pub mod admin;
pub mod cache;
pub mod course;
pub mod query;
pub mod routes;
pub mod slug;
pub mod sql;

pub use routes::{Endpoint, ROUTES};
