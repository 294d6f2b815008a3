//! The router's settings, read from Spin variables on every request (instances may be
//! reused across requests, so nothing is cached in globals).

use geo_router_core::client::ClientPolicy;
use geo_router_core::gateway::Cors;
use geo_router_core::hop::HopSecret;
use geo_router_core::rate_limit::Limit;
use geo_router_core::routing::ComponentTable;
use geo_router_core::topology::Topology;
use platform::ApiError;

pub struct Config {
    pub topology: Topology,
    pub client_policy: ClientPolicy,
    pub rate_limit: Limit,
    pub cors: Cors,
    pub components: ComponentTable,
    /// None only in a single-region topology, where no hop is ever believed.
    pub hop_secret: Option<HopSecret>,
    pub upstream_timeout_ms: u64,
    pub health_cooldown_ms: u64,
    pub database_url: String,
    /// Empty when this region has no read replica: every read then uses the primary.
    pub replica_database_url: String,
    pub redis_url: String,
}

async fn text(name: &str) -> String {
    spin_sdk::variables::get(name).await.unwrap_or_default()
}

async fn number(name: &str, default: u64) -> u64 {
    text(name).await.trim().parse().unwrap_or(default)
}

async fn flag(name: &str) -> bool {
    matches!(text(name).await.trim(), "true" | "1" | "yes")
}

/// A region that cannot route says why on every request, naming the variable: it is not
/// a secret, and an operator's first request should tell them what to fix.
fn misconfigured(error: impl std::fmt::Display) -> ApiError {
    ApiError::ServiceUnavailable {
        detail: format!("this region is misconfigured: {error}"),
        retry_after_secs: 30,
    }
}

impl Config {
    pub async fn load() -> Result<Self, ApiError> {
        let topology = Topology::parse(&text("region").await, &text("regions").await)
            .map_err(misconfigured)?;
        let client_policy = ClientPolicy {
            trusted_proxies: ClientPolicy::parse_proxies(&text("trusted_proxies").await)
                .map_err(misconfigured)?,
            trust_true_client_ip: flag("trust_true_client_ip").await,
            allow_location_override: flag("allow_geo_override").await,
        };
        let routes = text("component_routes").await;
        let components = if routes.trim().is_empty() {
            ComponentTable::default()
        } else {
            ComponentTable::parse(&routes).map_err(misconfigured)?
        };
        let hop_secret =
            HopSecret::for_topology(&text("hop_secret").await, &topology).map_err(misconfigured)?;
        let window_secs = number("rate_limit_window_secs", 60).await.max(1);
        Ok(Self {
            topology,
            client_policy,
            rate_limit: Limit {
                requests: u32::try_from(number("rate_limit_requests", 600).await)
                    .unwrap_or(u32::MAX),
                window_ms: window_secs * 1000,
            },
            cors: Cors::parse(&text("cors_origins").await),
            components,
            hop_secret,
            upstream_timeout_ms: number("upstream_timeout_ms", 5000).await,
            health_cooldown_ms: number("health_cooldown_ms", 10_000).await,
            database_url: text("database_url").await,
            replica_database_url: text("replica_database_url").await,
            redis_url: text("redis_url").await,
        })
    }
}
