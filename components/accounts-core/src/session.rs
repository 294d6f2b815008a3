//! Server-side sessions kept in a key-value store.
//!
//! The cookie carries only a random 256-bit id. The store keys records by the SHA-256 of
//! that id, so a dump of the store yields no usable cookies. The store has no TTL, so each
//! record carries its own expiry and readers treat an expired record as absent.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Role;

const ID_BYTES: usize = 32;
const KEY_PREFIX: &str = "session:";

/// However active a session is, it ends this long after sign-in (NIST 800-63B reauthentication).
pub const MAX_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;

/// A session id: the secret held in the `cp_session` cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; ID_BYTES]);

/// Never print the secret, even in debug logs.
impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

impl SessionId {
    /// A fresh id from the operating system's CSPRNG (WASI `random` inside a component).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Reads a cookie value; anything but 64 lowercase hex digits is no session.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != ID_BYTES * 2 {
            return None;
        }
        let mut bytes = [0u8; ID_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            *byte = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
        }
        Some(Self(bytes))
    }

    /// The value placed in the cookie.
    pub fn to_cookie_value(&self) -> String {
        hex(&self.0)
    }

    /// Where the session record is stored: derived one-way from the id.
    pub fn storage_key(&self) -> String {
        format!("{KEY_PREFIX}{}", hex(&Sha256::digest(self.0)))
    }
}

/// A signed-in user's session, as stored (JSON) under [`SessionId::storage_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: Uuid,
    pub role: Role,
    pub email: String,
    /// Unix seconds of sign-in; bounds renewal by [`MAX_LIFETIME_SECS`].
    pub issued_at: i64,
    /// Unix seconds after which the session is gone, whatever the store still holds.
    pub expires_at: i64,
    /// The idle timeout chosen at sign-in, so any component can renew without configuration.
    pub idle_timeout_secs: i64,
}

impl Session {
    pub fn start(
        user_id: Uuid,
        role: Role,
        email: String,
        now: i64,
        idle_timeout_secs: i64,
    ) -> Self {
        let idle_timeout_secs = idle_timeout_secs.clamp(1, MAX_LIFETIME_SECS);
        Self {
            user_id,
            role,
            email,
            issued_at: now,
            expires_at: now + idle_timeout_secs,
            idle_timeout_secs,
        }
    }

    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Seconds left, for the cookie's `Max-Age`.
    pub fn remaining_secs(&self, now: i64) -> i64 {
        (self.expires_at - now).max(0)
    }

    /// Sliding expiry: once less than half the idle timeout is left, a request extends the
    /// session to a full idle timeout again (never past the maximum lifetime). Renewing only
    /// past half-time keeps most requests free of a store write.
    pub fn renewed(&self, now: i64) -> Option<Self> {
        if !self.is_live(now) || self.remaining_secs(now) * 2 >= self.idle_timeout_secs {
            return None;
        }
        let expires_at = (now + self.idle_timeout_secs).min(self.issued_at + MAX_LIFETIME_SECS);
        (expires_at > self.expires_at).then(|| Self {
            expires_at,
            ..self.clone()
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 60 * 60;

    fn session(now: i64) -> Session {
        Session::start(
            Uuid::nil(),
            Role::Student,
            "ann@example.com".into(),
            now,
            7 * DAY,
        )
    }

    #[test]
    fn ids_are_random_and_round_trip_through_the_cookie() {
        let first = SessionId::generate().expect("random");
        let second = SessionId::generate().expect("random");
        assert_ne!(first, second);
        let value = first.to_cookie_value();
        assert_eq!(value.len(), 64);
        assert_eq!(SessionId::parse(&value), Some(first));
    }

    #[test]
    fn malformed_cookie_values_are_no_session() {
        let valid = SessionId::generate().expect("random").to_cookie_value();
        for bad in [
            "".to_owned(),
            valid[..63].to_owned(),
            format!("{valid}0"),
            valid.to_uppercase(),
            format!("{}g", &valid[..63]),
            format!("{}é", &valid[..62]),
        ] {
            assert_eq!(SessionId::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn storage_key_does_not_contain_the_id() {
        let id = SessionId::generate().expect("random");
        let key = id.storage_key();
        assert!(key.starts_with("session:"));
        assert!(!key.contains(&id.to_cookie_value()));
        assert_eq!(key, id.clone().storage_key(), "stable for the same id");
        assert_eq!(format!("{id:?}"), "SessionId(..)");
    }

    #[test]
    fn expires_after_the_idle_timeout() {
        let session = session(1_000);
        assert!(session.is_live(1_000 + 7 * DAY - 1));
        assert!(!session.is_live(1_000 + 7 * DAY));
        assert_eq!(session.remaining_secs(1_000 + 8 * DAY), 0);
    }

    #[test]
    fn renews_only_past_half_time() {
        let session = session(0);
        assert_eq!(session.renewed(3 * DAY), None);
        let renewed = session.renewed(4 * DAY).expect("renewed");
        assert_eq!(renewed.expires_at, 11 * DAY);
        assert_eq!(renewed.issued_at, 0);
    }

    #[test]
    fn expired_sessions_are_not_revived() {
        assert_eq!(session(0).renewed(7 * DAY), None);
    }

    #[test]
    fn renewal_stops_at_the_maximum_lifetime() {
        let mut session = session(0);
        let mut now = 0;
        while session.is_live(now) {
            if let Some(renewed) = session.renewed(now) {
                session = renewed;
            }
            now += DAY;
        }
        assert_eq!(session.expires_at, MAX_LIFETIME_SECS);
    }

    #[test]
    fn stored_record_round_trips_as_json() {
        let session = session(5);
        let json = serde_json::to_string(&session).expect("serializes");
        assert_eq!(
            serde_json::from_str::<Session>(&json).expect("parses"),
            session
        );
    }
}
