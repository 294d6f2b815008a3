//! Spin-facing commerce adapters shared by the `cart`, `checkout` and `enrollment-worker`
//! components, so each statement and storage format exists once.

pub mod carts;
pub mod catalog;
pub mod enrollment;
pub mod rows;
