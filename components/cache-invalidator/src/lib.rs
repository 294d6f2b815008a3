//! Subscribed to `catalog-invalidations` in every region: when an admin changes a course
//! anywhere, this region drops the course's cached pages and moves its list generation on,
//! so no region serves the old copy past its freshness budget, and raises the region's
//! replica floor so the next refill does not read the old copy from a lagging replica.

use anyhow::Context;
use catalog_core::cache::Invalidation;

#[spin_sdk::redis_subscriber]
async fn on_message(message: bytes::Bytes) -> anyhow::Result<()> {
    let invalidation =
        Invalidation::from_json(&message).context("malformed catalog invalidation message")?;
    runtime::catalog_cache::apply_invalidation(&invalidation)
        .await
        .map_err(|failures| {
            anyhow::anyhow!("invalidation not fully applied: {}", failures.join("; "))
        })
}
