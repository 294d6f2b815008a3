//! Login throttling: after too many failures within a window, sign-in is refused with 429.
//!
//! Failures are counted per normalized email (guessing one account's password) and per
//! client address (spraying many accounts). The key-value store has no TTL, so each
//! counter carries its window start and a stale window counts as empty.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Failures seen since `window_start` (unix seconds), as stored in the key-value store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureWindow {
    pub window_start: i64,
    pub failures: u32,
}

/// How many failures a window allows before further attempts are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    pub window_secs: i64,
}

impl ThrottlePolicy {
    /// `Some(seconds to wait)` when this counter has used up its window, else `None`.
    pub fn retry_after(&self, window: Option<&FailureWindow>, now: i64) -> Option<u64> {
        let window = window.filter(|window| self.is_current(window, now))?;
        let ends_at = window.window_start + self.window_secs;
        (window.failures >= self.max_failures).then(|| (ends_at - now).max(1).unsigned_abs())
    }

    /// The counter after one more failure; an expired window starts afresh.
    pub fn record_failure(&self, window: Option<FailureWindow>, now: i64) -> FailureWindow {
        match window.filter(|window| self.is_current(window, now)) {
            Some(window) => FailureWindow {
                failures: window.failures.saturating_add(1),
                ..window
            },
            None => FailureWindow {
                window_start: now,
                failures: 1,
            },
        }
    }

    fn is_current(&self, window: &FailureWindow, now: i64) -> bool {
        now < window.window_start + self.window_secs
    }
}

/// Counter key for an email; hashed so the store does not list who tried to sign in.
pub fn email_key(normalized_email: &str) -> String {
    let digest = Sha256::digest(normalized_email.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("login-failures:email:{hex}")
}

/// Counter key for a client address such as Spin's `spin-client-addr` (`ip:port`): the port
/// changes per connection, so only the IP counts.
pub fn client_key(client_addr: &str) -> Option<String> {
    let ip = match client_addr.parse::<std::net::SocketAddr>() {
        Ok(socket) => socket.ip(),
        Err(_) => client_addr.parse::<std::net::IpAddr>().ok()?,
    };
    Some(format!("login-failures:client:{ip}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 3,
        window_secs: 900,
    };

    fn after_failures(count: u32, now: i64) -> Option<FailureWindow> {
        (0..count).fold(None, |window, _| Some(POLICY.record_failure(window, now)))
    }

    #[test]
    fn allows_attempts_until_the_limit() {
        assert_eq!(POLICY.retry_after(None, 0), None);
        assert_eq!(POLICY.retry_after(after_failures(2, 0).as_ref(), 10), None);
    }

    #[test]
    fn refuses_at_the_limit_until_the_window_ends() {
        let window = after_failures(3, 100);
        assert_eq!(POLICY.retry_after(window.as_ref(), 400), Some(600));
        assert_eq!(POLICY.retry_after(window.as_ref(), 999), Some(1));
        assert_eq!(POLICY.retry_after(window.as_ref(), 1000), None);
    }

    #[test]
    fn an_old_window_starts_over() {
        let window = POLICY.record_failure(after_failures(3, 0), 5_000);
        assert_eq!(
            window,
            FailureWindow {
                window_start: 5_000,
                failures: 1
            }
        );
    }

    #[test]
    fn keys_hide_the_email_and_ignore_the_port() {
        let key = email_key("ann@example.com");
        assert!(!key.contains("ann"), "{key}");
        assert_eq!(key, email_key("ann@example.com"));
        assert_eq!(
            client_key("203.0.113.9:51234").as_deref(),
            Some("login-failures:client:203.0.113.9")
        );
        assert_eq!(
            client_key("[2001:db8::1]:443").as_deref(),
            Some("login-failures:client:2001:db8::1")
        );
        assert_eq!(client_key("not an address"), None);
    }
}
