//! Host side of `spin:postgres/postgres@4.2.0`, matching Spin 4's observable behaviour:
//! connections come from per-address pools shared by all requests (an open transaction
//! leaks into the next request), values convert exactly as Spin converts them
//! (`timestamptz` cannot be bound from `datetime` nor read), and columns are described
//! from the first row, so an empty result has no columns, as in Spin.

mod pool;
mod types;

use std::sync::Arc;

use deadpool_postgres::Object;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Row;
use wasmtime::component::{
    Accessor, FutureReader, HasData, Linker, Resource, ResourceTable, StreamReader,
};

pub use pool::PostgresPools;

mod bindings {
    wasmtime::component::bindgen!({
        inline: "package spin-test-host:postgres; world imports { import spin:postgres/postgres@4.2.0; }",
        path: "wit/deps/spin-postgres@4.2.0",
        imports: { default: async | trappable },
        with: {
            "spin:postgres/postgres.connection": crate::postgres::PgConnection,
            "spin:postgres/postgres.connection-builder": crate::postgres::PgConnectionBuilder,
        },
    });
}

use bindings::spin::postgres::postgres as wit;
pub use wit::{Column, DbValue, Error, ParameterValue, QueryError, RowSet};

/// Answers whether a component may connect to a URL such as `postgres://host:port`.
pub type OutboundCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A guest's connection: a pooled client, returned to its pool when the guest drops it.
pub struct PgConnection {
    client: Arc<Object>,
}

/// A guest's `connection-builder`: only the address (custom CA roots are refused).
pub struct PgConnectionBuilder {
    address: String,
}

/// Per-store state of the PostgreSQL import.
pub struct PostgresState {
    pools: PostgresPools,
    allowed: OutboundCheck,
    table: ResourceTable,
}

impl PostgresState {
    pub fn new(pools: PostgresPools, allowed: OutboundCheck) -> Self {
        Self {
            pools,
            allowed,
            table: ResourceTable::new(),
        }
    }

    fn client(&self, connection: &Resource<PgConnection>) -> wasmtime::Result<Arc<Object>> {
        Ok(self.table.get(connection)?.client.clone())
    }
}

/// Implemented by the host's per-request store data to expose the PostgreSQL state.
pub trait PostgresView: Send {
    fn postgres(&mut self) -> &mut PostgresState;
}

/// Adds `spin:postgres/postgres@4.2.0` to a linker.
pub fn add_to_linker<T: PostgresView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, PostgresData>(linker, T::postgres)
}

struct PostgresData;

impl HasData for PostgresData {
    type Data<'a> = &'a mut PostgresState;
}

type PgResult<T> = wasmtime::Result<Result<T, Error>>;

/// Checks the address against `allowed_outbound_hosts`, then takes a pooled connection.
async fn connect(
    pools: &PostgresPools,
    allowed: &OutboundCheck,
    address: &str,
) -> Result<PgConnection, Error> {
    for url in pool::target_urls(address).map_err(Error::ConnectionFailed)? {
        if !allowed(&url) {
            return Err(Error::ConnectionFailed(format!(
                "address {url} is not permitted"
            )));
        }
    }
    let client = pools
        .connect(address)
        .await
        .map_err(Error::ConnectionFailed)?;
    Ok(PgConnection {
        client: Arc::new(client),
    })
}

fn query_failed(error: tokio_postgres::Error) -> Error {
    let as_text = format!("{error:?}");
    Error::QueryFailed(match error.as_db_error() {
        None => QueryError::Text(as_text),
        Some(db) => QueryError::DbError(wit::DbError {
            as_text,
            severity: db.severity().to_owned(),
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            detail: db.detail().map(str::to_owned),
            extras: db_extras(db),
        }),
    })
}

fn db_extras(db: &tokio_postgres::error::DbError) -> Vec<(String, String)> {
    let fields = [
        ("column", db.column()),
        ("constraint", db.constraint()),
        ("routine", db.routine()),
        ("hint", db.hint()),
        ("table", db.table()),
        ("datatype", db.datatype()),
        ("schema", db.schema()),
        ("where_", db.where_()),
    ];
    fields
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v.to_owned())))
        .collect()
}

fn decode_failed(error: impl std::fmt::Debug) -> Error {
    Error::QueryFailed(QueryError::Text(format!("{error:?}")))
}

async fn execute(
    client: &Object,
    statement: &str,
    params: &[ParameterValue],
) -> Result<u64, Error> {
    let params = types::to_sql_params(params).map_err(Error::ValueConversionFailed)?;
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|p| p.as_ref() as _).collect();
    client.execute(statement, &refs).await.map_err(query_failed)
}

/// Starts a query: statement and parameter errors fail here, row errors come later.
async fn start_query(
    client: &Object,
    statement: &str,
    params: &[ParameterValue],
) -> Result<tokio_postgres::RowStream, Error> {
    let params = types::to_sql_params(params).map_err(Error::BadParameter)?;
    client
        .query_raw(statement, params)
        .await
        .map_err(query_failed)
}

impl wit::Host for PostgresState {}

impl wit::HostConnection for PostgresState {
    async fn open(&mut self, address: String) -> PgResult<Resource<PgConnection>> {
        match connect(&self.pools, &self.allowed, &address).await {
            Ok(connection) => Ok(Ok(self.table.push(connection)?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> PgResult<RowSet> {
        let client = self.client(&connection)?;
        let mut stream = match start_query(&client, &statement, &params).await {
            Ok(stream) => Box::pin(stream),
            Err(e) => return Ok(Err(e)),
        };
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        while let Some(row) = stream.next().await {
            let row = match row {
                Ok(row) => row,
                Err(e) => return Ok(Err(query_failed(e))),
            };
            if rows.is_empty() {
                columns = types::columns(&row);
            }
            match types::decode_row(&row) {
                Ok(values) => rows.push(values),
                Err(e) => return Ok(Err(decode_failed(e))),
            }
        }
        Ok(Ok(RowSet { columns, rows }))
    }

    async fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> PgResult<u64> {
        let client = self.client(&connection)?;
        Ok(execute(&client, &statement, &params).await)
    }

    async fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

const NO_CA_ROOTS: &str =
    "custom CA roots are not supported by the test host (it connects without TLS)";

impl wit::HostConnectionBuilder for PostgresState {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<PgConnectionBuilder>> {
        Ok(self.table.push(PgConnectionBuilder { address })?)
    }

    async fn set_ca_root(
        &mut self,
        _builder: Resource<PgConnectionBuilder>,
        _certificate: String,
    ) -> PgResult<()> {
        Ok(Err(Error::Other(NO_CA_ROOTS.to_owned())))
    }

    async fn build(
        &mut self,
        builder: Resource<PgConnectionBuilder>,
    ) -> PgResult<Resource<PgConnection>> {
        let address = self.table.get(&builder)?.address.clone();
        wit::HostConnection::open(self, address).await
    }

    async fn drop(&mut self, builder: Resource<PgConnectionBuilder>) -> wasmtime::Result<()> {
        self.table.delete(builder)?;
        Ok(())
    }
}

async fn open_with<T>(
    accessor: &Accessor<T, PostgresData>,
    address: String,
) -> PgResult<Resource<PgConnection>> {
    let (pools, allowed) = accessor.with(|mut access| {
        let state = access.get();
        (state.pools.clone(), state.allowed.clone())
    });
    match connect(&pools, &allowed, &address).await {
        Ok(connection) => {
            accessor.with(|mut access| Ok(Ok(access.get().table.push(connection)?)))
        }
        Err(e) => Ok(Err(e)),
    }
}

fn client_of<T>(
    accessor: &Accessor<T, PostgresData>,
    connection: &Resource<PgConnection>,
) -> wasmtime::Result<Arc<Object>> {
    accessor.with(|mut access| access.get().client(connection))
}

/// The `stream<row>` of `query-async`: rows decoded by a task, delivered one per read.
struct RowProducer {
    rows: mpsc::Receiver<Vec<DbValue>>,
}

impl<D> wasmtime::component::StreamProducer<D> for RowProducer {
    type Item = Vec<DbValue>;
    type Buffer = Option<Vec<DbValue>>;

    fn poll_produce<'a>(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        mut store: wasmtime::StoreContextMut<'a, D>,
        mut destination: wasmtime::component::Destination<'a, Self::Item, Self::Buffer>,
        finish: bool,
    ) -> std::task::Poll<wasmtime::Result<wasmtime::component::StreamResult>> {
        use std::task::Poll;
        use wasmtime::component::StreamResult;
        // A zero-length read only asks for readiness; a channel cannot peek, so say "ready".
        if destination.remaining(&mut store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        match self.rows.poll_recv(cx) {
            Poll::Ready(Some(row)) => {
                destination.set_buffer(Some(row));
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Poll::Ready(None) => Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Reads rows off the wire into the guest's stream; the outcome goes to its future.
async fn pump_rows(
    first: Row,
    mut stream: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    rows: mpsc::Sender<Vec<DbValue>>,
    done: oneshot::Sender<Result<(), Error>>,
) {
    let mut next = Some(Ok(first));
    let outcome = loop {
        let row = match next.take() {
            Some(row) => row,
            None => match stream.next().await {
                Some(row) => row,
                None => break Ok(()),
            },
        };
        let values = match row {
            Ok(row) => types::decode_row(&row).map_err(decode_failed),
            Err(e) => Err(query_failed(e)),
        };
        match values {
            Ok(values) => {
                // The guest dropped the stream: stop reading, nothing failed.
                if rows.send(values).await.is_err() {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    let _ = done.send(outcome);
}

type QueryAsync = (
    Vec<Column>,
    StreamReader<Vec<DbValue>>,
    FutureReader<Result<(), Error>>,
);

impl<T: Send> wit::HostConnectionWithStore<T> for PostgresData {
    async fn open_async(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> PgResult<Resource<PgConnection>> {
        open_with(accessor, address).await
    }

    async fn query_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> PgResult<QueryAsync> {
        let client = client_of(accessor, &connection)?;
        let mut stream = match start_query(&client, &statement, &params).await {
            Ok(stream) => Box::pin(stream),
            Err(e) => return Ok(Err(e)),
        };
        let (rows_tx, rows_rx) = mpsc::channel(4);
        let (done_tx, done_rx) = oneshot::channel();
        // Spin describes columns from the first row: no row, no columns.
        let columns = match stream.next().await {
            None => {
                let _ = done_tx.send(Ok(()));
                Vec::new()
            }
            Some(Err(e)) => {
                let _ = done_tx.send(Err(query_failed(e)));
                Vec::new()
            }
            Some(Ok(first)) => {
                let columns = types::columns(&first);
                // The task owns the client too, so the connection outlives a guest
                // that drops it while still reading rows.
                let client = client.clone();
                tokio::spawn(async move {
                    pump_rows(first, stream, rows_tx, done_tx).await;
                    drop(client);
                });
                columns
            }
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, RowProducer { rows: rows_rx })?;
            let done = FutureReader::new(&mut access, done_rx)?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> PgResult<u64> {
        let client = client_of(accessor, &connection)?;
        Ok(execute(&client, &statement, &params).await)
    }
}

impl<T: Send> wit::HostConnectionBuilderWithStore<T> for PostgresData {
    async fn build_async(
        accessor: &Accessor<T, Self>,
        builder: Resource<PgConnectionBuilder>,
    ) -> PgResult<Resource<PgConnection>> {
        let address = accessor.with(|mut access| {
            wasmtime::Result::<_>::Ok(access.get().table.get(&builder)?.address.clone())
        })?;
        open_with(accessor, address).await
    }
}
