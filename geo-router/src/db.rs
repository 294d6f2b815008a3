//! WAL positions for read-your-writes, and the database checks of `/health`.

use geo_router_core::consistency::Lsn;
use spin_sdk::pg::Connection;

/// One text column of a one-row query; `None` when it is SQL NULL.
async fn single_text(url: &str, sql: &str) -> Result<Option<String>, String> {
    let connection = Connection::open(url)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let rows = connection
        .query(sql, Vec::new())
        .await
        .map_err(|error| format!("query: {error}"))?
        .collect()
        .await
        .map_err(|error| format!("query: {error}"))?;
    Ok(rows
        .first()
        .and_then(|row| row.get::<Option<String>>("value"))
        .flatten())
}

fn parse(value: Option<String>) -> Result<Option<Lsn>, String> {
    value.map(|text| text.parse()).transpose()
}

/// The primary's current WAL position: everything written so far is at or before it.
pub async fn primary_position(url: &str) -> Result<Lsn, String> {
    let value = single_text(url, "select pg_current_wal_lsn()::text as value").await?;
    parse(value)?.ok_or_else(|| "primary returned no WAL position".to_owned())
}

/// How far the replica has replayed; `None` if the server is not a replica.
pub async fn replica_position(url: &str) -> Result<Option<Lsn>, String> {
    parse(single_text(url, "select pg_last_wal_replay_lsn()::text as value").await?)
}

/// Seconds since the replica last replayed a transaction, when it is behind the primary.
pub async fn replica_lag_seconds(url: &str) -> Result<Option<f64>, String> {
    let sql = "select extract(epoch from now() - pg_last_xact_replay_timestamp())::text as value";
    Ok(single_text(url, sql)
        .await?
        .and_then(|text| text.parse().ok()))
}
