//! PostgreSQL connections from the `database_url` variable.

use platform::ApiError;
use spin_sdk::pg::{Connection, DbError, Decode, Error, PgError, QueryError, Row};

/// How long clients should wait before retrying when PostgreSQL is unreachable.
const RETRY_AFTER_SECS: u64 = 5;

/// Opens a (host-pooled) connection; an unreachable database is a 503, not a 500.
pub async fn connect() -> Result<Connection, ApiError> {
    let url = crate::vars::required("database_url").await?;
    Connection::open(url)
        .await
        .map_err(|error| unavailable(format!("database connection failed: {error}")))
}

/// The 503 answered while the database cannot be reached; `cause` goes to the log.
pub fn unavailable(cause: impl std::fmt::Display) -> ApiError {
    ApiError::service_unavailable(
        "the database is unavailable; try again shortly",
        RETRY_AFTER_SECS,
        cause,
    )
}

/// Whether a failure means the database is out of reach rather than a bug in our SQL:
/// lost connections and shutdowns (SQLSTATE classes 08, 57: a restart ends every session
/// with `57P01`), exhausted resources (53), a dropped database (3D), and a primary that
/// has become a read-only standby (25006) during a failover.
pub fn is_unreachable(error: &Error) -> bool {
    match error {
        Error::PgError(PgError::ConnectionFailed(_)) => true,
        // No structured PostgreSQL error: the transport failed, not the statement.
        Error::PgError(PgError::QueryFailed(QueryError::Text(_))) => true,
        Error::PgError(PgError::QueryFailed(QueryError::DbError(DbError { code, .. }))) => {
            code == "25006"
                || ["08", "57", "53", "3D"]
                    .iter()
                    .any(|class| code.starts_with(class))
        }
        _ => false,
    }
}

/// The one mapping of a query failure to HTTP: unreachable is 503 with `Retry-After`
/// (the same outage answers the same everywhere), anything else is a bug (500).
pub fn query_error(error: Error) -> ApiError {
    if is_unreachable(&error) {
        unavailable(format!("database unreachable: {error}"))
    } else {
        ApiError::internal(format!("query failed: {error}"))
    }
}

/// A column the statement guarantees; absence or a type mismatch is a bug in our SQL.
pub fn column<T: Decode>(row: &Row, name: &str) -> Result<T, ApiError> {
    row.get::<T>(name)
        .ok_or_else(|| ApiError::internal(format!("column {name} missing or mistyped")))
}
