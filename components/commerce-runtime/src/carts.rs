//! Carts in the key-value store `carts` (list it in the component's `key_value_stores`),
//! with their signed copy in the browser (`commerce_core::cart_copy`) for when the cart's
//! home region is down.

use commerce_core::cart::{CartOwner, INACTIVITY_EXPIRY_SECS, StoredCart};
use commerce_core::cart_copy::{self, CopyKey, Reconciled};
use commerce_core::views::problems;
use http::HeaderMap;
use platform::ApiError;
use platform::request::CART_HOME_HEADER;
use spin_sdk::key_value::Store;

pub const STORE: &str = "carts";

/// This region's carts, as one request sees them.
pub struct Carts {
    store: Store,
    /// `None` without `cart_copy_secret`: one region, nowhere else to recover a cart.
    copy_key: Option<CopyKey>,
    /// The browser's `cp_cart_copy` cookie.
    presented_copy: Option<String>,
    /// The cart's home region, when the router serves the request here because it did
    /// not answer.
    home_elsewhere: Option<String>,
}

impl Carts {
    pub async fn open(headers: &HeaderMap) -> Result<Carts, ApiError> {
        let store = runtime::kv::open(STORE).await?;
        let copy_key = runtime::vars::optional("cart_copy_secret")
            .await
            .and_then(|secret| CopyKey::derive(&secret));
        let home_elsewhere = headers
            .get(CART_HOME_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Carts {
            store,
            copy_key,
            presented_copy: platform::request::cookie(headers, cart_copy::COOKIE),
            home_elsewhere,
        })
    }

    /// The owner's cart in this region only; missing, expired or unreadable values read
    /// as empty.
    pub async fn stored(&self, owner: CartOwner, now: i64) -> Result<StoredCart, ApiError> {
        let value = self
            .store
            .get(owner.key())
            .await
            .map_err(|error| unavailable(format!("cart store: {error:?}")))?;
        Ok(StoredCart::decode(value.as_deref(), now))
    }

    /// The owner's cart: this region's, or the browser's copy when that is newer (it is
    /// then kept here: the cart has moved to this region).
    pub async fn load(&self, owner: CartOwner, now: i64) -> Result<StoredCart, ApiError> {
        let stored = self.stored(owner, now).await?;
        let copy = match (&self.copy_key, &self.presented_copy) {
            (Some(key), Some(value)) => key.open(owner, value, now),
            _ => None,
        };
        match cart_copy::reconcile(stored, copy, self.home_elsewhere.is_some()) {
            Reconciled::Stored(cart) => Ok(cart),
            Reconciled::Restored(cart) => {
                self.save(owner, &cart).await?;
                Ok(cart)
            }
            Reconciled::Unavailable => Err(problems::cart_unavailable(
                self.home_elsewhere.as_deref().unwrap_or("elsewhere"),
            )),
        }
    }

    pub async fn save(&self, owner: CartOwner, cart: &StoredCart) -> Result<(), ApiError> {
        if cart.is_empty() {
            return self.clear(owner).await;
        }
        self.store
            .set(owner.key(), cart.encode())
            .await
            .map_err(|error| unavailable(format!("cart store: {error:?}")))
    }

    pub async fn clear(&self, owner: CartOwner) -> Result<(), ApiError> {
        runtime::kv::delete(&self.store, &owner.key()).await
    }

    /// `Set-Cookie` value giving the browser the copy of `cart` as answered at `now`.
    pub fn copy_cookie(&self, owner: CartOwner, cart: &StoredCart, now: i64) -> Option<String> {
        let key = self.copy_key.as_ref()?;
        // An empty cart is empty as of now, whenever it last held something.
        let as_answered = StoredCart {
            course_ids: cart.course_ids.clone(),
            updated_at: if cart.is_empty() {
                now
            } else {
                cart.updated_at
            },
        };
        let cookie = cookie::Cookie::build((cart_copy::COOKIE, key.seal(owner, &as_answered)))
            .path("/api")
            .http_only(true)
            .secure(true)
            .same_site(cookie::SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(INACTIVITY_EXPIRY_SECS))
            .build();
        Some(cookie.to_string())
    }
}

fn unavailable(cause: String) -> ApiError {
    ApiError::service_unavailable("the cart store is unavailable; try again shortly", 5, cause)
}
