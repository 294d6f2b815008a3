//! Three regions on the test host: placement, failover, hops, carts, read-your-writes.

mod carts;
mod consistency;
mod failover;
mod hops;
mod middleware;
mod placement;
mod rate_limits;
