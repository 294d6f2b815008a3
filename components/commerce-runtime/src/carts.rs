//! Carts in the key-value store `carts` (list it in the component's `key_value_stores`).

use commerce_core::cart::{CartOwner, StoredCart};
use platform::ApiError;

pub const STORE: &str = "carts";

pub async fn open() -> Result<spin_sdk::key_value::Store, ApiError> {
    runtime::kv::open(STORE).await
}

/// The owner's cart; missing, expired or unreadable values read as empty.
pub async fn load(
    store: &spin_sdk::key_value::Store,
    owner: CartOwner,
    now: i64,
) -> Result<StoredCart, ApiError> {
    let value = store.get(owner.key()).await.map_err(|error| {
        eprintln!("cart store unavailable: {error:?}");
        unavailable()
    })?;
    Ok(StoredCart::decode(value.as_deref(), now))
}

pub async fn save(
    store: &spin_sdk::key_value::Store,
    owner: CartOwner,
    cart: &StoredCart,
) -> Result<(), ApiError> {
    if cart.is_empty() {
        return runtime::kv::delete(store, &owner.key()).await;
    }
    store
        .set(owner.key(), cart.encode())
        .await
        .map_err(|error| {
            eprintln!("cart store unavailable: {error:?}");
            unavailable()
        })
}

pub async fn clear(store: &spin_sdk::key_value::Store, owner: CartOwner) -> Result<(), ApiError> {
    runtime::kv::delete(store, &owner.key()).await
}

fn unavailable() -> ApiError {
    ApiError::ServiceUnavailable {
        detail: "the cart store is unavailable; try again shortly".into(),
        retry_after_secs: 5,
    }
}
