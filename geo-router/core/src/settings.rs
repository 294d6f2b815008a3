//! The router's gateway settings: one JSON object in the `geo_router` variable of each
//! component the router is composed in front of (Spin gives middleware the variables of the
//! component it wraps), built in `spin.toml` from the application's variables:
//! `{"trusted_proxies": "10.0.0.0/8", "rate_limit_requests": "600", ...}`.
//!
//! Values are strings, as Spin variables are; a missing key takes its default, an unknown
//! key is refused (a misspelt setting would otherwise be silently ignored).

use serde::Deserialize;

use crate::client::ClientPolicy;
use crate::gateway::Cors;
use crate::rate_limit::Limit;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    trusted_proxies: String,
    trust_true_client_ip: String,
    allow_geo_override: String,
    rate_limit_requests: String,
    rate_limit_window_secs: String,
    cors_origins: String,
    upstream_timeout_ms: String,
    health_cooldown_ms: String,
    sessions_regional: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub client_policy: ClientPolicy,
    pub rate_limit: Limit,
    pub cors: Cors,
    /// How long another region has to answer a forwarded request.
    pub upstream_timeout_ms: u64,
    /// How long a region that failed is skipped (doubling per repeated failure).
    pub health_cooldown_ms: u64,
    /// Sessions live in one region's store, not a shared one: see `routing::placement`.
    pub sessions_regional: bool,
}

fn flag(text: &str) -> bool {
    matches!(text.trim(), "true" | "1" | "yes")
}

fn number(text: &str, default: u64) -> u64 {
    text.trim().parse().unwrap_or(default)
}

impl Settings {
    pub fn parse(json: &str) -> Result<Self, String> {
        let raw: Raw = if json.trim().is_empty() {
            Raw::default()
        } else {
            serde_json::from_str(json).map_err(|error| format!("geo_router: {error}"))?
        };
        let window_secs = number(&raw.rate_limit_window_secs, 60).max(1);
        Ok(Self {
            client_policy: ClientPolicy {
                trusted_proxies: ClientPolicy::parse_proxies(&raw.trusted_proxies)
                    .map_err(|error| format!("geo_router: trusted_proxies: {error}"))?,
                trust_true_client_ip: flag(&raw.trust_true_client_ip),
                allow_location_override: flag(&raw.allow_geo_override),
            },
            rate_limit: Limit {
                requests: u32::try_from(number(&raw.rate_limit_requests, 600)).unwrap_or(u32::MAX),
                window_ms: window_secs * 1000,
            },
            cors: Cors::parse(&raw.cors_origins),
            upstream_timeout_ms: number(&raw.upstream_timeout_ms, 5000),
            health_cooldown_ms: number(&raw.health_cooldown_ms, 10_000),
            sessions_regional: flag(&raw.sessions_regional),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_setting_from_strings() {
        let settings = Settings::parse(
            r#"{"trusted_proxies": "127.0.0.2, 10.0.0.0/8", "trust_true_client_ip": "false",
                "allow_geo_override": "true", "rate_limit_requests": "3",
                "rate_limit_window_secs": "10", "cors_origins": "https://shop.example",
                "upstream_timeout_ms": "3000", "health_cooldown_ms": "60000",
                "sessions_regional": "true"}"#,
        )
        .expect("valid");
        assert_eq!(settings.client_policy.trusted_proxies.len(), 2);
        assert!(settings.client_policy.allow_location_override);
        assert!(!settings.client_policy.trust_true_client_ip);
        assert_eq!(
            settings.rate_limit,
            Limit {
                requests: 3,
                window_ms: 10_000
            }
        );
        assert_eq!(settings.cors, Cors::parse("https://shop.example"));
        assert_eq!(settings.upstream_timeout_ms, 3000);
        assert_eq!(settings.health_cooldown_ms, 60_000);
        assert!(settings.sessions_regional);
    }

    #[test]
    fn empty_or_missing_values_take_the_defaults() {
        let settings =
            Settings::parse(r#"{"rate_limit_requests": "", "cors_origins": ""}"#).expect("valid");
        assert_eq!(settings.rate_limit.requests, 600);
        assert_eq!(settings.rate_limit.window_ms, 60_000);
        assert_eq!(settings.upstream_timeout_ms, 5000);
        assert_eq!(settings.health_cooldown_ms, 10_000);
        assert!(!settings.sessions_regional);
        assert!(settings.client_policy.trusted_proxies.is_empty());
        assert_eq!(Settings::parse("").expect("valid"), settings);
    }

    #[test]
    fn refuses_unknown_keys_and_bad_proxies_naming_the_variable() {
        let misspelt = Settings::parse(r#"{"rate_limit_request": "3"}"#).expect_err("unknown");
        assert!(misspelt.starts_with("geo_router:"), "{misspelt}");
        let proxies =
            Settings::parse(r#"{"trusted_proxies": "not-an-address"}"#).expect_err("bad proxy");
        assert!(proxies.contains("trusted_proxies"), "{proxies}");
    }
}
