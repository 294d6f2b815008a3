//! Runs catalog-core statements through Spin's PostgreSQL interface.

use catalog_core::sql::{SqlParam, Statement};
use platform::ApiError;
use platform::log::Event;
use platform::replication::{Lsn, ReadFrom};
use spin_sdk::pg::{Connection, DbError, Error, ParameterValue, PgError, QueryError, Row};

use crate::edge_cache::EdgeCache;

/// Opens a pooled connection to the primary; unreachable is a 503.
pub async fn connect() -> Result<Connection, ApiError> {
    runtime::db::connect().await
}

/// A connection for a public read (a cache refill): this region's replica when the router
/// allows it and the replica has replayed the newest catalog write the region has heard of;
/// otherwise, or when the replica is out of reach, the primary.
pub async fn connect_reader(cache: &EdgeCache) -> Result<Connection, ApiError> {
    if cache.read_from == ReadFrom::Replica
        && let Some(replica) = usable_replica(cache).await
    {
        return Ok(replica);
    }
    connect().await
}

async fn usable_replica(cache: &EdgeCache) -> Option<Connection> {
    let url = runtime::vars::optional("replica_database_url").await?;
    let replica = match Connection::open(url).await {
        Ok(replica) => replica,
        Err(error) => {
            cache.logger.error(Event::ReplicaSkipped, error);
            return None;
        }
    };
    let Some(floor) = cache.replica_floor().await else {
        return Some(replica);
    };
    let replayed = replay_position(&replica).await;
    (replayed >= Some(floor)).then_some(replica)
}

async fn replay_position(replica: &Connection) -> Option<Lsn> {
    wal_position(replica, "select pg_last_wal_replay_lsn()::text as value").await
}

/// The primary's WAL position now: after a write, the point a replica must reach to show it.
pub async fn primary_position(db: &Connection) -> Option<Lsn> {
    wal_position(db, "select pg_current_wal_lsn()::text as value").await
}

async fn wal_position(db: &Connection, sql: &str) -> Option<Lsn> {
    let statement = Statement {
        sql: sql.to_owned(),
        params: Vec::new(),
    };
    let row = optional_row(db, &statement).await.ok()??;
    row.get::<Option<String>>("value")??.parse().ok()
}

fn parameter(param: &SqlParam) -> ParameterValue {
    match param {
        SqlParam::Text(text) => ParameterValue::Str(text.clone()),
        SqlParam::Int(number) => ParameterValue::Int64(*number),
        SqlParam::Bool(flag) => ParameterValue::Boolean(*flag),
    }
}

/// All rows of a statement, or the driver's error for callers that inspect it.
pub async fn try_rows(db: &Connection, statement: &Statement) -> Result<Vec<Row>, Error> {
    let params: Vec<ParameterValue> = statement.params.iter().map(parameter).collect();
    db.query(statement.sql.as_str(), params)
        .await?
        .collect()
        .await
}

/// All rows of a statement.
pub async fn rows(db: &Connection, statement: &Statement) -> Result<Vec<Row>, ApiError> {
    try_rows(db, statement)
        .await
        .map_err(runtime::db::query_error)
}

/// The single row a statement returns, if any.
pub async fn optional_row(db: &Connection, statement: &Statement) -> Result<Option<Row>, ApiError> {
    Ok(rows(db, statement).await?.into_iter().next())
}

/// A UNIQUE constraint refused the write (SQLSTATE 23505).
pub fn is_unique_violation(error: &Error) -> bool {
    matches!(
        error,
        Error::PgError(PgError::QueryFailed(QueryError::DbError(DbError { code, .. }))) if code == "23505"
    )
}
