//! Loading an app from its manifest, calling its components, and the test-facing `App` API.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store};
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

use crate::bindings::redis_trigger::RedisTriggerPre;
use crate::instance::InstanceState;
use crate::key_value::KeyValueStores;
use crate::manifest::{FileMount, Manifest};
use crate::outbound::AllowedHosts;
use crate::reuse::{ComponentHandler, InstanceReuse};
use crate::router::{RouteMatch, Router};
use crate::runtime_config::{RuntimeConfig, StateDir};
use crate::variables::{AppVariables, ComponentVariables};

/// The repository root: relative manifest and runtime-config paths given to [`App::builder`]
/// resolve from here, so tests work from any crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Entry point of the test API: `App::builder("spin.toml").variable(..).start().await`.
pub struct App;

impl App {
    pub fn builder(manifest: impl AsRef<Path>) -> AppBuilder {
        AppBuilder {
            manifest: workspace_root().join(manifest),
            variables: BTreeMap::new(),
            runtime_config: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            // Off as in Spin; SPIN_TEST_HOST_TCP_NODELAY=1 turns it on for a whole test run
            // (to measure what Nagle's algorithm costs the suite).
            tcp_nodelay: std::env::var("SPIN_TEST_HOST_TCP_NODELAY").is_ok_and(|v| v == "1"),
            instance_reuse: InstanceReuse::default(),
            state_dir: None,
            stderr: None,
        }
    }
}

/// Configures an app before [`AppBuilder::start`].
#[must_use]
pub struct AppBuilder {
    manifest: PathBuf,
    variables: BTreeMap<String, String>,
    runtime_config: Option<PathBuf>,
    listen: SocketAddr,
    tcp_nodelay: bool,
    instance_reuse: InstanceReuse,
    /// `None`: a fresh state dir for this start (see [`AppBuilder::state_dir`]).
    state_dir: Option<StateDir>,
    /// `None`: the guests' stderr is this process's (see [`AppBuilder::stderr_to`]).
    stderr: Option<PathBuf>,
}

impl AppBuilder {
    /// Sets an application variable, overriding `SPIN_VARIABLE_<NAME>` and the manifest default.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// A Spin runtime-config file (e.g. Redis-backed key-value stores).
    pub fn runtime_config(mut self, path: impl AsRef<Path>) -> Self {
        self.runtime_config = Some(workspace_root().join(path));
        self
    }

    /// Where to listen; defaults to an ephemeral port on 127.0.0.1.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// TCP_NODELAY on accepted connections: off by default, as in Spin (on only for measurements;
    /// `SPIN_TEST_HOST_TCP_NODELAY=1` changes the default).
    pub fn tcp_nodelay(mut self, enabled: bool) -> Self {
        self.tcp_nodelay = enabled;
        self
    }

    /// Where the `default` key-value store's SQLite file lives, as `spin up --state-dir`.
    /// `StateDir::SpinDefault` is what `spin up` does without the flag: the runtime config's
    /// `state_dir`, else `<manifest folder>/.spin`. Without this call, unless the runtime config
    /// sets `state_dir`, each start gets a fresh state dir of its own (removed when the app is
    /// dropped), as if each test ran `spin up --state-dir <new dir>`: parallel tests of the same
    /// manifest would otherwise share `<manifest folder>/.spin/sqlite_key_value.db`.
    pub fn state_dir(mut self, state_dir: StateDir) -> Self {
        self.state_dir = Some(state_dir);
        self
    }

    /// How far HTTP component instances are reused (default: as Spin 4 does).
    pub fn instance_reuse(mut self, reuse: InstanceReuse) -> Self {
        self.instance_reuse = reuse;
        self
    }

    /// Appends what every instance of this app writes to stderr to the file at `path`
    /// (created if missing) instead of this process's stderr, so a test can read the log
    /// lines of its own app.
    pub fn stderr_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.stderr = Some(path.into());
        self
    }

    /// Loads and compiles the components, subscribes Redis triggers, and starts serving HTTP.
    pub async fn start(self) -> Result<RunningApp> {
        let manifest = Manifest::load(&self.manifest)?;
        let runtime_config = match &self.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let variables = AppVariables::resolve(&manifest.variables, &self.variables, |name| {
            std::env::var(name).ok()
        })
        .with_context(|| format!("cannot start {}", self.manifest.display()))?;
        let (state_dir, fresh_state) = match (&self.state_dir, &runtime_config.state_dir) {
            (Some(choice), _) => (choice.resolve(&runtime_config, &manifest.base_dir)?, None),
            (None, Some(_)) => (
                StateDir::SpinDefault.resolve(&runtime_config, &manifest.base_dir)?,
                None,
            ),
            (None, None) => {
                let fresh = TempDir::new()?;
                (Some(fresh.0.join(".spin")), Some(fresh))
            }
        };
        let reuse = self.instance_reuse;
        let stderr = match &self.stderr {
            Some(path) => Some(OutputFile::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open {} for stderr", path.display()))?,
            )),
            None => None,
        };
        let app = tokio::task::spawn_blocking(move || {
            AppInner::load(
                &manifest,
                &variables,
                &runtime_config,
                state_dir.as_deref(),
                reuse,
                stderr,
            )
        })
        .await??;
        let triggers = crate::redis_trigger::start(&app).await?;
        let listener = TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel();
        let server = tokio::spawn(crate::server::serve(
            listener,
            Arc::clone(&app),
            self.tcp_nodelay,
            stopped,
        ));
        Ok(RunningApp {
            addr,
            shutdown: Some(shutdown),
            server: Some(server),
            triggers,
            _state: fresh_state,
        })
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "spin-test-host-state-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create state dir {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            tracing::debug!("cannot remove {}: {error}", self.0.display());
        }
    }
}

/// A served app; stops serving when dropped.
pub struct RunningApp {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    triggers: Vec<JoinHandle<()>>,
    /// The fresh state dir of this start, if it has one; dropped after the server (fields drop
    /// in order, and `Drop for RunningApp` halts the server first).
    _state: Option<TempDir>,
}

impl RunningApp {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// Stops accepting connections and ends in-flight work.
    pub async fn stop(mut self) {
        self.halt();
        if let Some(server) = self.server.take() {
            // The task was aborted; its outcome (cancelled) carries no information.
            let _ = server.await;
        }
    }

    /// Serves until the server task ends (for the command-line host).
    pub async fn wait(mut self) -> Result<()> {
        if let Some(server) = self.server.take() {
            server.await?;
        }
        Ok(())
    }

    fn halt(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone; then there is nothing to tell.
            let _ = shutdown.send(());
        }
        if let Some(server) = &self.server {
            server.abort();
        }
        for trigger in &self.triggers {
            trigger.abort();
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A component ready to instantiate, with its rendered configuration. Middleware and
/// dependencies composed into it run with this configuration (`inherit_configuration`).
pub struct LoadedComponent {
    pub redis_trigger: Option<RedisTriggerPre<InstanceState>>,
    pub variables: ComponentVariables,
    pub allowed_hosts: Arc<AllowedHosts>,
    pub key_value_labels: Arc<HashSet<String>>,
    pub environment: Vec<(String, String)>,
    pub files: Vec<ResolvedMount>,
}

/// A `files` entry as a host directory preopened at a guest path.
pub struct ResolvedMount {
    pub host_path: PathBuf,
    pub guest_path: String,
}

/// A loaded app: shared by the HTTP server, the Redis triggers and every instance's hooks.
pub struct AppInner {
    pub engine: Engine,
    /// The components that triggers run (not those only composed into others).
    pub components: HashMap<String, LoadedComponent>,
    /// One dispatcher per HTTP trigger's handler key (component and middleware), which reuses
    /// its instances.
    handlers: HashMap<String, ComponentHandler>,
    /// `<component>.spin.internal` → the handler key a chained request reaches: the
    /// component's private route if it has one, else its first route.
    chain_targets: HashMap<String, String>,
    pub router: Router,
    pub key_value: Arc<KeyValueStores>,
    pub redis_triggers: Vec<crate::redis_trigger::Subscription>,
    /// PostgreSQL connection pools, shared by every request as in Spin.
    pub postgres_pools: crate::postgres::PostgresPools,
    /// Where instances write stderr; `None`: inherited.
    pub guest_stderr: Option<OutputFile>,
}

/// What an HTTP handler is made of, before the app that owns it exists.
struct HttpHandlerPre {
    component: String,
    service: ServicePre<InstanceState>,
}

impl AppInner {
    fn load(
        manifest: &Manifest,
        variables: &AppVariables,
        config: &RuntimeConfig,
        state_dir: Option<&Path>,
        reuse: InstanceReuse,
        guest_stderr: Option<OutputFile>,
    ) -> Result<Arc<Self>> {
        let engine = crate::engine::engine()?.clone();
        let linker = crate::instance::linker(&engine)?;
        let key_value = Arc::new(KeyValueStores::new(config, state_dir)?);
        let redis_components: HashSet<&String> = manifest
            .redis_triggers
            .iter()
            .map(|t| &t.component)
            .collect();
        let triggered: HashSet<&String> = manifest
            .http_triggers
            .iter()
            .map(|t| &t.component)
            .chain(redis_components.iter().copied())
            .collect();
        let mut components = HashMap::new();
        // Only what a trigger runs is loaded on its own: a component named only as middleware
        // or a dependency exists inside the components it is composed into.
        for (id, decl) in manifest
            .components
            .iter()
            .filter(|(id, _)| triggered.contains(id))
        {
            key_value.check_labels(id, &decl.key_value_stores)?;
            let source = manifest.component_source(decl);
            if !source.is_file() {
                bail!(
                    "component `{id}`: failed to read component source from disk at path \"{}\" \
                     (`source = \"{}\"` resolves from the manifest's folder {}, as in Spin; \
                     build it with `spin build` or scripts/build-wasm.sh)",
                    source.display(),
                    decl.source,
                    manifest.base_dir.display()
                );
            }
            let redis_trigger = if redis_components.contains(id) {
                let component = crate::load::component(&engine, manifest, id)?;
                let pre = instantiate_pre(&linker, &component, id)?;
                let trigger = RedisTriggerPre::new(pre).map_err(anyhow::Error::from);
                Some(trigger.with_context(|| {
                    format!("component `{id}` has a Redis trigger but does not export spin:redis/inbound-redis@3.0.0")
                })?)
            } else {
                None
            };
            let component_variables = ComponentVariables::render(variables, &decl.variables)
                .with_context(|| format!("component `{id}` variables"))?;
            let allowed = decl
                .allowed_outbound_hosts
                .iter()
                .map(|entry| variables.render(entry))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("component `{id}` allowed_outbound_hosts"))?;
            let allowed_hosts = AllowedHosts::parse(allowed.iter().map(String::as_str))
                .with_context(|| format!("component `{id}` allowed_outbound_hosts"))?;
            let files = decl
                .files
                .iter()
                .map(|mount| resolve_mount(&manifest.base_dir, mount))
                .collect::<Result<Vec<_>>>()?;
            components.insert(
                id.clone(),
                LoadedComponent {
                    redis_trigger,
                    variables: component_variables,
                    allowed_hosts: Arc::new(allowed_hosts),
                    key_value_labels: Arc::new(decl.key_value_stores.iter().cloned().collect()),
                    environment: decl.environment.clone().into_iter().collect(),
                    files,
                },
            );
        }
        let mut handler_pres: HashMap<String, HttpHandlerPre> = HashMap::new();
        let mut chain_targets: HashMap<String, String> = HashMap::new();
        for trigger in &manifest.http_triggers {
            let key = trigger.handler_key();
            let id = &trigger.component;
            if !handler_pres.contains_key(&key) {
                let component = crate::load::http_handler(&engine, manifest, trigger)?;
                let pre = instantiate_pre(&linker, &component, id)?;
                let service = ServicePre::new(pre).map_err(anyhow::Error::from);
                let service = service.with_context(|| {
                    format!("component `{id}` has an HTTP trigger but does not export wasi:http/handler@0.3.0")
                })?;
                let component = id.clone();
                handler_pres.insert(key.clone(), HttpHandlerPre { component, service });
            }
            let private = trigger.route == crate::manifest::Route::Private;
            if private || !chain_targets.contains_key(id) {
                chain_targets.insert(id.clone(), key);
            }
        }
        let redis_triggers = manifest
            .redis_triggers
            .iter()
            .map(|trigger| {
                let address = trigger
                    .address
                    .as_ref()
                    .or(manifest.redis_default_address.as_ref())
                    .context("redis trigger without address")?;
                Ok(crate::redis_trigger::Subscription {
                    component: trigger.component.clone(),
                    channel: trigger.channel.clone(),
                    address: variables.render(address)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let router = Router::new(&manifest.http_triggers);
        Ok(Arc::new_cyclic(|app: &Weak<Self>| {
            let handlers = handler_pres
                .into_iter()
                .map(|(key, pre)| {
                    let handler =
                        crate::reuse::handler(app.clone(), pre.component, pre.service, reuse);
                    (key, handler)
                })
                .collect();
            Self {
                engine,
                components,
                handlers,
                chain_targets,
                router,
                key_value,
                redis_triggers,
                postgres_pools: crate::postgres::PostgresPools::default(),
                guest_stderr,
            }
        }))
    }

    /// Whether `<id>.spin.internal` reaches a component of this app.
    pub fn has_chain_target(&self, id: &str) -> bool {
        self.chain_targets.contains_key(id)
    }

    pub fn component(&self, id: &str) -> Result<&LoadedComponent> {
        self.components
            .get(id)
            .with_context(|| format!("no component `{id}` in this app"))
    }

    /// A fresh store for one instance of `component`.
    pub fn new_store(
        self: &Arc<Self>,
        component: &LoadedComponent,
    ) -> Result<Store<InstanceState>> {
        Ok(Store::new(
            &self.engine,
            InstanceState::new(self, component)?,
        ))
    }

    /// Runs one HTTP request through an instance of `component`. The response body is the
    /// guest's stream, handed on as it is produced (as Spin hands it to hyper), never buffered.
    pub async fn call_http(
        self: &Arc<Self>,
        handler_key: &str,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>> {
        let handler = self
            .handlers
            .get(handler_key)
            .with_context(|| format!("`{handler_key}` does not serve HTTP"))?;
        match handler.handle((), request).await {
            Ok(response) => Ok(response),
            Err(error) => match error.downcast::<ErrorCode>() {
                // The guest answered with a `wasi:http` error code rather than a response.
                Ok(code) => {
                    tracing::warn!("`{handler_key}` failed the request: {code:?}");
                    Ok(empty_response(http::StatusCode::INTERNAL_SERVER_ERROR))
                }
                Err(error) => Err(error.into()),
            },
        }
    }

    /// A request sent by a component to `http://<component>.spin.internal/...`.
    pub async fn handle_chained(
        self: &Arc<Self>,
        component: &str,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>> {
        let mut request = request;
        let path = request.uri().path().to_string();
        let handler = self
            .chain_targets
            .get(component)
            .with_context(|| format!("no HTTP component `{component}` in this app"))?;
        let route = RouteMatch {
            component: component.to_string(),
            handler: handler.clone(),
            raw_route: "/...".to_string(),
            component_route: String::new(),
            path_info: path,
        };
        let full_url = request.uri().to_string();
        crate::server::set_spin_headers(request.headers_mut(), &route, &full_url, None);
        Box::pin(self.call_http(handler, request)).await
    }
}

/// A response with no body, as Spin sends for 404 and 500.
pub fn empty_response(status: http::StatusCode) -> http::Response<WasiBody> {
    let body = Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
}

fn instantiate_pre(
    linker: &wasmtime::component::Linker<InstanceState>,
    component: &wasmtime::component::Component,
    id: &str,
) -> Result<InstancePre<InstanceState>> {
    linker
        .instantiate_pre(component)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("component `{id}` cannot be linked"))
}

fn resolve_mount(base_dir: &Path, mount: &FileMount) -> Result<ResolvedMount> {
    let (source, destination) = match mount {
        FileMount::Path(path) => (path.as_str(), format!("/{}", path.trim_start_matches('/'))),
        FileMount::Mapping {
            source,
            destination,
        } => (source.as_str(), destination.clone()),
    };
    let host_path = base_dir.join(source);
    if !host_path.is_dir() {
        bail!(
            "files entry `{source}`: only directories are supported by the test host ({} is not one)",
            host_path.display()
        );
    }
    Ok(ResolvedMount {
        host_path,
        guest_path: destination,
    })
}
