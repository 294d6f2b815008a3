//! Commerce domain: everything about carts, orders and enrollment that does not need Spin.
//!
//! The `cart`, `checkout`, `payments-test` and `enrollment-worker` components are thin I/O
//! layers over these modules, which are unit-tested natively.

pub mod cart;
pub mod cart_copy;
pub mod event;
pub mod idempotency;
pub mod money;
pub mod order;
pub mod payment;
pub mod relay;
pub mod routes;
pub mod views;

pub use money::Money;
pub use order::OrderStatus;
