//! JSON values in Spin key-value stores, with store failures mapped to [`ApiError`] once.
//!
//! The store has no TTL: values that must expire carry their own expiry (see
//! `accounts_core::Session::expires_at`) and readers check it.

use platform::ApiError;
use platform::log::{Event, Logger};
use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::key_value::{Error, Store};

/// How long clients should wait before retrying when the store's backend is unreachable.
const RETRY_AFTER_SECS: u64 = 5;

/// Opens a store the component lists in `key_value_stores`.
pub async fn open(label: &str) -> Result<Store, ApiError> {
    Store::open(label)
        .await
        .map_err(|error| store_error(label, error))
}

/// Reads and decodes `key`. A value that no longer decodes (its format changed in a later
/// deploy) counts as absent rather than failing every request that touches it.
pub async fn get_json<T: DeserializeOwned>(
    store: &Store,
    key: &str,
) -> Result<Option<T>, ApiError> {
    let Some(bytes) = store
        .get(key)
        .await
        .map_err(|error| store_error(key, error))?
    else {
        return Ok(None);
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok(Some(value)),
        Err(error) => {
            // Rare (a deploy changed the format) and with no request at hand: uncorrelated.
            Logger::uncorrelated("runtime").error(Event::EntryUnreadable, error);
            Ok(None)
        }
    }
}

pub async fn set_json<T: Serialize>(store: &Store, key: &str, value: &T) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
    store
        .set(key, bytes)
        .await
        .map_err(|error| store_error(key, error))
}

pub async fn delete(store: &Store, key: &str) -> Result<(), ApiError> {
    store
        .delete(key)
        .await
        .map_err(|error| store_error(key, error))
}

/// A missing or forbidden store is a manifest bug (500); anything else is the backend
/// (e.g. Redis) being unreachable, which clients may retry (503).
fn store_error(what: &str, error: Error) -> ApiError {
    match error {
        Error::NoSuchStore | Error::AccessDenied | Error::StoreTableFull => {
            ApiError::internal(format!("key-value store ({what}): {error:?}"))
        }
        Error::Other(detail) => ApiError::service_unavailable(
            "a storage service is unavailable; try again shortly",
            RETRY_AFTER_SECS,
            format!("key-value store unavailable: {detail}"),
        ),
    }
}
