//! The router's settings, read from the variables of the component it is composed in
//! front of, once per instance: Spin variables cannot change during an instance's life,
//! and an instance serves many requests, so reading them per request would only repeat
//! the same answer. The cache is immutable once set, so concurrent requests share it safely.

use std::sync::OnceLock;

use geo_router_core::hop::HopSecret;
use geo_router_core::settings::Settings;
use geo_router_core::topology::Topology;
use platform::{ApiError, redis};

pub struct Config {
    pub topology: Topology,
    pub settings: Settings,
    /// None only in a single-region topology, where no hop is ever believed.
    pub hop_secret: Option<HopSecret>,
    pub database_url: String,
    /// Empty when this region has no read replica: every read then uses the primary.
    pub replica_database_url: String,
    /// The shared Redis: `/health` reports it.
    pub redis_url: String,
    /// This region's own Redis, where the rate limit is counted (the shared one when unset).
    pub regional_redis_url: String,
}

/// This instance's configuration, or why this region cannot route (also permanent).
static LOADED: OnceLock<Result<Config, String>> = OnceLock::new();

async fn text(name: &str) -> String {
    spin_sdk::variables::get(name).await.unwrap_or_default()
}

/// The configuration; a region that cannot route says why on every request, naming the
/// variable: it is not a secret, and an operator's first request should tell them what to fix.
pub async fn get() -> Result<&'static Config, ApiError> {
    let loaded = match LOADED.get() {
        Some(loaded) => loaded,
        None => {
            // Requests arriving together may both load; the first to finish is kept.
            let fresh = Config::load().await;
            LOADED.get_or_init(|| fresh)
        }
    };
    loaded.as_ref().map_err(|error| {
        let detail = format!("this region is misconfigured: {error}");
        ApiError::service_unavailable(&detail, 30, &detail)
    })
}

impl Config {
    async fn load() -> Result<Self, String> {
        let topology = Topology::parse(&text("region").await, &text("regions").await)
            .map_err(|error| error.to_string())?;
        let settings = Settings::parse(&text("geo_router").await)?;
        let hop_secret = HopSecret::for_topology(&text("hop_secret").await, &topology)
            .map_err(|error| error.to_string())?;
        let redis_url = text(redis::SHARED_REDIS_URL).await;
        let regional = text(redis::REGIONAL_REDIS_URL).await;
        let regional_redis_url = redis::regional_or_shared(&regional, &redis_url).to_owned();
        Ok(Self {
            topology,
            settings,
            hop_secret,
            database_url: text("database_url").await,
            replica_database_url: text("replica_database_url").await,
            redis_url,
            regional_redis_url,
        })
    }

    pub fn local(&self) -> &str {
        &self.topology.local().name
    }
}
