//! Starting the app: a migrated database with the fixture catalog, a private Redis, and the
//! components of `spin.toml` on the test host, with or without the enrollment worker.

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use spin_test_host::{App, RunningApp, TestDatabase, TestRedis, workspace_root};
use tokio_postgres::Client as PgClient;
use uuid::Uuid;

use crate::fixtures;
use crate::http::Client;

/// Key-value stores the components list, kept in memory by the test host.
const RUNTIME_CONFIG: &str = "runtime-config/local.toml";
/// The password of every user a test creates.
pub const PASSWORD: &str = "correct horse battery staple";

/// A fresh database with every migration applied, and a native connection to it.
pub struct Database {
    pub client: PgClient,
    /// Dropped last: dropping it drops the database.
    pub database: TestDatabase,
}

/// What signs a user in: an account inserted straight into the database.
pub struct Credentials {
    pub id: Uuid,
    pub email: String,
}

impl Database {
    pub async fn migrated() -> Result<Database> {
        let database = TestDatabase::create().await?;
        let client = db::connect(&database.url()).await?;
        db::migrate(&client, &db::default_migrations_dir()).await?;
        Ok(Database { client, database })
    }

    /// A migrated database holding the fixture catalog.
    pub async fn with_fixtures() -> Result<Database> {
        let database = Database::migrated().await?;
        fixtures::catalog(&database.client).await?;
        Ok(database)
    }

    pub fn url(&self) -> String {
        self.database.url()
    }

    /// Inserts a user with a fresh email, [`PASSWORD`] (really hashed) and `role`.
    pub async fn create_user(&self, role: accounts_core::Role) -> Result<Credentials> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let id = Uuid::now_v7();
        let hash = accounts_core::Password::new(PASSWORD.to_owned(), None)
            .map_err(|error| anyhow::anyhow!("test password refused: {error}"))?
            .hash()?;
        let role = match role {
            accounts_core::Role::Admin => "admin",
            accounts_core::Role::Student => "student",
        };
        self.client
            .execute(
                "INSERT INTO users (id, email, name, password_hash, role, created_at) \
                 VALUES ($1::text::uuid, $2, $3, $4, $5, now() AT TIME ZONE 'utc')",
                &[&id.to_string(), &email, &"Test User", &hash, &role],
            )
            .await?;
        Ok(Credentials { id, email })
    }

    /// The single number a query about one order (`$1`, as text) answers.
    pub async fn count(&self, sql: &str, order_id: Uuid) -> Result<i64> {
        let order_id = order_id.to_string();
        Ok(self.client.query_one(sql, &[&order_id]).await?.get(0))
    }
}

/// Whether the Redis-triggered enrollment worker runs in the app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Worker {
    #[default]
    Running,
    /// The app is started from `spin.toml` minus the `orders.paid` trigger, like a host
    /// without the Redis trigger or a worker that is down.
    Absent,
    /// No Redis trigger at all, like a hosted Spin cloud: neither the worker nor the
    /// catalog's `cache-invalidator` runs.
    NoRedisTriggers,
}

/// The Redis triggers of `spin.toml`, as written there.
const WORKER_TRIGGER: &str = "[[trigger.redis]]\naddress = \"{{ redis_url }}\"\nchannel = \"orders.paid\"\ncomponent = \"enrollment-worker\"\n";
const INVALIDATOR_TRIGGER: &str = "[[trigger.redis]]\naddress = \"{{ redis_url }}\"\nchannel = \"catalog-invalidations\"\ncomponent = \"cache-invalidator\"\n";

impl Worker {
    /// The triggers to leave out of `spin.toml`.
    fn triggers_left_out(self) -> &'static [&'static str] {
        match self {
            Worker::Running => &[],
            Worker::Absent => &[WORKER_TRIGGER],
            Worker::NoRedisTriggers => &[WORKER_TRIGGER, INVALIDATOR_TRIGGER],
        }
    }
}

/// How one app instance starts; shared by [`TestApp`] and the regions.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    pub worker: Worker,
    /// Applied in order, after `database_url` and `redis_url`: later ones win.
    pub variables: Vec<(String, String)>,
    /// Defaults to `runtime-config/local.toml`.
    pub runtime_config: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    /// Where the guests' stderr goes; `None`: this process's.
    pub stderr: Option<PathBuf>,
}

impl Launch {
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Self {
        self.variables.push((name.to_owned(), value.into()));
        self
    }

    /// Starts the app on the database at `database_url` and the Redis at `redis_url`.
    pub async fn start(&self, database_url: &str, redis_url: &str) -> Result<RunningApp> {
        let left_out = self.worker.triggers_left_out();
        let manifest = if left_out.is_empty() {
            workspace_root().join("spin.toml")
        } else {
            manifest_without(left_out)?
        };
        let runtime_config = self
            .runtime_config
            .clone()
            .unwrap_or_else(|| PathBuf::from(RUNTIME_CONFIG));
        let mut builder = App::builder(&manifest)
            .runtime_config(runtime_config)
            .variable("database_url", database_url)
            .variable("redis_url", redis_url);
        for (name, value) in &self.variables {
            builder = builder.variable(name, value);
        }
        if let Some(address) = self.listen {
            builder = builder.listen(address);
        }
        if let Some(path) = &self.stderr {
            builder = builder.stderr_to(path);
        }
        let started = builder.start().await.context("starting the app");
        if !left_out.is_empty() {
            // Loaded at start; the copy is not needed any more.
            let _ = std::fs::remove_file(&manifest);
        }
        started
    }
}

/// Options of [`TestApp`]: the worker and variable overrides.
#[derive(Default)]
#[must_use]
pub struct TestAppBuilder {
    launch: Launch,
}

impl TestAppBuilder {
    pub fn worker(mut self, worker: Worker) -> Self {
        self.launch.worker = worker;
        self
    }

    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.launch = self.launch.variable(name, value);
        self
    }

    /// Appends the guests' stderr to the file at `path` (see [`crate::GuestLog`]).
    pub fn stderr_to(mut self, path: &std::path::Path) -> Self {
        self.launch.stderr = Some(path.to_owned());
        self
    }

    pub fn variables(self, variables: &[(&str, &str)]) -> Self {
        variables
            .iter()
            .fold(self, |builder, (name, value)| builder.variable(name, value))
    }

    /// A fresh database with the fixture catalog, a private Redis and the app on them.
    pub async fn start(self) -> Result<TestApp> {
        let db = Database::with_fixtures().await?;
        let redis = TestRedis::spawn().await?;
        let app = self.launch.start(&db.url(), &redis.url()).await?;
        let client = Client::new(http_client()?, app.base_url());
        Ok(TestApp {
            app,
            redis,
            db,
            client,
        })
    }

    /// Another app instance (another region, or the worker coming back) on `app`'s
    /// database and Redis, with its own key-value stores.
    pub async fn start_beside(self, app: &TestApp) -> Result<Instance> {
        let running = self.launch.start(&app.db.url(), &app.redis.url()).await?;
        let client = Client::new(app.client.http().clone(), running.base_url());
        Ok(Instance {
            app: running,
            client,
        })
    }
}

/// Everything a test of the running app needs; the app stops, Redis stops and the database
/// is dropped when this is dropped. Derefs to an anonymous [`Client`] of the app.
pub struct TestApp {
    pub app: RunningApp,
    pub redis: TestRedis,
    pub db: Database,
    pub client: Client,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// The app with the worker and every variable at its default.
    pub async fn start() -> Result<TestApp> {
        Self::builder().start().await
    }

    /// The running app and its database apart: a test that drops the database (`DROP
    /// DATABASE ... WITH (FORCE)`) while the app keeps serving loses PostgreSQL.
    pub fn database_apart(self) -> (AppWithoutDatabase, Database) {
        let TestApp {
            app,
            redis,
            db,
            client,
        } = self;
        let apart = AppWithoutDatabase {
            _app: app,
            _redis: redis,
            client,
        };
        (apart, db)
    }
}

/// A [`TestApp`] whose database the test holds (see [`TestApp::database_apart`]).
pub struct AppWithoutDatabase {
    _app: RunningApp,
    _redis: TestRedis,
    client: Client,
}

impl Deref for AppWithoutDatabase {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// A second app instance sharing a [`TestApp`]'s database and Redis; stops on drop.
pub struct Instance {
    pub app: RunningApp,
    client: Client,
}

impl Instance {
    pub async fn stop(self) {
        self.app.stop().await;
    }
}

impl Deref for Instance {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// An HTTP client that neither follows redirects nor keeps cookies (sessions are explicit).
fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// A copy of `spin.toml` without the `triggers`, with absolute component sources (the same
/// `<repo>/target` files `spin.toml` names) so it can live in a temporary directory.
fn manifest_without(triggers: &[&str]) -> Result<PathBuf> {
    let root = workspace_root();
    let mut text = std::fs::read_to_string(root.join("spin.toml"))?;
    for trigger in triggers {
        if !text.contains(trigger) {
            bail!("spin.toml no longer declares this trigger as expected:\n{trigger}");
        }
        text = text.replace(trigger, "");
    }
    let rewritten = text.replace(
        "source = \"target/",
        &format!("source = \"{}/", root.join("target").display()),
    );
    let path = std::env::temp_dir().join(format!(
        "spin-without-triggers-{}.toml",
        Uuid::now_v7().simple()
    ));
    std::fs::write(&path, rewritten)?;
    Ok(path)
}
