//! Counting a client's request in the region's Redis (see `geo_router_core::rate_limit` for
//! why Redis, and `platform::redis` for why the region's own).
//!
//! Every request is counted, so the count must cost little next to the request itself.
//! Spin's `redis` interface has no pool: each `Connection::open` is a new TCP connection
//! (handshake and client setup), which cost more than the cached page it counted. An
//! instance keeps the connection its first counted request opened, for its whole life (up
//! to 128 requests; Spin drops an instance's connections with it): every later request
//! costs one `EVAL` on it, concurrent ones multiplexed on the same connection. Set once and
//! never changed, like the configuration, so requests sharing the instance share it safely.

use std::net::IpAddr;
use std::sync::OnceLock;

use geo_router_core::rate_limit::{Check, GCRA_SCRIPT, Limit, Verdict, verdict};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// The instance's connection to the region's Redis (the URL is fixed for its life).
static KEPT: OnceLock<Connection> = OnceLock::new();

/// Counts the request; `Err` when Redis could not count it. The router then lets the
/// request through: an outage of the limiter must not become an outage of the shop.
pub async fn count(
    redis_url: &str,
    client: Option<IpAddr>,
    limit: Limit,
    now_ms: u64,
) -> Result<Verdict, String> {
    let check = Check::at(client, limit, now_ms);
    let reply = match KEPT.get() {
        Some(kept) => match run(kept, &check).await {
            Ok(reply) => reply,
            // The kept connection broke (Redis restarted, say) and cannot be replaced:
            // this request counts on a connection of its own.
            Err(_) => run(&open(redis_url).await?, &check).await?,
        },
        None => {
            let opened = open(redis_url).await?;
            let reply = run(&opened, &check).await?;
            // Requests starting together may each open one: the first kept is shared.
            let _ = KEPT.set(opened);
            reply
        }
    };
    Ok(verdict(reply))
}

async fn open(redis_url: &str) -> Result<Connection, String> {
    Connection::open(redis_url)
        .await
        .map_err(|error| format!("rate limiter: {error:?}"))
}

/// The script's reply for this request (see `GCRA_SCRIPT`).
async fn run(redis: &Connection, check: &Check) -> Result<i64, String> {
    let [now, interval, window] = check.arguments;
    let arguments = [
        RedisParameter::Binary(GCRA_SCRIPT.as_bytes().to_vec()),
        RedisParameter::Int64(1),
        RedisParameter::Binary(check.key.as_bytes().to_vec()),
        RedisParameter::Int64(now),
        RedisParameter::Int64(interval),
        RedisParameter::Int64(window),
    ];
    let results = redis
        .execute("EVAL", arguments)
        .await
        .map_err(|error| format!("rate limiter: {error:?}"))?;
    match results.first() {
        Some(RedisResult::Int64(reply)) => Ok(*reply),
        other => Err(format!("rate limiter: unexpected reply {other:?}")),
    }
}
