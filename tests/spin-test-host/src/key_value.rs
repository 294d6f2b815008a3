//! `spin:key-value/key-value@3.0.0`: labelled stores with Spin's backings and access rules.
//! As in Spin, the `default` store (unless the runtime config defines it) is a SQLite file,
//! `<state dir>/sqlite_key_value.db`, and a `type = "spin"` store with a `path` is a SQLite file
//! too; both use Spin's table and SQLite's default durability (rollback journal,
//! `synchronous = FULL`: every `set` is a committed, synced transaction). `type = "spin"`
//! without a path, and `default` without a state dir, are in-memory SQLite databases, as in
//! Spin (same calls, same `block_in_place`, which changes how the request's tasks interleave
//! and so when the response body is ready); `type = "redis"` is Redis.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use tokio::sync::OnceCell;
use wasmtime::component::{
    Access, Accessor, FutureReader, HasData, Linker, Resource, ResourceTable, StreamReader,
};

use crate::bindings::imports::spin::key_value::key_value::{
    self, Error, HostStore, HostStoreWithStore,
};
use crate::runtime_config::{KeyValueStoreConfig, RuntimeConfig};

/// The file name Spin gives the `default` store in the state dir.
pub const DEFAULT_STORE_FILE: &str = "sqlite_key_value.db";

/// The stores of one app, shared by all its components and requests.
pub struct KeyValueStores {
    stores: HashMap<String, Arc<Backend>>,
}

enum Backend {
    Sqlite(SqliteStore),
    /// Connected on first use, so an app starts even while Redis is down (as Spin does).
    Redis {
        client: redis::Client,
        connection: OnceCell<redis::aio::ConnectionManager>,
    },
}

impl KeyValueStores {
    /// The runtime config's stores, and `default` (when the config does not define it) in
    /// `<state_dir>/sqlite_key_value.db`, or in memory without a state dir.
    pub fn new(config: &RuntimeConfig, state_dir: Option<&Path>) -> Result<Self> {
        let mut stores = HashMap::new();
        let default = match state_dir {
            Some(dir) => Backend::sqlite(Some(dir.join(DEFAULT_STORE_FILE)), "default")?,
            None => Backend::sqlite(None, "default")?,
        };
        stores.insert("default".to_string(), Arc::new(default));
        for (label, store) in &config.key_value_store {
            let backend = match store {
                KeyValueStoreConfig::Spin { path } => {
                    Backend::sqlite(config.spin_store_path(path.as_deref()), label)?
                }
                KeyValueStoreConfig::Redis { url } => Backend::Redis {
                    client: redis::Client::open(url.as_str()).map_err(|e| {
                        anyhow::anyhow!("key_value_store.{label}: invalid redis url: {e}")
                    })?,
                    connection: OnceCell::new(),
                },
            };
            stores.insert(label.clone(), Arc::new(backend));
        }
        Ok(Self { stores })
    }

    /// Spin refuses to start a component that names a store no runtime config defines.
    pub fn check_labels<'a>(
        &self,
        component: &str,
        labels: impl IntoIterator<Item = &'a String>,
    ) -> Result<()> {
        for label in labels {
            if !self.stores.contains_key(label) {
                bail!(
                    "component `{component}` uses key-value store `{label}`, which is not defined \
                     (only `default` exists unless a runtime config defines more)"
                );
            }
        }
        Ok(())
    }
}

/// Per-instance key-value state: the app's stores and the labels this component may open.
pub struct KeyValueState {
    stores: Arc<KeyValueStores>,
    allowed: Arc<HashSet<String>>,
    table: ResourceTable,
}

impl KeyValueState {
    pub fn new(stores: Arc<KeyValueStores>, allowed: Arc<HashSet<String>>) -> Self {
        Self {
            stores,
            allowed,
            table: ResourceTable::new(),
        }
    }
}

/// The guest's handle to an opened store.
pub struct OpenStore(Arc<Backend>);

/// Marker tying the generated host traits to [`KeyValueState`].
pub struct KeyValue;

impl HasData for KeyValue {
    type Data<'a> = &'a mut KeyValueState;
}

/// Implemented by the per-store state type so the linker can reach the key-value state.
pub trait KeyValueView: Send {
    fn key_value(&mut self) -> &mut KeyValueState;
}

pub fn add_to_linker<T: KeyValueView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    key_value::add_to_linker::<T, KeyValue>(linker, |state| state.key_value())
}

fn backend<T>(
    accessor: &Accessor<T, KeyValue>,
    store: &Resource<OpenStore>,
) -> wasmtime::Result<Arc<Backend>> {
    accessor.with(|mut access| {
        let open: &OpenStore = access.get().table.get(store)?;
        Ok(Arc::clone(&open.0))
    })
}

impl Backend {
    /// A SQLite-backed store (`None`: an in-memory database); like Spin, creates the file's
    /// folder now and opens the database when a component first opens the store.
    fn sqlite(path: Option<PathBuf>, label: &str) -> Result<Self> {
        if let Some(parent) = path
            .as_deref()
            .and_then(Path::parent)
            .filter(|p| !p.exists())
        {
            std::fs::create_dir_all(parent).with_context(|| {
                format!(
                    "failed to create key value store's parent directory: '{}'",
                    parent.display()
                )
            })?;
        }
        Ok(Self::Sqlite(SqliteStore {
            path,
            label: label.to_string(),
            connection: OnceLock::new(),
        }))
    }

    /// Runs one Redis command; a command that hits a dropped connection (Redis restarted) is
    /// retried once on the connection manager's fresh connection.
    async fn redis<R: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<R, Error> {
        let Self::Redis { client, connection } = self else {
            return Err(Error::Other("not a redis store".into()));
        };
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Duration::from_secs(2));
        let mut connection = connection
            .get_or_try_init(|| client.get_connection_manager_with_config(config))
            .await
            .cloned()
            .map_err(other)?;
        match command.query_async(&mut connection).await {
            Err(error) if error.is_io_error() || error.is_connection_dropped() => {
                command.query_async(&mut connection).await.map_err(other)
            }
            outcome => outcome.map_err(other),
        }
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        if let Self::Sqlite(store) = self {
            return store.get(&key);
        }
        self.redis(redis::cmd("GET").arg(key).clone()).await
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        if let Self::Sqlite(store) = self {
            return store.set(&key, &value);
        }
        self.redis(redis::cmd("SET").arg(key).arg(value).clone())
            .await
    }

    async fn delete(&self, key: String) -> Result<(), Error> {
        if let Self::Sqlite(store) = self {
            return store.delete(&key);
        }
        self.redis(redis::cmd("DEL").arg(key).clone()).await
    }

    async fn exists(&self, key: String) -> Result<bool, Error> {
        if let Self::Sqlite(store) = self {
            return Ok(store.get(&key)?.is_some());
        }
        self.redis(redis::cmd("EXISTS").arg(key).clone()).await
    }

    async fn keys(&self) -> Result<Vec<String>, Error> {
        if let Self::Sqlite(store) = self {
            return store.keys();
        }
        self.redis(redis::cmd("KEYS").arg("*").clone()).await
    }
}

/// One SQLite-backed store: Spin's schema (`spin_key_value(store, key, value)`), one connection
/// with SQLite's defaults, every statement run on the calling thread while it holds the
/// connection (Spin uses `block_in_place`), so a slow disk slows the request as in Spin.
struct SqliteStore {
    /// `None`: in memory.
    path: Option<PathBuf>,
    label: String,
    connection: OnceLock<Mutex<rusqlite::Connection>>,
}

impl SqliteStore {
    /// Opens the file on first use (Spin does so when a component opens the store).
    fn connection(&self) -> Result<std::sync::MutexGuard<'_, rusqlite::Connection>, Error> {
        let connection = match self.connection.get() {
            Some(connection) => connection,
            None => {
                let opened = blocking(|| open_sqlite(self.path.as_deref())).map_err(|error| {
                    tracing::warn!("key-value store `{}`: {error:#}", self.label);
                    other(format!("{error:#}"))
                })?;
                self.connection.get_or_init(|| Mutex::new(opened))
            }
        };
        Ok(connection.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let connection = self.connection()?;
        blocking(|| {
            let mut statement = connection
                .prepare_cached("SELECT value FROM spin_key_value WHERE store=$1 AND key=$2")
                .map_err(other)?;
            let mut rows = statement
                .query_map([self.label.as_str(), key], |row| row.get::<_, Vec<u8>>(0))
                .map_err(other)?;
            rows.next().transpose().map_err(other)
        })
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        let connection = self.connection()?;
        blocking(|| {
            connection
                .prepare_cached(
                    "INSERT INTO spin_key_value (store, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT(store, key) DO UPDATE SET value=$3",
                )
                .map_err(other)?
                .execute(rusqlite::params![self.label, key, value])
                .map(drop)
                .map_err(other)
        })
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        let connection = self.connection()?;
        blocking(|| {
            connection
                .prepare_cached("DELETE FROM spin_key_value WHERE store=$1 AND key=$2")
                .map_err(other)?
                .execute([self.label.as_str(), key])
                .map(drop)
                .map_err(other)
        })
    }

    fn keys(&self) -> Result<Vec<String>, Error> {
        let connection = self.connection()?;
        blocking(|| {
            let mut statement = connection
                .prepare_cached("SELECT key FROM spin_key_value WHERE store=$1")
                .map_err(other)?;
            statement
                .query_map([self.label.as_str()], |row| row.get::<_, String>(0))
                .map_err(other)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(other)
        })
    }
}

/// Opens (creating) a store file as Spin does: `Connection::open` with no pragmas.
fn open_sqlite(path: Option<&Path>) -> Result<rusqlite::Connection> {
    let connection = match path {
        Some(path) => rusqlite::Connection::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?,
        None => rusqlite::Connection::open_in_memory()?,
    };
    connection.execute(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
             store TEXT NOT NULL,
             key   TEXT NOT NULL,
             value BLOB NOT NULL,
             PRIMARY KEY (store, key)
         )",
        [],
    )?;
    Ok(connection)
}

/// Runs blocking work where Spin would (`block_in_place` on a multi-threaded runtime; on a
/// current-thread runtime, which cannot, simply in place).
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

fn other(error: impl std::fmt::Display) -> Error {
    Error::Other(error.to_string())
}

impl key_value::Host for &mut KeyValueState {}

impl<T> HostStoreWithStore<T> for KeyValue {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<OpenStore>, Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            if !state.allowed.contains(&label) {
                return Ok(Err(Error::AccessDenied));
            }
            let Some(backend) = state.stores.stores.get(&label) else {
                return Ok(Err(Error::NoSuchStore));
            };
            if let Backend::Sqlite(store) = backend.as_ref()
                && let Err(error) = store.connection()
            {
                return Ok(Err(error));
            }
            let open = OpenStore(Arc::clone(backend));
            Ok(Ok(state.table.push(open)?))
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        Ok(backend(accessor, &store)?.get(key).await)
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(backend(accessor, &store)?.set(key, value).await)
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(backend(accessor, &store)?.delete(key).await)
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        Ok(backend(accessor, &store)?.exists(key).await)
    }

    fn drop(mut access: Access<'_, T, Self>, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        access.get().table.delete(store)?;
        Ok(())
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let (keys, outcome) = match backend(accessor, &store)?.keys().await {
            Ok(keys) => (keys, Ok(())),
            Err(error) => (Vec::new(), Err(error)),
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let future =
                FutureReader::new(
                    &mut access,
                    async move { Ok::<_, wasmtime::Error>(outcome) },
                )?;
            Ok((stream, future))
        })
    }
}

impl HostStore for &mut KeyValueState {}
