//! `spin:key-value/key-value@3.0.0`: labelled stores, in memory by default or in Redis when the
//! runtime config says `type = "redis"`, with Spin's access rules.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::sync::OnceCell;
use wasmtime::component::{
    Access, Accessor, FutureReader, HasData, Linker, Resource, ResourceTable, StreamReader,
};

use crate::bindings::imports::spin::key_value::key_value::{
    self, Error, HostStore, HostStoreWithStore,
};
use crate::runtime_config::KeyValueStoreConfig;

/// The stores of one app, shared by all its components and requests.
pub struct KeyValueStores {
    stores: HashMap<String, Arc<Backend>>,
}

enum Backend {
    Memory(Mutex<BTreeMap<String, Vec<u8>>>),
    /// Connected on first use, so an app starts even while Redis is down (as Spin does).
    Redis {
        client: redis::Client,
        connection: OnceCell<redis::aio::ConnectionManager>,
    },
}

impl KeyValueStores {
    /// The `default` store in memory, plus or replaced by the runtime config's stores.
    pub fn new(configured: &BTreeMap<String, KeyValueStoreConfig>) -> Result<Self> {
        let mut stores = HashMap::new();
        stores.insert("default".to_string(), Arc::new(Backend::memory()));
        for (label, config) in configured {
            let backend = match config {
                KeyValueStoreConfig::Spin => Backend::memory(),
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
    fn memory() -> Self {
        Self::Memory(Mutex::new(BTreeMap::new()))
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

    fn with_memory<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R) -> Option<R> {
        match self {
            Self::Memory(map) => Some(f(&mut map.lock().unwrap_or_else(|e| e.into_inner()))),
            Self::Redis { .. } => None,
        }
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        match self.with_memory(|map| map.get(&key).cloned()) {
            Some(value) => Ok(value),
            None => self.redis(redis::cmd("GET").arg(key).clone()).await,
        }
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        match self.with_memory(|map| map.insert(key.clone(), value.clone())) {
            Some(_) => Ok(()),
            None => {
                self.redis(redis::cmd("SET").arg(key).arg(value).clone())
                    .await
            }
        }
    }

    async fn delete(&self, key: String) -> Result<(), Error> {
        match self.with_memory(|map| map.remove(&key)) {
            Some(_) => Ok(()),
            None => self.redis(redis::cmd("DEL").arg(key).clone()).await,
        }
    }

    async fn exists(&self, key: String) -> Result<bool, Error> {
        match self.with_memory(|map| map.contains_key(&key)) {
            Some(found) => Ok(found),
            None => self.redis(redis::cmd("EXISTS").arg(key).clone()).await,
        }
    }

    async fn keys(&self) -> Result<Vec<String>, Error> {
        match self.with_memory(|map| map.keys().cloned().collect()) {
            Some(keys) => Ok(keys),
            None => self.redis(redis::cmd("KEYS").arg("*").clone()).await,
        }
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
