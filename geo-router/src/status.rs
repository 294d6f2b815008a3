//! `/alive` (the process answers) and `/health` (this region's dependencies, with latencies).

use std::time::Instant;

use http::StatusCode;
use platform::HttpResponse;
use serde::Serialize;
use spin_sdk::key_value::Store;

use crate::config::Config;
use crate::db;
use geo_router_core::health::{HEALTH_KEY, HealthTable, Status};

pub fn alive(config: &Config) -> HttpResponse {
    platform::response::ok(&serde_json::json!({
        "region": config.topology.local().name,
        "status": "alive",
    }))
}

#[derive(Serialize)]
struct Check {
    ok: bool,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Check {
    fn from<T>(started: Instant, result: &Result<T, String>) -> Self {
        Self {
            ok: result.is_ok(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: result.as_ref().err().cloned(),
        }
    }
}

#[derive(Serialize)]
struct Replica {
    configured: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    check: Option<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_seconds: Option<f64>,
}

#[derive(Serialize)]
struct RegionView<'a> {
    name: &'a str,
    status: &'static str,
}

pub async fn health(config: &Config, store: Option<&Store>, now_ms: u64) -> HttpResponse {
    let started = Instant::now();
    let primary = db::primary_position(&config.database_url).await;
    let postgres = Check::from(started, &primary);

    let replica = if config.replica_database_url.is_empty() {
        Replica {
            configured: false,
            check: None,
            lag_bytes: None,
            lag_seconds: None,
        }
    } else {
        let started = Instant::now();
        let replayed = db::replica_position(&config.replica_database_url).await;
        let check = Check::from(started, &replayed);
        let lag_bytes = match (&primary, &replayed) {
            (Ok(primary), Ok(Some(replayed))) => Some(primary.bytes_after(*replayed)),
            _ => None,
        };
        // Time since the last replayed transaction is lag only while WAL is pending: on an
        // idle primary it grows without the replica being behind.
        let lag_seconds = if lag_bytes == Some(0) {
            Some(0.0)
        } else {
            db::replica_lag_seconds(&config.replica_database_url)
                .await
                .ok()
                .flatten()
        };
        Replica {
            configured: true,
            check: Some(check),
            lag_bytes,
            lag_seconds,
        }
    };

    let redis = probe_redis(&config.redis_url).await;
    // The region's own Redis (rate limits, leases), when it is not the shared one: without
    // it the region still serves, unlimited and without leases, but not as configured.
    let regional_redis = if config.regional_redis_url == config.redis_url {
        None
    } else {
        Some(probe_redis(&config.regional_redis_url).await)
    };

    let started = Instant::now();
    let stored = match store {
        Some(store) => store
            .get(HEALTH_KEY)
            .await
            .map_err(|error| format!("{error:?}")),
        None => Err("store unavailable".to_owned()),
    };
    let key_value = Check::from(started, &stored);
    let table = HealthTable::from_stored(stored.ok().flatten().as_deref());
    let regions: Vec<RegionView<'_>> = config
        .topology
        .regions()
        .iter()
        .map(|region| RegionView {
            name: &region.name,
            status: match table.status(&region.name, now_ms) {
                Status::Up => "up",
                Status::Down => "down",
                Status::Probe => "probing",
            },
        })
        .collect();

    let healthy = postgres.ok
        && key_value.ok
        && redis.ok
        && regional_redis.as_ref().is_none_or(|check| check.ok)
        && replica.check.as_ref().is_none_or(|check| check.ok);
    let body = serde_json::json!({
        "region": config.topology.local().name,
        "status": if healthy { "ok" } else { "degraded" },
        "checks": {
            "postgres": postgres,
            "replica": replica,
            "redis": redis,
            "regional_redis": regional_redis,
            "key_value": key_value,
        },
        "regions": regions,
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = platform::response::json(status, &body);
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// One read of a probe key on the Redis at `url`, with its latency.
async fn probe_redis(url: &str) -> Check {
    let started = Instant::now();
    let result = match spin_sdk::redis::Connection::open(url).await {
        Ok(connection) => connection
            .get("geo-router:health-probe")
            .await
            .map(|_| ())
            .map_err(|error| format!("{error:?}")),
        Err(error) => Err(format!("{error:?}")),
    };
    Check::from(started, &result)
}
