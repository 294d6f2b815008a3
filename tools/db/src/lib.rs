//! Schema migrations and demo data for the platform's PostgreSQL database.
//!
//! Used by the `db` command and by the integration tests, which migrate a fresh database each.

pub mod accounts;
pub mod seed;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio_postgres::{Client, NoTls};

/// The repository's `migrations/` directory (for tests and the default of the `db` command).
pub fn default_migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// Connects to `url` and drives the connection on a background task.
pub async fn connect(url: &str) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| "connecting to PostgreSQL (is DATABASE_URL right and the server up?)")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("database connection closed: {error}");
        }
    });
    Ok(client)
}

/// Applies every `NNNN_name.sql` of `dir` not yet recorded in `schema_migrations`, in file
/// name order, each in its own transaction. Returns the versions applied now.
pub async fn migrate(client: &Client, dir: &Path) -> Result<Vec<String>> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    text PRIMARY KEY,
                 applied_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
             )",
        )
        .await
        .context("creating schema_migrations")?;
    let mut applied = Vec::new();
    for (version, path) in migration_files(dir)? {
        let sql = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if apply_one(client, &version, &sql)
            .await
            .with_context(|| format!("applying migration {version}"))?
        {
            applied.push(version);
        }
    }
    Ok(applied)
}

/// `(version, path)` of each `.sql` file, sorted by name (the numeric prefix orders them).
fn migration_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "sql")
            && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
        {
            files.push((stem.to_owned(), path.clone()));
        }
    }
    files.sort();
    Ok(files)
}

/// Applies one migration unless already recorded; a transaction-scoped advisory lock keeps
/// two concurrent `db migrate` runs from applying the same file twice.
async fn apply_one(client: &Client, version: &str, sql: &str) -> Result<bool> {
    client.batch_execute("BEGIN").await?;
    let outcome = async {
        client
            .execute("SELECT pg_advisory_xact_lock(7283910455)", &[])
            .await?;
        let done = client
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .await?
            .is_some();
        if done {
            return Ok(false);
        }
        client.batch_execute(sql).await?;
        client
            .execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            )
            .await?;
        anyhow::Ok(true)
    }
    .await;
    match outcome {
        Ok(applied) => {
            client.batch_execute("COMMIT").await?;
            Ok(applied)
        }
        Err(error) => {
            client.batch_execute("ROLLBACK").await?;
            Err(error)
        }
    }
}
