//! The cart's copy in the browser, so a cart outlives the region that keeps it.
//!
//! A cart lives in its home region's key-value store. Every cart answer also sets the
//! `cp_cart_copy` cookie: the cart's course ids and time of change, signed with a key all
//! regions share and bound to the cart's owner. When the home region is down, the region
//! that takes the request verifies the copy and keeps the cart from then on (the router
//! re-homes it). The store stays the fast path: the copy is only read when it is newer.
//!
//! Value: `v1.<updated_at>.<ids, 16 bytes each, base64url>.<HMAC-SHA256, base64url>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::cart::{CartOwner, MAX_ITEMS, StoredCart};

pub const COOKIE: &str = "cp_cart_copy";
const VERSION: &str = "v1";
/// Separates this key from any other use of the shared secret.
const KEY_CONTEXT: &[u8] = b"course-platform cart copy v1";

/// The signing key, derived from the regions' shared secret.
#[derive(Clone)]
pub struct CopyKey([u8; 32]);

impl std::fmt::Debug for CopyKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("CopyKey(<redacted>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac_with(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

impl CopyKey {
    /// `None` for an empty secret: a single region has no other region to recover in.
    pub fn derive(shared_secret: &str) -> Option<CopyKey> {
        let secret = shared_secret.trim();
        if secret.is_empty() {
            return None;
        }
        let mut mac = mac_with(secret.as_bytes());
        mac.update(KEY_CONTEXT);
        Some(CopyKey(mac.finalize().into_bytes().into()))
    }

    fn mac(&self, owner: CartOwner, updated_at: i64, ids: &str) -> HmacSha256 {
        let mut mac = mac_with(&self.0);
        for part in [owner.key().as_str(), &updated_at.to_string(), ids] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    /// The cookie value for `owner`'s cart.
    pub fn seal(&self, owner: CartOwner, cart: &StoredCart) -> String {
        let bytes: Vec<u8> = cart
            .course_ids
            .iter()
            .flat_map(|id| *id.as_bytes())
            .collect();
        let ids = URL_SAFE_NO_PAD.encode(bytes);
        let tag = self
            .mac(owner, cart.updated_at, &ids)
            .finalize()
            .into_bytes();
        format!(
            "{VERSION}.{}.{ids}.{}",
            cart.updated_at,
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The cart in a cookie value, if this key signed it for `owner` and it has not expired.
    pub fn open(&self, owner: CartOwner, value: &str, now: i64) -> Option<StoredCart> {
        let mut parts = value.split('.');
        let (Some(VERSION), Some(updated_at), Some(ids), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let updated_at: i64 = updated_at.parse().ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(owner, updated_at, ids).verify_slice(&tag).ok()?;
        let bytes = URL_SAFE_NO_PAD.decode(ids).ok()?;
        if bytes.len() % 16 != 0 || bytes.len() / 16 > MAX_ITEMS {
            return None;
        }
        let course_ids = bytes
            .chunks_exact(16)
            .map(|chunk| Uuid::from_slice(chunk).ok())
            .collect::<Option<Vec<_>>>()?;
        let cart = StoredCart {
            course_ids,
            updated_at,
        };
        (!cart.is_expired(now)).then_some(cart)
    }
}

/// Which cart a request works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// The region's own copy is current.
    Stored(StoredCart),
    /// The browser's copy is newer (the cart's home region is another, or was): use it
    /// and keep it in this region's store.
    Restored(StoredCart),
    /// The cart's home region is not answering and the browser holds no copy: nothing
    /// here can say what the cart holds.
    Unavailable,
}

/// Chooses between the region's stored cart and the browser's verified copy.
/// `away_from_home`: the request is served here because the cart's home did not answer.
pub fn reconcile(stored: StoredCart, copy: Option<StoredCart>, away_from_home: bool) -> Reconciled {
    match copy {
        // The same courses: nothing to write (an empty cart's copy is newer every time).
        Some(copy) if copy.course_ids == stored.course_ids => Reconciled::Stored(stored),
        Some(copy) if copy.updated_at > stored.updated_at => Reconciled::Restored(copy),
        Some(_) => Reconciled::Stored(stored),
        None if away_from_home => Reconciled::Unavailable,
        None => Reconciled::Stored(stored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn key() -> CopyKey {
        CopyKey::derive("shared secret").expect("a key")
    }

    fn cart(ids: usize, updated_at: i64) -> StoredCart {
        StoredCart {
            course_ids: (0..ids).map(|_| Uuid::now_v7()).collect(),
            updated_at,
        }
    }

    fn alice() -> CartOwner {
        CartOwner::User(Uuid::from_u128(1))
    }

    #[test]
    fn a_sealed_cart_opens_for_its_owner_only() {
        let full = cart(MAX_ITEMS, NOW);
        let value = key().seal(alice(), &full);
        assert!(value.len() < 1300, "{} bytes", value.len());
        assert_eq!(key().open(alice(), &value, NOW), Some(full));
        let bob = CartOwner::User(Uuid::from_u128(2));
        assert_eq!(key().open(bob, &value, NOW), None);
        let other_key = CopyKey::derive("another secret").expect("a key");
        assert_eq!(other_key.open(alice(), &value, NOW), None);
        let empty = cart(0, NOW);
        assert_eq!(
            key().open(alice(), &key().seal(alice(), &empty), NOW),
            Some(empty)
        );
    }

    #[test]
    fn tampered_or_expired_copies_are_refused() {
        let value = key().seal(alice(), &cart(2, NOW));
        let later = value.replacen(&NOW.to_string(), &(NOW + 1).to_string(), 1);
        assert_eq!(key().open(alice(), &later, NOW), None);
        assert_eq!(key().open(alice(), "v1.1.AAAA", NOW), None);
        assert_eq!(key().open(alice(), "garbage", NOW), None);
        let old = key().seal(alice(), &cart(1, 0));
        assert_eq!(key().open(alice(), &old, NOW), None);
    }

    #[test]
    fn no_secret_no_key_and_the_key_never_prints() {
        assert!(CopyKey::derive("  ").is_none());
        assert!(!format!("{:?}", key()).contains("shared"));
    }

    #[test]
    fn the_newer_cart_wins_and_a_lost_home_without_a_copy_is_unavailable() {
        let stored = cart(1, NOW - 10);
        let copy = cart(2, NOW);
        assert_eq!(
            reconcile(stored.clone(), Some(copy.clone()), true),
            Reconciled::Restored(copy.clone())
        );
        assert_eq!(
            reconcile(copy.clone(), Some(stored.clone()), false),
            Reconciled::Stored(copy)
        );
        assert_eq!(
            reconcile(StoredCart::default(), None, true),
            Reconciled::Unavailable
        );
        assert_eq!(
            reconcile(StoredCart::default(), Some(cart(0, NOW)), true),
            Reconciled::Stored(StoredCart::default()),
            "an empty copy of an empty cart writes nothing"
        );
        assert_eq!(
            reconcile(stored.clone(), None, false),
            Reconciled::Stored(stored)
        );
    }
}
