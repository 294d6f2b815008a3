//! Subscribed to `catalog-invalidations` in every region: when an admin changes a course
//! anywhere, this region drops the course's cached pages and moves its list generation on,
//! so no region serves the old copy past its freshness budget, and raises the region's
//! replica floor so the next refill does not read the old copy from a lagging replica.

use anyhow::Context;
use catalog_core::cache::{self, Invalidation};
use spin_sdk::key_value::Store;

#[spin_sdk::redis_subscriber]
async fn on_message(message: bytes::Bytes) -> anyhow::Result<()> {
    let invalidation =
        Invalidation::from_json(&message).context("malformed catalog invalidation message")?;
    let store = Store::open(cache::STORE)
        .await
        .map_err(|error| anyhow::anyhow!("opening {}: {error:?}", cache::STORE))?;
    for key in invalidation.detail_keys() {
        store
            .delete(&key)
            .await
            .map_err(|error| anyhow::anyhow!("deleting {key}: {error:?}"))?;
    }
    store
        .set(cache::GENERATION_KEY, cache::new_generation())
        .await
        .map_err(|error| anyhow::anyhow!("bumping the list generation: {error:?}"))?;
    // Refills must not read a replica that has not yet replayed this write.
    let current_floor = store
        .get(cache::REPLICA_FLOOR_KEY)
        .await
        .map_err(|error| anyhow::anyhow!("reading the replica floor: {error:?}"))?;
    if let Some(floor) = invalidation.raised_floor(current_floor.as_deref()) {
        store
            .set(cache::REPLICA_FLOOR_KEY, floor.as_bytes())
            .await
            .map_err(|error| anyhow::anyhow!("raising the replica floor: {error:?}"))?;
    }
    Ok(())
}
