//! Spin variables, read per request (a component instance may be reused, so no caching in globals).

use platform::ApiError;

/// A required variable; a missing one is a deployment bug, reported as 500 and logged.
pub async fn required(name: &str) -> Result<String, ApiError> {
    spin_sdk::variables::get(name)
        .await
        .map_err(|error| ApiError::internal(format!("variable {name}: {error}")))
}

/// A variable parsed into `T`, or `default` when it is unset or malformed.
pub async fn parsed_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match spin_sdk::variables::get(name).await {
        Ok(value) => value.trim().parse().unwrap_or(default),
        Err(_) => default,
    }
}

/// A variable that may be left empty to turn a feature off; `None` when unset or blank.
pub async fn optional(name: &str) -> Option<String> {
    let value = spin_sdk::variables::get(name).await.ok()?;
    (!value.trim().is_empty()).then_some(value)
}

/// This region's own Redis (`regional_redis_url`), for work that is per-region by nature;
/// the shared `redis_url` when the deployment has only that one (see `platform::redis`).
pub async fn regional_redis_url() -> Result<String, ApiError> {
    let shared = required(platform::redis::SHARED_REDIS_URL).await?;
    let regional = optional(platform::redis::REGIONAL_REDIS_URL)
        .await
        .unwrap_or_default();
    Ok(platform::redis::regional_or_shared(&regional, &shared).to_owned())
}
