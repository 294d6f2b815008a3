//! Real services for tests: a fresh PostgreSQL database per test, a private Redis server.

use std::net::TcpListener as StdTcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const POSTGRES_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

/// A fresh, empty database on the local PostgreSQL (127.0.0.1:5432, user `postgres`, trust
/// auth), dropped — with `(FORCE)`, closing pooled connections — when this value is dropped.
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    pub async fn create() -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let name = format!(
            "test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .context(
                "cannot create a test database: is PostgreSQL running? (scripts/services.sh)",
            )?;
        Ok(Self { name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgres://postgres@127.0.0.1:5432/<name>?sslmode=disable`
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:5432/{}?sslmode=disable",
            self.name
        )
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop cannot await, and may run inside a runtime: use a short-lived one on its own thread.
        let outcome = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(admin_execute(&statement)))
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("cannot drop test database {}: {error:#}", self.name),
            Err(_) => eprintln!(
                "cannot drop test database {}: the drop thread panicked",
                self.name
            ),
        }
    }
}

async fn admin_execute(statement: &str) -> Result<()> {
    let (client, connection) =
        tokio_postgres::connect(POSTGRES_ADMIN, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    client.batch_execute(statement).await?;
    drop(client);
    connection.await??;
    Ok(())
}

/// A private `redis-server` on a free port, for tests that stop and restart Redis.
pub struct TestRedis {
    port: u16,
    process: Mutex<Option<Child>>,
}

impl TestRedis {
    pub async fn spawn() -> Result<Self> {
        let port = StdTcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let redis = Self {
            port,
            process: Mutex::new(None),
        };
        redis.start().await?;
        Ok(redis)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and waits until it answers PING.
    pub async fn start(&self) -> Result<()> {
        {
            let mut process = self.lock();
            if process.is_some() {
                return Ok(());
            }
            let child = Command::new("redis-server")
                .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot run redis-server (install it, or run scripts/services.sh)")?;
            *process = Some(child);
        }
        self.wait_until_ready().await
    }

    /// Stops the server; connections to it fail until [`TestRedis::start`].
    pub async fn stop(&self) -> Result<()> {
        let child = self.lock().take();
        if let Some(mut child) = child {
            child.kill()?;
            tokio::task::spawn_blocking(move || child.wait()).await??;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.process
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn wait_until_ready(&self) -> Result<()> {
        let client = redis::Client::open(self.url())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ping = async {
                let mut connection = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            };
            match ping.await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    bail!(
                        "redis-server on port {} did not come up: {error}",
                        self.port
                    )
                }
                // Readiness poll of a freshly spawned process, not test synchronisation.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.lock().take() {
            // Best effort: the process may already have exited.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
