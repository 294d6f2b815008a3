//! Host side of `spin:redis/redis@3.0.0`: outbound Redis for components.
//!
//! Like Spin, each `connection.open` makes its own multiplexed connection (no pool)
//! after checking the address against the component's `allowed_outbound_hosts`.

use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, FromRedisValue, Value};
use wasmtime::component::{Accessor, HasData, Linker, Resource, ResourceTable};

mod bindings {
    wasmtime::component::bindgen!({
        inline: "package spin-test-host:redis; world imports { import spin:redis/redis@3.0.0; }",
        path: "wit/deps/spin-redis@3.0.0",
        imports: { default: async | trappable },
        with: {
            "spin:redis/redis.connection": crate::redis_client::RedisConnection,
        },
    });
}

use bindings::spin::redis::redis as wit;
pub use wit::{Error, RedisParameter, RedisResult};

/// Answers whether a component may connect to a URL such as `redis://host:port`.
pub type OutboundCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One open guest connection.
pub struct RedisConnection {
    connection: MultiplexedConnection,
}

/// Per-store state of the Redis import.
pub struct RedisState {
    allowed: OutboundCheck,
    table: ResourceTable,
}

impl RedisState {
    pub fn new(allowed: OutboundCheck) -> Self {
        Self {
            allowed,
            table: ResourceTable::new(),
        }
    }
}

/// Implemented by the host's per-request store data to expose the Redis state.
pub trait RedisView: Send {
    fn redis(&mut self) -> &mut RedisState;
}

/// Adds `spin:redis/redis@3.0.0` to a linker.
pub fn add_to_linker<T: RedisView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, RedisData>(linker, T::redis)
}

struct RedisData;

impl HasData for RedisData {
    type Data<'a> = &'a mut RedisState;
}

impl wit::Host for RedisState {}

impl wit::HostConnection for RedisState {
    async fn drop(&mut self, connection: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

fn other(error: impl std::fmt::Display) -> Error {
    Error::Other(error.to_string())
}

/// Spin reports `type-error` only from `sadd`, and only for a client-side type error;
/// every other failure (a wrong-type key included) is `other`, so the host does too.
fn sadd_error(error: redis::RedisError) -> Error {
    if error.kind() == redis::ErrorKind::TypeError {
        Error::TypeError
    } else {
        other(error)
    }
}

fn connection<T>(
    accessor: &Accessor<T, RedisData>,
    connection: &Resource<RedisConnection>,
) -> wasmtime::Result<MultiplexedConnection> {
    accessor.with(|mut access| {
        let state = access.get();
        Ok(state.table.get(connection)?.connection.clone())
    })
}

type RedisResultOf<T> = wasmtime::Result<Result<T, Error>>;

impl<T: Send> wit::HostConnectionWithStore<T> for RedisData {
    async fn open(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> RedisResultOf<Resource<RedisConnection>> {
        let allowed = accessor.with(|mut access| access.get().allowed.clone());
        let Ok(client) = redis::Client::open(address.as_str()) else {
            return Ok(Err(Error::InvalidAddress));
        };
        let info = client.get_connection_info();
        let target = format!("redis://{}", info.addr);
        if !allowed(&target) {
            return Ok(Err(Error::InvalidAddress));
        }
        let connection = match client.get_multiplexed_async_connection().await {
            Ok(connection) => connection,
            Err(e) => return Ok(Err(other(e))),
        };
        accessor.with(|mut access| {
            let resource = access.get().table.push(RedisConnection { connection })?;
            Ok(Ok(resource))
        })
    }

    async fn publish(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> RedisResultOf<()> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.publish(channel, payload).await.map_err(other))
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        key: String,
    ) -> RedisResultOf<Option<Vec<u8>>> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.get(key).await.map_err(other))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> RedisResultOf<()> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.set(key, value).await.map_err(other))
    }

    async fn incr(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        key: String,
    ) -> RedisResultOf<i64> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.incr(key, 1).await.map_err(other))
    }

    async fn del(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> RedisResultOf<u32> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.del(keys).await.map_err(other))
    }

    async fn sadd(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> RedisResultOf<u32> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.sadd(key, values).await.map_err(sadd_error))
    }

    async fn smembers(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        key: String,
    ) -> RedisResultOf<Vec<String>> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.smembers(key).await.map_err(other))
    }

    async fn srem(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> RedisResultOf<u32> {
        let mut conn = connection(accessor, &self_)?;
        Ok(conn.srem(key, values).await.map_err(other))
    }

    async fn execute(
        accessor: &Accessor<T, Self>,
        self_: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> RedisResultOf<Vec<RedisResult>> {
        let mut conn = connection(accessor, &self_)?;
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(v) => cmd.arg(v),
                RedisParameter::Binary(v) => cmd.arg(v),
            };
        }
        Ok(cmd
            .query_async::<Results>(&mut conn)
            .await
            .map(|results| results.0)
            .map_err(other))
    }
}

/// A reply flattened into the WIT's result list (arrays are spread, as Spin does).
struct Results(Vec<RedisResult>);

impl FromRedisValue for Results {
    fn from_redis_value(value: &Value) -> redis::RedisResult<Self> {
        let mut results = Vec::new();
        flatten(value, &mut results)?;
        Ok(Self(results))
    }
}

fn flatten(value: &Value, into: &mut Vec<RedisResult>) -> redis::RedisResult<()> {
    match value {
        Value::Nil => into.push(RedisResult::Nil),
        Value::Int(v) => into.push(RedisResult::Int64(*v)),
        Value::BulkString(bytes) => into.push(RedisResult::Binary(bytes.clone())),
        Value::SimpleString(s) => into.push(RedisResult::Status(s.clone())),
        Value::Okay => into.push(RedisResult::Status("OK".to_owned())),
        Value::Array(values) | Value::Set(values) => {
            for value in values {
                flatten(value, into)?;
            }
        }
        other => {
            return Err(redis::RedisError::from((
                redis::ErrorKind::TypeError,
                "reply type not representable as redis-result",
                format!("{other:?}"),
            )));
        }
    }
    Ok(())
}
