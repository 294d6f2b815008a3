//! PostgreSQL connections from the `database_url` variable.

use platform::ApiError;
use spin_sdk::pg::Connection;

/// How long clients should wait before retrying when PostgreSQL is unreachable.
const RETRY_AFTER_SECS: u64 = 5;

/// Opens a (host-pooled) connection; an unreachable database is a 503, not a 500.
pub async fn connect() -> Result<Connection, ApiError> {
    let url = crate::vars::required("database_url").await?;
    Connection::open(url).await.map_err(|error| {
        eprintln!("database connection failed: {error}");
        unavailable()
    })
}

/// The 503 answered while the database cannot be reached.
pub fn unavailable() -> ApiError {
    ApiError::ServiceUnavailable {
        detail: "the database is unavailable; try again shortly".into(),
        retry_after_secs: RETRY_AFTER_SECS,
    }
}

/// Maps a query failure: connection-level errors are 503, anything else is a bug (500).
pub fn query_error(error: spin_sdk::pg::Error) -> ApiError {
    match error {
        spin_sdk::pg::Error::PgError(spin_sdk::pg::PgError::ConnectionFailed(_)) => unavailable(),
        other => ApiError::internal(format!("query failed: {other}")),
    }
}
