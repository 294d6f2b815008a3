//! Application variables of the checkout component, read per request.

use commerce_core::relay::{EnrollmentMode, RelayPolicy};
use platform::ApiError;

pub struct Config {
    /// The shared Redis, where `order.paid` is published.
    pub redis_url: String,
    /// This region's own Redis, where the opportunistic relay's lease is taken.
    pub regional_redis_url: String,
    pub enrollment_mode: EnrollmentMode,
    pub relay: RelayPolicy,
    /// Opportunistic relay runs at most once per this many seconds per region.
    pub relay_interval_secs: i64,
    pub region: String,
}

impl Config {
    pub async fn load() -> Result<Self, ApiError> {
        let defaults = RelayPolicy::default();
        Ok(Self {
            redis_url: runtime::vars::required("redis_url").await?,
            regional_redis_url: runtime::vars::regional_redis_url().await?,
            enrollment_mode: EnrollmentMode::parse(
                &runtime::vars::parsed_or("enrollment_mode", String::new()).await,
            ),
            relay: RelayPolicy {
                redrive_after_secs: runtime::vars::parsed_or(
                    "outbox_redrive_after_seconds",
                    defaults.redrive_after_secs,
                )
                .await,
                max_attempts: runtime::vars::parsed_or(
                    "outbox_max_attempts",
                    defaults.max_attempts,
                )
                .await,
            },
            relay_interval_secs: runtime::vars::parsed_or("outbox_relay_interval_seconds", 15)
                .await,
            region: runtime::vars::parsed_or("region", "local".to_owned()).await,
        })
    }
}
