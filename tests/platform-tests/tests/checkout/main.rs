//! Checkout and asynchronous enrollment, on the test host with real PostgreSQL
//! and Redis: the journey, idempotency, concurrency, declines, and that every paid order
//! ends enrolled exactly once when Redis, the worker or the network misbehave.

use anyhow::Result;

mod journey;
mod outages;
mod recovery;

pub(crate) const ENROLLMENTS_OF_ORDER: &str =
    "SELECT count(*) FROM enrollments WHERE order_id = $1::text::uuid";
pub(crate) const PROCESSED_EVENTS_OF_ORDER: &str =
    "SELECT count(*) FROM processed_events WHERE order_id = $1::text::uuid";
pub(crate) const PAYMENTS_OF_ORDER: &str =
    "SELECT count(*) FROM payments WHERE order_id = $1::text::uuid";

/// Nothing to do between polls.
pub(crate) async fn no_op() -> Result<()> {
    Ok(())
}
