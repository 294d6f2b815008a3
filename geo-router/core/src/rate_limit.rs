//! Fixed-window rate limiting per client, counted in Redis.
//!
//! Each window is one Redis key per client, named after the window's index on the wall
//! clock, so every router (and every region sharing the Redis) counts into the same key.
//! One script increments it and, on the first request of the window, sets its expiry:
//! atomic, so concurrent requests cannot both slip past the limit, and no key outlives its
//! window. The key-value store is not used: Spin's `default` store is a SQLite file, and
//! a disk write per request would cost more than the request itself.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub window_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed { remaining: u32 },
    Limited { retry_after_secs: u64 },
}

/// Increments `KEYS[1]` and, when it is new, expires it after `ARGV[1]` ms; returns the count.
pub const COUNT_SCRIPT: &str = "local n = redis.call('INCR', KEYS[1]) \
     if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

/// The client part of the key: its address, or its /64 for IPv6 (one host owns a /64).
fn client_key(client: Option<IpAddr>) -> String {
    match client {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) >> 64;
            format!("{prefix:016x}::/64")
        }
        None => "unknown".to_owned(),
    }
}

/// The window a request at `now_ms` counts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The Redis key counting this client's requests in this window.
    pub key: String,
    /// How long the key must live: the rest of the window (at least 1 ms).
    pub ttl_ms: u64,
    ends_ms: u64,
}

impl Window {
    pub fn at(client: Option<IpAddr>, limit: Limit, now_ms: u64) -> Self {
        let window_ms = limit.window_ms.max(1);
        let index = now_ms / window_ms;
        let ends_ms = (index + 1) * window_ms;
        Self {
            key: format!("geo-router:rate:{}:{index}", client_key(client)),
            ttl_ms: (ends_ms - now_ms).max(1),
            ends_ms,
        }
    }

    /// The verdict once Redis has counted this request as the `count`th of the window.
    pub fn verdict(&self, count: i64, limit: Limit, now_ms: u64) -> Verdict {
        let allowed = i64::from(limit.requests);
        if count <= allowed {
            let remaining = u32::try_from(allowed - count.max(0)).unwrap_or(0);
            return Verdict::Allowed { remaining };
        }
        let retry_after_secs = self.ends_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
        Verdict::Limited { retry_after_secs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        requests: 2,
        window_ms: 10_000,
    };

    #[test]
    fn allows_up_to_the_limit_then_says_when_to_retry() {
        let window = Window::at("192.0.2.1".parse().ok(), LIMIT, 1_000);
        assert_eq!(window.ttl_ms, 9_000);
        assert_eq!(
            window.verdict(1, LIMIT, 1_000),
            Verdict::Allowed { remaining: 1 }
        );
        assert_eq!(
            window.verdict(2, LIMIT, 1_000),
            Verdict::Allowed { remaining: 0 }
        );
        assert_eq!(
            window.verdict(3, LIMIT, 1_500),
            Verdict::Limited {
                retry_after_secs: 9
            }
        );
    }

    #[test]
    fn a_new_window_has_a_new_key() {
        let client = "192.0.2.1".parse().ok();
        let first = Window::at(client, LIMIT, 9_999);
        let second = Window::at(client, LIMIT, 10_000);
        assert_ne!(first.key, second.key);
        assert_eq!(first.ttl_ms, 1);
        assert_eq!(second.ttl_ms, 10_000);
        assert_eq!(
            first.key,
            Window::at(client, LIMIT, 0).key,
            "same window, same key"
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let key = |text: &str| Window::at(text.parse().ok(), LIMIT, 0).key;
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("192.0.2.1"), Window::at(None, LIMIT, 0).key);
    }
}
