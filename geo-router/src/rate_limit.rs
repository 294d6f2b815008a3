//! Counting a client's request in the region's Redis (see `geo_router_core::rate_limit` for
//! why Redis, and `platform::redis` for why the region's own).

use std::net::IpAddr;

use geo_router_core::rate_limit::{COUNT_SCRIPT, Limit, Verdict, Window};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// Counts the request; `Err` when Redis could not count it. The router then lets the
/// request through: an outage of the limiter must not become an outage of the shop.
pub async fn count(
    redis_url: &str,
    client: Option<IpAddr>,
    limit: Limit,
    now_ms: u64,
) -> Result<Verdict, String> {
    let window = Window::at(client, limit, now_ms);
    let redis = Connection::open(redis_url)
        .await
        .map_err(|error| format!("rate limiter: {error:?}"))?;
    let arguments = [
        RedisParameter::Binary(COUNT_SCRIPT.as_bytes().to_vec()),
        RedisParameter::Int64(1),
        RedisParameter::Binary(window.key.as_bytes().to_vec()),
        RedisParameter::Int64(i64::try_from(window.ttl_ms).unwrap_or(i64::MAX)),
    ];
    let results = redis
        .execute("EVAL", arguments)
        .await
        .map_err(|error| format!("rate limiter: {error:?}"))?;
    match results.first() {
        Some(RedisResult::Int64(count)) => Ok(window.verdict(*count, limit, now_ms)),
        other => Err(format!("rate limiter: unexpected reply {other:?}")),
    }
}
