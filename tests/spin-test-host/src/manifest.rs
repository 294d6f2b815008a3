//! Reading a Spin manifest (`spin_manifest_version = 2`): only the parts the host acts on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// A parsed `spin.toml`, with component sources resolved to absolute paths.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Directory holding the manifest: relative paths in it resolve from here.
    pub base_dir: PathBuf,
    pub variables: BTreeMap<String, VariableDecl>,
    pub components: BTreeMap<String, ComponentDecl>,
    pub http_triggers: Vec<HttpTrigger>,
    pub redis_triggers: Vec<RedisTrigger>,
    /// `[application.trigger.redis] address`, the default for triggers without their own.
    pub redis_default_address: Option<String>,
}

/// One `[variables]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    pub description: Option<String>,
}

/// One `[component.<id>]` table.
#[derive(Debug, Clone, Deserialize)]
pub struct ComponentDecl {
    #[serde(deserialize_with = "source_path")]
    pub source: String,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variables: name → template over application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<FileMount>,
    /// `[component.<id>.dependencies]`: import name (`ns:pkg/iface[@version]`, `ns:pkg`, or a
    /// plain name) → the component that satisfies it, composed in at load time.
    #[serde(default)]
    pub dependencies: BTreeMap<String, Dependency>,
}

/// A component dependency or an HTTP middleware: another component of this app
/// (`component = "id"`) or a wasm file (`path = "..."`), composed in at load time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub component: Option<String>,
    pub path: Option<String>,
    /// The dependency's export that satisfies the import; by default the import's own name.
    pub export: Option<String>,
    #[serde(default)]
    pub inherit_configuration: Inherit,
}

/// Which of the primary component's configuration a dependency may use
/// (`inherit_configuration`): all of it, none (the default), or the named sets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(untagged)]
pub enum Inherit {
    All(bool),
    Some(Vec<String>),
    #[default]
    #[serde(skip)]
    Nothing,
}

impl Inherit {
    /// Whether the dependency may use the configuration set `name` (`key_value_stores`, ...).
    pub fn includes(&self, name: &str) -> bool {
        match self {
            Self::All(all) => *all,
            Self::Some(names) => names.iter().any(|n| n == name),
            Self::Nothing => false,
        }
    }
}

/// Where a dependency's wasm comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencySource {
    /// Another component of the app: its `source`, resolved from the manifest's folder.
    Component(String),
    /// A wasm file, resolved from the manifest's folder.
    Path(String),
}

impl Dependency {
    /// The one source this dependency names.
    pub fn source(&self) -> Result<DependencySource> {
        match (&self.component, &self.path) {
            (Some(component), None) => Ok(DependencySource::Component(component.clone())),
            (None, Some(path)) => Ok(DependencySource::Path(path.clone())),
            (Some(_), Some(_)) => bail!("a dependency names both `component` and `path`"),
            (None, None) => bail!(
                "a dependency must name `component` or `path` (registry packages are not \
                 supported by the test host)"
            ),
        }
    }

    /// How the dependency is named in messages.
    pub fn describe(&self) -> String {
        match self.source() {
            Ok(DependencySource::Component(id)) => format!("component `{id}`"),
            Ok(DependencySource::Path(path)) => format!("`{path}`"),
            Err(_) => "an invalid dependency".into(),
        }
    }
}

/// A `files` entry: a directory or file mapped into the guest filesystem.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    /// A path relative to the manifest, mounted at the same path in the guest.
    Path(String),
    Mapping {
        source: String,
        destination: String,
    },
}

/// A `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub component: String,
    pub route: Route,
    /// `dependencies.middleware`, outermost first: composed in front of `component`.
    pub middleware: Vec<Dependency>,
}

impl HttpTrigger {
    /// Names what serves this trigger: the component, and its middleware if any. Triggers
    /// with the same key share one composed component and its instances.
    pub fn handler_key(&self) -> String {
        if self.middleware.is_empty() {
            return self.component.clone();
        }
        let chain: Vec<String> = self.middleware.iter().map(Dependency::describe).collect();
        format!("{} behind {}", self.component, chain.join(" > "))
    }
}

/// Where an HTTP trigger listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/a/b`: only that path.
    Exact(String),
    /// `/a/...`: the prefix `/a` and everything below it (stored without the `/...`).
    Wildcard(String),
    /// `{ private = true }`: reachable only through `<component>.spin.internal`.
    Private,
}

/// A `[[trigger.redis]]` entry.
#[derive(Debug, Clone)]
pub struct RedisTrigger {
    pub component: String,
    pub channel: String,
    /// The trigger's own address (a template), if it has one.
    pub address: Option<String>,
}

fn source_path<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Source {
        Path(String),
        Remote { url: String },
    }
    match Source::deserialize(deserializer)? {
        Source::Path(path) => Ok(path),
        Source::Remote { url } => Err(serde::de::Error::custom(format!(
            "remote component sources ({url}) are not supported by the test host"
        ))),
    }
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    #[serde(default)]
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    component: BTreeMap<String, ComponentDecl>,
    #[serde(default)]
    trigger: RawTriggers,
}

#[derive(Deserialize, Default)]
struct RawApplication {
    #[serde(default)]
    trigger: RawApplicationTriggers,
}

#[derive(Deserialize, Default)]
struct RawApplicationTriggers {
    redis: Option<RawRedisAppConfig>,
}

#[derive(Deserialize)]
struct RawRedisAppConfig {
    address: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
    #[serde(default)]
    redis: Vec<RawRedisTrigger>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
    #[serde(default)]
    dependencies: RawTriggerDependencies,
}

/// An HTTP trigger's `dependencies`: only `middleware`, as in Spin.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTriggerDependencies {
    #[serde(default)]
    middleware: Vec<Dependency>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
struct RawRedisTrigger {
    channel: String,
    component: String,
    address: Option<String>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, base_dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; `base_dir` is where relative paths resolve.
    pub fn parse(text: &str, base_dir: PathBuf) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text)?;
        if raw.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version {} is not supported (only 2)",
                raw.spin_manifest_version
            );
        }
        for (name, decl) in &raw.variables {
            if decl.required && decl.default.is_some() {
                bail!("variable `{name}` cannot be both required and have a default");
            }
        }
        let mut http_triggers = Vec::new();
        for trigger in raw.trigger.http {
            let route = match trigger.route {
                RawRoute::Private { private: true } => Route::Private,
                RawRoute::Private { private: false } => {
                    bail!(
                        "route = {{ private = false }} is not valid (component `{}`)",
                        trigger.component
                    )
                }
                RawRoute::Path(path) => parse_route(&path)?,
            };
            http_triggers.push(HttpTrigger {
                component: trigger.component,
                route,
                middleware: trigger.dependencies.middleware,
            });
        }
        let redis_triggers = raw
            .trigger
            .redis
            .into_iter()
            .map(|t| RedisTrigger {
                component: t.component,
                channel: t.channel,
                address: t.address,
            })
            .collect::<Vec<_>>();
        let manifest = Self {
            base_dir,
            variables: raw.variables,
            components: raw.component,
            http_triggers,
            redis_triggers,
            redis_default_address: raw.application.trigger.redis.and_then(|r| r.address),
        };
        manifest.check_references()?;
        Ok(manifest)
    }

    fn check_references(&self) -> Result<()> {
        let triggered = self
            .http_triggers
            .iter()
            .map(|t| &t.component)
            .chain(self.redis_triggers.iter().map(|t| &t.component));
        for component in triggered {
            if !self.components.contains_key(component) {
                bail!("a trigger names component `{component}`, which is not declared");
            }
        }
        let middleware = self.http_triggers.iter().flat_map(|t| &t.middleware);
        let dependencies = self
            .components
            .values()
            .flat_map(|component| component.dependencies.values());
        for dependency in middleware.chain(dependencies) {
            if let DependencySource::Component(id) = dependency.source()?
                && !self.components.contains_key(&id)
            {
                bail!("a dependency names component `{id}`, which is not declared");
            }
        }
        for trigger in &self.redis_triggers {
            if trigger.address.is_none() && self.redis_default_address.is_none() {
                bail!(
                    "redis trigger for channel `{}` has no address and [application.trigger.redis] sets none",
                    trigger.channel
                );
            }
        }
        Ok(())
    }

    /// The wasm file of a component, as Spin resolves it: relative to the manifest's folder,
    /// whatever `CARGO_TARGET_DIR` says (Spin never looks at it).
    pub fn component_source(&self, component: &ComponentDecl) -> PathBuf {
        resolve_source(&self.base_dir, &component.source)
    }

    /// The wasm file of a dependency or middleware.
    pub fn dependency_source(&self, dependency: &Dependency) -> Result<PathBuf> {
        Ok(match dependency.source()? {
            DependencySource::Component(id) => {
                let component = self
                    .components
                    .get(&id)
                    .with_context(|| format!("no component `{id}`"))?;
                self.component_source(component)
            }
            DependencySource::Path(path) => resolve_source(&self.base_dir, &path),
        })
    }
}

fn resolve_source(base_dir: &Path, source: &str) -> PathBuf {
    base_dir.join(source)
}

fn parse_route(path: &str) -> Result<Route> {
    if !path.starts_with('/') {
        bail!("route `{path}` must start with `/`");
    }
    if let Some(prefix) = path.strip_suffix("/...") {
        return Ok(Route::Wildcard(prefix.to_string()));
    }
    if path.contains("...") {
        bail!("route `{path}`: `...` is only allowed as the last segment");
    }
    Ok(Route::Exact(path.trim_end_matches('/').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[application.trigger.redis]
address = "{{ redis_url }}"
[variables]
redis_url = { default = "redis://127.0.0.1:6379" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/hello"
component = "hello"
[[trigger.http]]
route = "/api/..."
component = "hello"
[[trigger.http]]
route = { private = true }
component = "hello"
[[trigger.redis]]
channel = "events"
component = "hello"
[component.hello]
source = "target/wasm32-wasip2/release/hello.wasm"
key_value_stores = ["default"]
allowed_outbound_hosts = ["http://*.spin.internal"]
[component.hello.variables]
greeting = "hi {{ token }}"
"#;

    #[test]
    fn reads_routes_variables_and_redis_address() {
        let manifest = Manifest::parse(MANIFEST, PathBuf::from("/app")).expect("valid manifest");
        let routes: Vec<_> = manifest
            .http_triggers
            .iter()
            .map(|t| t.route.clone())
            .collect();
        assert_eq!(
            routes,
            vec![
                Route::Exact("/hello".into()),
                Route::Wildcard("/api".into()),
                Route::Private
            ]
        );
        assert!(manifest.variables["token"].required);
        assert_eq!(
            manifest.redis_default_address.as_deref(),
            Some("{{ redis_url }}")
        );
        assert_eq!(
            manifest.components["hello"].variables["greeting"],
            "hi {{ token }}"
        );
    }

    #[test]
    fn sources_resolve_from_the_manifest_folder_only() {
        let resolved = resolve_source(Path::new("/app"), "target/wasm32-wasip2/release/x.wasm");
        assert_eq!(
            resolved,
            PathBuf::from("/app/target/wasm32-wasip2/release/x.wasm")
        );
        let up = resolve_source(Path::new("/app/tests/fixtures"), "../../target/x.wasm");
        assert_eq!(up, PathBuf::from("/app/tests/fixtures/../../target/x.wasm"));
        let absolute = resolve_source(Path::new("/app"), "/opt/x.wasm");
        assert_eq!(absolute, PathBuf::from("/opt/x.wasm"));
    }

    #[test]
    fn reads_middleware_and_component_dependencies() {
        let text = r#"
spin_manifest_version = 2
[[trigger.http]]
route = "/..."
component = "app"
dependencies.middleware = [{ component = "router", inherit_configuration = true }, { path = "mw.wasm" }]
[component.app]
source = "app.wasm"
[component.app.dependencies]
"course-platform:payments/provider" = { component = "provider", inherit_configuration = ["variables"] }
[component.router]
source = "router.wasm"
[component.provider]
source = "provider.wasm"
"#;
        let manifest = Manifest::parse(text, PathBuf::from("/app")).expect("valid manifest");
        let trigger = &manifest.http_triggers[0];
        assert_eq!(
            trigger.handler_key(),
            "app behind component `router` > `mw.wasm`"
        );
        assert_eq!(
            trigger.middleware[0].inherit_configuration,
            Inherit::All(true)
        );
        assert_eq!(
            trigger.middleware[1].inherit_configuration,
            Inherit::Nothing
        );
        assert_eq!(
            manifest
                .dependency_source(&trigger.middleware[1])
                .expect("a path"),
            PathBuf::from("/app/mw.wasm")
        );
        let provider =
            &manifest.components["app"].dependencies["course-platform:payments/provider"];
        assert!(provider.inherit_configuration.includes("variables"));
        assert!(!provider.inherit_configuration.includes("key_value_stores"));
        assert_eq!(
            manifest.dependency_source(provider).expect("a component"),
            PathBuf::from("/app/provider.wasm")
        );
    }

    #[test]
    fn rejects_triggers_for_unknown_components() {
        let text =
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n";
        let err = Manifest::parse(text, PathBuf::from("/")).expect_err("unknown component");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
