//! Fixed-window rate limiting per client; the window lives inside the stored value.
//!
//! Read-modify-write on the key-value store is not atomic, so concurrent requests of one
//! client may both pass near the limit: an accepted approximation for abuse protection.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub window_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: u64,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed { remaining: u32 },
    Limited { retry_after_secs: u64 },
}

/// The key-value key for a client: its address, or its /64 for IPv6 (one host owns a /64).
pub fn key(client: Option<IpAddr>) -> String {
    match client {
        Some(IpAddr::V4(v4)) => format!("geo-router:rate:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) >> 64;
            format!("geo-router:rate:{prefix:016x}::/64")
        }
        None => "geo-router:rate:unknown".to_owned(),
    }
}

/// Counts one request against the stored window; returns the window to store and the verdict.
pub fn admit(stored: Option<Window>, limit: Limit, now_ms: u64) -> (Window, Verdict) {
    let window = match stored {
        Some(window) if now_ms < window.start_ms.saturating_add(limit.window_ms) => window,
        _ => Window {
            start_ms: now_ms,
            count: 0,
        },
    };
    if window.count >= limit.requests {
        let reset_ms = window.start_ms.saturating_add(limit.window_ms) - now_ms;
        let retry_after_secs = reset_ms.div_ceil(1000).max(1);
        return (window, Verdict::Limited { retry_after_secs });
    }
    let counted = Window {
        count: window.count + 1,
        ..window
    };
    let remaining = limit.requests - counted.count;
    (counted, Verdict::Allowed { remaining })
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
        let (window, verdict) = admit(None, LIMIT, 1_000);
        assert_eq!(verdict, Verdict::Allowed { remaining: 1 });
        let (window, verdict) = admit(Some(window), LIMIT, 2_000);
        assert_eq!(verdict, Verdict::Allowed { remaining: 0 });
        let (window, verdict) = admit(Some(window), LIMIT, 2_500);
        assert_eq!(
            verdict,
            Verdict::Limited {
                retry_after_secs: 9
            }
        );
        assert_eq!(window.count, 2, "refused requests do not extend the count");
    }

    #[test]
    fn a_new_window_starts_after_the_old_one_ends() {
        let full = Window {
            start_ms: 0,
            count: 2,
        };
        let (window, verdict) = admit(Some(full), LIMIT, 10_000);
        assert_eq!(verdict, Verdict::Allowed { remaining: 1 });
        assert_eq!(window.start_ms, 10_000);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = key("2001:db8:1:2::1".parse().ok());
        let b = key("2001:db8:1:2:ffff::9".parse().ok());
        assert_eq!(a, b);
        assert_ne!(a, key("2001:db8:1:3::1".parse().ok()));
        assert_ne!(key("192.0.2.1".parse().ok()), key(None));
    }
}
