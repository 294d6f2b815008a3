//! Which Redis holds what. The shared Redis (`redis_url`) holds what every region must see:
//! sessions, `orders.paid`, catalog invalidations. Work that is per-region by nature — the
//! router's rate-limit counts, the catalog's refill leases — uses the region's own Redis
//! (`regional_redis_url`): far from the shared Redis, that work would cost every request a
//! connection and a round trip across an ocean.

/// The variable naming this region's own Redis.
pub const REGIONAL_REDIS_URL: &str = "regional_redis_url";
/// The variable naming the Redis every region shares.
pub const SHARED_REDIS_URL: &str = "redis_url";

/// The region's own Redis; the shared one where a deployment runs only that one.
pub fn regional_or_shared<'a>(regional: &'a str, shared: &'a str) -> &'a str {
    if regional.trim().is_empty() {
        shared
    } else {
        regional
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regions_own_redis_when_there_is_one() {
        assert_eq!(
            regional_or_shared("redis://redis.eu-west:6379", "redis://shared:6379"),
            "redis://redis.eu-west:6379"
        );
    }

    #[test]
    fn the_shared_redis_when_the_region_names_none() {
        assert_eq!(
            regional_or_shared("", "redis://shared:6379"),
            "redis://shared:6379"
        );
        assert_eq!(
            regional_or_shared("  ", "redis://shared:6379"),
            "redis://shared:6379"
        );
    }
}
