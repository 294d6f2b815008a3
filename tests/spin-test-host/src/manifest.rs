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
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
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
    fn rejects_triggers_for_unknown_components() {
        let text =
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n";
        let err = Manifest::parse(text, PathBuf::from("/")).expect_err("unknown component");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
