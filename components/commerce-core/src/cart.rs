//! The cart as stored in the key-value store.
//!
//! The store has no TTL, so the value carries its own `updated_at` and a cart idle for
//! longer than [`INACTIVITY_EXPIRY_SECS`] reads as empty. Only course ids are stored:
//! titles and prices are always read fresh from the catalog.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most courses one cart may hold; keeps checkout statements and pages small.
pub const MAX_ITEMS: usize = 50;
/// A cart untouched for 30 days is forgotten.
pub const INACTIVITY_EXPIRY_SECS: i64 = 30 * 24 * 60 * 60;
/// Name of the cookie identifying an anonymous cart.
pub const ANONYMOUS_CART_COOKIE: &str = "cp_cart";

/// Whose cart a key-value entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartOwner {
    User(Uuid),
    /// A visitor before login, identified by the random token in the `cp_cart` cookie.
    Anonymous(Uuid),
}

impl CartOwner {
    /// The key-value key; users and visitors live in separate namespaces.
    pub fn key(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Anonymous(token) => format!("anon:{token}"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CartError {
    #[error("a cart holds at most {MAX_ITEMS} courses")]
    Full,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCart {
    /// Course ids in the order they were added, without duplicates.
    pub course_ids: Vec<Uuid>,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

impl StoredCart {
    /// Decodes a stored value; an expired or unreadable value is an empty cart (the
    /// cart is a convenience, never worth an error page).
    pub fn decode(bytes: Option<&[u8]>, now: i64) -> Self {
        bytes
            .and_then(|bytes| serde_json::from_slice::<StoredCart>(bytes).ok())
            .filter(|cart| !cart.is_expired(now))
            .unwrap_or_default()
    }

    pub fn encode(&self) -> Vec<u8> {
        // A struct of ids and an integer always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn is_expired(&self, now: i64) -> bool {
        now - self.updated_at > INACTIVITY_EXPIRY_SECS
    }

    pub fn is_empty(&self) -> bool {
        self.course_ids.is_empty()
    }

    pub fn contains(&self, course_id: Uuid) -> bool {
        self.course_ids.contains(&course_id)
    }

    /// Adds a course; adding one already there is a no-op (PUT is idempotent).
    pub fn add(&mut self, course_id: Uuid, now: i64) -> Result<(), CartError> {
        if !self.contains(course_id) {
            if self.course_ids.len() >= MAX_ITEMS {
                return Err(CartError::Full);
            }
            self.course_ids.push(course_id);
        }
        self.updated_at = now;
        Ok(())
    }

    /// Removes a course; removing one not there is a no-op (DELETE is idempotent).
    pub fn remove(&mut self, course_id: Uuid, now: i64) {
        self.course_ids.retain(|id| *id != course_id);
        self.updated_at = now;
    }

    /// Keeps only the courses `keep` accepts (still on sale, not yet owned).
    /// Returns whether anything was dropped, so callers store the cart only then.
    pub fn retain(&mut self, keep: impl Fn(Uuid) -> bool) -> bool {
        let before = self.course_ids.len();
        self.course_ids.retain(|id| keep(*id));
        before != self.course_ids.len()
    }

    /// Folds a visitor's cart into the user's at login: the user's lines first, then
    /// the visitor's new ones, up to [`MAX_ITEMS`] (extra lines are dropped, not refused:
    /// logging in must not fail).
    pub fn merge(&mut self, anonymous: &StoredCart, now: i64) {
        for course_id in &anonymous.course_ids {
            if self.course_ids.len() >= MAX_ITEMS {
                break;
            }
            if !self.contains(*course_id) {
                self.course_ids.push(*course_id);
            }
        }
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn keys_separate_users_from_visitors() {
        assert_eq!(CartOwner::User(id(1)).key(), format!("user:{}", id(1)));
        assert_ne!(
            CartOwner::User(id(1)).key(),
            CartOwner::Anonymous(id(1)).key()
        );
    }

    #[test]
    fn adding_twice_keeps_one_line() {
        let mut cart = StoredCart::default();
        cart.add(id(1), 10).expect("room");
        cart.add(id(1), 11).expect("room");
        assert_eq!(cart.course_ids, vec![id(1)]);
        assert_eq!(cart.updated_at, 11);
    }

    #[test]
    fn refuses_more_than_the_maximum() {
        let mut cart = StoredCart::default();
        for n in 0..MAX_ITEMS as u128 {
            cart.add(id(n), 0).expect("room");
        }
        assert_eq!(cart.add(id(999), 0), Err(CartError::Full));
        // Re-adding an existing line is still fine when full.
        assert_eq!(cart.add(id(0), 0), Ok(()));
    }

    #[test]
    fn idle_cart_reads_as_empty() {
        let mut cart = StoredCart::default();
        cart.add(id(1), 100).expect("room");
        let bytes = cart.encode();
        assert_eq!(StoredCart::decode(Some(&bytes), 100 + 60), cart);
        let later = 100 + INACTIVITY_EXPIRY_SECS + 1;
        assert!(StoredCart::decode(Some(&bytes), later).is_empty());
    }

    #[test]
    fn garbage_reads_as_empty() {
        assert!(StoredCart::decode(Some(b"not json"), 0).is_empty());
        assert!(StoredCart::decode(None, 0).is_empty());
    }

    #[test]
    fn merge_appends_new_lines_and_caps_the_size() {
        let mut user = StoredCart::default();
        user.add(id(1), 0).expect("room");
        let mut visitor = StoredCart::default();
        visitor.add(id(1), 0).expect("room");
        visitor.add(id(2), 0).expect("room");
        user.merge(&visitor, 5);
        assert_eq!(user.course_ids, vec![id(1), id(2)]);
        assert_eq!(user.updated_at, 5);

        let mut full = StoredCart::default();
        for n in 100..100 + MAX_ITEMS as u128 {
            full.add(id(n), 0).expect("room");
        }
        full.merge(&visitor, 0);
        assert_eq!(full.course_ids.len(), MAX_ITEMS);
    }

    #[test]
    fn retain_reports_whether_lines_were_dropped() {
        let mut cart = StoredCart::default();
        cart.add(id(1), 0).expect("room");
        cart.add(id(2), 0).expect("room");
        assert!(!cart.retain(|_| true));
        assert!(cart.retain(|course| course != id(2)));
        assert_eq!(cart.course_ids, vec![id(1)]);
    }
}
