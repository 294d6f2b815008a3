//! The state of one wasm instance (one request or one Redis message) and the linker that
//! provides every import a Spin component may use.

use std::sync::Arc;

use anyhow::Result;
use wasmtime::Engine;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::app::{AppInner, LoadedComponent};
use crate::key_value::{KeyValueState, KeyValueView};
use crate::outbound::OutboundHttp;
use crate::postgres::{PostgresState, PostgresView};
use crate::redis_client::{RedisState, RedisView};
use crate::variables::{ComponentVariables, VariablesView};

/// Everything a single instance's imports need; one per `Store`.
pub struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    outbound: OutboundHttp,
    key_value: KeyValueState,
    variables: ComponentVariables,
    postgres: PostgresState,
    redis: RedisState,
}

impl InstanceState {
    pub fn new(app: &Arc<AppInner>, component: &LoadedComponent) -> Result<Self> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout();
        match &app.guest_stderr {
            Some(file) => wasi.stderr(file.clone()),
            None => wasi.inherit_stderr(),
        };
        for (key, value) in &component.environment {
            wasi.env(key, value);
        }
        for mount in &component.files {
            wasi.preopened_dir(&mount.host_path, &mount.guest_path, FsPerms::ReadOnly)?;
        }
        Ok(Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound: OutboundHttp {
                app: Arc::clone(app),
                allowed: Arc::clone(&component.allowed_hosts),
            },
            key_value: KeyValueState::new(
                Arc::clone(&app.key_value),
                Arc::clone(&component.key_value_labels),
            ),
            variables: component.variables.clone(),
            postgres: PostgresState::new(app.postgres_pools.clone(), {
                let allowed = Arc::clone(&component.allowed_hosts);
                Arc::new(move |url: &str| allowed.allows_url(url))
            }),
            redis: RedisState::new({
                let allowed = Arc::clone(&component.allowed_hosts);
                Arc::new(move |url: &str| allowed.allows_url(url))
            }),
        })
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl KeyValueView for InstanceState {
    fn key_value(&mut self) -> &mut KeyValueState {
        &mut self.key_value
    }
}

impl PostgresView for InstanceState {
    fn postgres(&mut self) -> &mut PostgresState {
        &mut self.postgres
    }
}

impl RedisView for InstanceState {
    fn redis(&mut self) -> &mut RedisState {
        &mut self.redis
    }
}

impl VariablesView for InstanceState {
    fn variables(&self) -> &ComponentVariables {
        &self.variables
    }
}

/// A linker with WASI 0.2 (Rust std on wasm32-wasip2 imports it), WASI 0.3, `wasi:http` 0.3 and
/// the Spin interfaces.
pub fn linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    crate::key_value::add_to_linker(&mut linker)?;
    crate::variables::add_to_linker(&mut linker)?;
    add_data_imports(&mut linker)?;
    Ok(linker)
}

/// `spin:postgres` and `spin:redis`, implemented by the `postgres` and `redis_client` modules.
fn add_data_imports(linker: &mut Linker<InstanceState>) -> Result<()> {
    crate::postgres::add_to_linker(linker)?;
    crate::redis_client::add_to_linker(linker)?;
    Ok(())
}
