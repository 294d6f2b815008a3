//! The streaming replica every region reads (127.0.0.1:5433, `deploy/local-replica.sh`),
//! shared by all region tests of a process.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use spin_test_host::workspace_root;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::app::Database;

pub const REPLICA_PORT: u16 = 5433;
/// A bound, not a pause: CI loads the replica with every other test's databases.
pub const CATCH_UP_DEADLINE: Duration = Duration::from_secs(60);

/// The replica is shared by every test (physical replication): tests that pause its replay
/// take every share, the others one each.
const REPLICA_SHARES: u32 = 64;
static REPLICA: Semaphore = Semaphore::const_new(REPLICA_SHARES as usize);

/// A test's hold on the replica: shared, or exclusive for tests that pause its replay.
pub(crate) async fn hold(exclusive: bool) -> Result<SemaphorePermit<'static>> {
    Ok(if exclusive {
        REPLICA.acquire_many(REPLICA_SHARES).await?
    } else {
        REPLICA.acquire().await?
    })
}

pub fn replica_url(primary_url: &str) -> String {
    primary_url.replace(":5432/", &format!(":{REPLICA_PORT}/"))
}

async fn connect() -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={REPLICA_PORT} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .context("connecting to the replica (deploy/local-replica.sh start)")?;
    tokio::spawn(connection);
    Ok(client)
}

/// Runs SQL on the replica's `postgres` database (pausing and resuming replay).
pub async fn replica_sql(sql: &str) -> Result<()> {
    connect().await?.batch_execute(sql).await?;
    Ok(())
}

/// Starts the streaming replica once per test process: every region reads from it, and
/// `/health` reports it, so no test may run before it is up. (Blocking is fine here: the
/// other tests wait for the same replica anyway.)
pub fn ensure_replica() -> Result<()> {
    static STARTED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    STARTED
        .get_or_init(|| {
            let output =
                std::process::Command::new(workspace_root().join("deploy/local-replica.sh"))
                    .arg("start")
                    .output()
                    .map_err(|error| format!("running deploy/local-replica.sh: {error}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "deploy/local-replica.sh start failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Waits (polling a condition, bounded) until the replica has replayed everything the
/// primary has written so far.
pub async fn replica_caught_up(db: &Database) -> Result<()> {
    let row = db
        .client
        .query_one("select pg_current_wal_lsn()::text", &[])
        .await?;
    let written: String = row.get(0);
    let replica = connect().await?;
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let row = replica
            .query_one(
                "select pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&written],
            )
            .await?;
        if row.get::<_, bool>(0) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the replica did not replay up to {written} in time");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
