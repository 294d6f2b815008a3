//! Applying a catalog invalidation to this region's edge cache: done by the catalog right
//! after an admin write, and by the cache-invalidator when another region announces one.

use catalog_core::cache::{self, Invalidation};
use spin_sdk::key_value::Store;

/// Drops the course's cached pages, moves the list generation on, and raises the replica
/// floor so the next refill does not read the old copy from a lagging replica.
///
/// Every step is tried even when an earlier one fails (each one narrows what can be served
/// stale); `Err` lists what failed.
pub async fn apply_invalidation(invalidation: &Invalidation) -> Result<(), Vec<String>> {
    let store = Store::open(cache::STORE)
        .await
        .map_err(|error| vec![format!("opening {}: {error:?}", cache::STORE)])?;
    let mut failures = Vec::new();
    for key in invalidation.detail_keys() {
        if let Err(error) = store.delete(&key).await {
            failures.push(format!("deleting {key}: {error:?}"));
        }
    }
    if let Err(error) = store
        .set(cache::GENERATION_KEY, cache::new_generation())
        .await
    {
        failures.push(format!("bumping the list generation: {error:?}"));
    }
    match store.get(cache::REPLICA_FLOOR_KEY).await {
        Ok(current) => {
            if let Some(floor) = invalidation.raised_floor(current.as_deref())
                && let Err(error) = store.set(cache::REPLICA_FLOOR_KEY, floor.as_bytes()).await
            {
                failures.push(format!("raising the replica floor: {error:?}"));
            }
        }
        Err(error) => failures.push(format!("reading the replica floor: {error:?}")),
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}
