//! Per-client rate limiting in Redis, as a generic cell rate algorithm (GCRA).
//!
//! A limit of `requests` per `window_ms` lets a client spend up to `requests` at once and
//! then one more every `window_ms / requests`: each client has one Redis key holding its
//! *theoretical arrival time* (TAT), the moment its allowance would be whole again if it sent
//! nothing more. A request is allowed when the TAT, advanced by one request's interval, stays
//! within one window of now. Unlike counting per fixed window on the wall clock, no boundary
//! lets a client through twice its limit in a moment (the end of one window and the start of
//! the next), and whether a burst is limited never depends on where it falls on the clock.
//!
//! One script reads and advances the TAT, so concurrent requests cannot both slip past the
//! limit, and the key expires when the allowance is whole again, so an idle client leaves
//! nothing behind. Every router (and every region sharing the Redis) uses the same key per
//! client. The key-value store is not used: Spin's `default` store is a SQLite file, and a
//! disk write per request would cost more than the request itself.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub window_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// `KEYS[1]` the client's TAT; `ARGV` now, one request's interval and the window, in
/// microseconds (integers, so the stored TAT is exact). Returns the requests still allowed
/// now (≥ 0) when this one is allowed and recorded, or minus the microseconds until one is
/// (≤ -1) when it is not, and then nothing is written.
pub const GCRA_SCRIPT: &str = "local now = tonumber(ARGV[1]) \
     local interval = tonumber(ARGV[2]) \
     local window = tonumber(ARGV[3]) \
     local tat = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now) \
     local next_tat = tat + interval \
     local wait = next_tat - window - now \
     if wait > 0 then return -wait end \
     redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', \
         math.ceil((next_tat - now) / 1000)) \
     return math.floor((window - (next_tat - now)) / interval)";

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

/// One request's check against a client's limit: the script's key and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The Redis key holding this client's TAT.
    pub key: String,
    /// `ARGV` of [`GCRA_SCRIPT`]: now, the interval, the window (µs).
    pub arguments: [i64; 3],
}

impl Check {
    pub fn at(client: Option<IpAddr>, limit: Limit, now_ms: u64) -> Self {
        let window_us = limit.window_ms.max(1).saturating_mul(1000);
        let interval_us = (window_us / u64::from(limit.requests.max(1))).max(1);
        let as_argument = |micros: u64| i64::try_from(micros).unwrap_or(i64::MAX);
        Self {
            key: format!("geo-router:rate:{}", client_key(client)),
            arguments: [
                as_argument(now_ms.saturating_mul(1000)),
                as_argument(interval_us),
                as_argument(window_us),
            ],
        }
    }
}

/// The verdict on the script's reply.
pub fn verdict(reply: i64) -> Verdict {
    if reply >= 0 {
        return Verdict::Allowed;
    }
    let wait_us = reply.unsigned_abs();
    Verdict::Limited {
        retry_after_secs: wait_us.div_ceil(1_000_000).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        requests: 4,
        window_ms: 10_000,
    };

    #[test]
    fn the_arguments_are_now_one_requests_interval_and_the_window_in_microseconds() {
        let check = Check::at("192.0.2.1".parse().ok(), LIMIT, 1_500);
        assert_eq!(check.key, "geo-router:rate:192.0.2.1");
        assert_eq!(check.arguments, [1_500_000, 2_500_000, 10_000_000]);
    }

    #[test]
    fn a_client_has_one_key_whenever_it_asks() {
        let client = "192.0.2.1".parse().ok();
        assert_eq!(
            Check::at(client, LIMIT, 9_999).key,
            Check::at(client, LIMIT, 10_000).key
        );
    }

    #[test]
    fn a_zero_limit_still_gives_a_positive_interval() {
        let none = Limit {
            requests: 0,
            window_ms: 0,
        };
        assert_eq!(Check::at(None, none, 0).arguments, [0, 1_000, 1_000]);
    }

    #[test]
    fn a_negative_reply_says_when_to_retry_in_whole_seconds() {
        assert_eq!(verdict(0), Verdict::Allowed);
        assert_eq!(verdict(3), Verdict::Allowed);
        assert_eq!(
            verdict(-1),
            Verdict::Limited {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            verdict(-2_000_001),
            Verdict::Limited {
                retry_after_secs: 3
            }
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let key = |text: &str| Check::at(text.parse().ok(), LIMIT, 0).key;
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("192.0.2.1"), Check::at(None, LIMIT, 0).key);
    }
}
