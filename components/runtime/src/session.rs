//! The signed-in user behind a request, for every component.
//!
//! Sessions live in the key-value store [`STORE`] (list it in the component's
//! `key_value_stores`), keyed by a hash of the `cp_session` cookie's id. The accounts
//! component creates and deletes them; every other component only reads them here.

use http::HeaderMap;
use platform::ApiError;

pub use accounts_core::{Role, Session, SessionId};

/// Label of the key-value store holding sessions.
pub const STORE: &str = "sessions";

/// The request's live session, or `None` without a valid cookie or once it expired.
///
/// Renews the session's sliding expiry when it is past half-time (see
/// [`Session::renewed`]); the accounts component re-sends the cookie on `GET /api/me`.
pub async fn current(headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    let Some(id) = accounts_core::session_cookie::session_id(headers) else {
        return Ok(None);
    };
    let store = crate::kv::open(STORE).await?;
    let key = id.storage_key();
    let Some(session) = crate::kv::get_json::<Session>(&store, &key).await? else {
        return Ok(None);
    };
    let now = unix_now()?;
    if !session.is_live(now) {
        // The store has no TTL: clean up here so dead sessions do not pile up.
        crate::kv::delete(&store, &key).await?;
        return Ok(None);
    }
    match session.renewed(now) {
        Some(renewed) => {
            crate::kv::set_json(&store, &key, &renewed).await?;
            Ok(Some(renewed))
        }
        None => Ok(Some(session)),
    }
}

/// The signed-in user, or 401.
pub async fn require_user(headers: &HeaderMap) -> Result<Session, ApiError> {
    current(headers).await?.ok_or(ApiError::Unauthorized)
}

/// A signed-in admin: 401 when not signed in, 403 when signed in without the admin role.
pub async fn require_admin(headers: &HeaderMap) -> Result<Session, ApiError> {
    let session = require_user(headers).await?;
    if session.is_admin() {
        Ok(session)
    } else {
        Err(ApiError::Forbidden(
            "this action needs an administrator".into(),
        ))
    }
}

/// Current time in unix seconds (WASI wall clock).
pub fn unix_now() -> Result<i64, ApiError> {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(ApiError::internal)?;
    i64::try_from(elapsed.as_secs()).map_err(ApiError::internal)
}
