//! Spin-facing adapters shared by components.
//!
//! Domain crates stay pure and natively tested; this crate is the only shared code that
//! touches `spin-sdk`, mapping its failures to [`platform::ApiError`] once.

pub mod catalog_cache;
pub mod db;
pub mod kv;
pub mod session;
pub mod vars;
