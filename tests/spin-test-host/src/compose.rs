//! Composition at load time, as Spin 4.1 does it with wac: a component's
//! `[component.X.dependencies]` are plugged into its imports, then the HTTP trigger's
//! `dependencies.middleware` are put in front of it, outermost first. The result is one
//! component: a call between its parts is a component call, not an HTTP request, and every
//! part runs with the primary component's configuration (its instance's store).
//!
//! Spin applies a "deny adapter" to a dependency that does not inherit a configuration set,
//! so its calls into those host interfaces fail. The test host has no such adapter: it
//! refuses to compose a dependency that imports an interface it would be denied, rather than
//! grant it more than Spin would.

use anyhow::{Context, Result, bail};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, PackageId};

use crate::manifest::{Dependency, Inherit};

/// The interface a middleware exports, and imports as the next handler.
const HANDLER: &str = "wasi:http/handler@0.3.0";

/// One part of a composition: its name in messages, and its wasm.
pub struct Part<'a> {
    pub name: String,
    pub wasm: Vec<u8>,
    pub dependency: &'a Dependency,
}

/// `primary` with each `(import name, part)` composed into the imports it satisfies.
pub fn with_dependencies(
    primary_id: &str,
    primary: Vec<u8>,
    parts: Vec<(&str, Part)>,
) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let primary_package = register(&mut graph, primary_id, primary)?;
    let primary_world = graph[primary_package].ty();
    let imports: Vec<String> = graph.types()[primary_world]
        .imports
        .keys()
        .cloned()
        .collect();
    let primary_node = graph.instantiate(primary_package);
    let mut satisfied: Vec<(String, String)> = Vec::new();
    for (dependency_name, part) in parts {
        let matched: Vec<&String> = imports
            .iter()
            .filter(|import| matches_import(dependency_name, import))
            .collect();
        if matched.is_empty() {
            bail!(
                "dependency `{dependency_name}` doesn't match any import of component `{primary_id}` \
                 (its imports: {})",
                imports.join(", ")
            );
        }
        check_inherit(&part)?;
        let export_override = part.dependency.export.clone();
        let name = part.name.clone();
        let package = register(&mut graph, &name, part.wasm)?;
        let node = graph.instantiate(package);
        for import in matched {
            if let Some((_, earlier)) = satisfied.iter().find(|(i, _)| i == import) {
                bail!(
                    "component `{primary_id}`: import `{import}` is satisfied by both \
                     `{earlier}` and `{dependency_name}`"
                );
            }
            let export = export_override.clone().unwrap_or_else(|| import.clone());
            let alias = graph.alias_instance_export(node, &export).with_context(|| {
                format!("dependency `{dependency_name}` ({name}) doesn't export `{export}` to satisfy `{import}`")
            })?;
            graph
                .set_instantiation_argument(primary_node, import, alias)
                .with_context(|| {
                    format!("dependency `{dependency_name}` ({name}): `{export}` does not fit import `{import}`")
                })?;
            satisfied.push((import.clone(), dependency_name.to_owned()));
        }
    }
    let exports: Vec<String> = graph.types()[primary_world]
        .exports
        .keys()
        .cloned()
        .collect();
    for export in exports {
        let alias = graph.alias_instance_export(primary_node, &export)?;
        graph.export(alias, &export)?;
    }
    encode(&graph).with_context(|| format!("cannot compose the dependencies of `{primary_id}`"))
}

/// `primary` behind `middleware` (outermost first): each middleware's next handler is the
/// one after it, the last one's is `primary`, and the outermost one's handler is exported.
pub fn with_middleware(
    primary_id: &str,
    primary: Vec<u8>,
    middleware: Vec<Part>,
) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let primary_package = register(&mut graph, primary_id, primary)?;
    let node = graph.instantiate(primary_package);
    let mut next = graph
        .alias_instance_export(node, HANDLER)
        .with_context(|| format!("component `{primary_id}` does not export {HANDLER}"))?;
    for part in middleware.into_iter().rev() {
        check_inherit(&part)?;
        let name = part.name.clone();
        let package: PackageId = register(&mut graph, &name, part.wasm)?;
        let node = graph.instantiate(package);
        graph
            .set_instantiation_argument(node, HANDLER, next)
            .with_context(|| format!("middleware {name} does not import {HANDLER}"))?;
        next = graph
            .alias_instance_export(node, HANDLER)
            .with_context(|| format!("middleware {name} does not export {HANDLER}"))?;
    }
    graph.export(next, HANDLER)?;
    encode(&graph).with_context(|| format!("cannot compose the middleware of `{primary_id}`"))
}

fn register(graph: &mut CompositionGraph, name: &str, wasm: Vec<u8>) -> Result<PackageId> {
    // wac wants package-style names; component ids are kebab-case already.
    let package_name = format!(
        "app:{}",
        name.trim_matches('`').replace(['/', ' ', '.'], "-")
    );
    let package = Package::from_bytes(&package_name, None, wasm, graph.types_mut())
        .with_context(|| format!("{name} is not a valid component"))?;
    Ok(graph.register_package(package)?)
}

fn encode(graph: &CompositionGraph) -> Result<Vec<u8>> {
    Ok(graph.encode(EncodeOptions {
        define_components: true,
        validate: false,
        processor: None,
    })?)
}

/// Whether a dependency name from the manifest (`ns:pkg/iface@1.0.0`, `ns:pkg/iface`,
/// `ns:pkg@1.0.0`, `ns:pkg` or a plain name) names the import `import`.
fn matches_import(dependency: &str, import: &str) -> bool {
    let split = |name: &str| -> (String, Option<String>, Option<String>) {
        let (name, version) = match name.split_once('@') {
            Some((name, version)) => (name, Some(version.to_owned())),
            None => (name, None),
        };
        match name.split_once('/') {
            Some((package, interface)) => (package.to_owned(), Some(interface.to_owned()), version),
            None => (name.to_owned(), None, version),
        }
    };
    let (dep_package, dep_interface, dep_version) = split(dependency);
    let (package, interface, version) = split(import);
    if !dependency.contains(':') || !import.contains(':') {
        return dependency == import;
    }
    dep_package == package
        && dep_interface.is_none_or(|wanted| interface.as_deref() == Some(wanted.as_str()))
        && dep_version.is_none_or(|wanted| version.as_deref() == Some(wanted.as_str()))
}

/// Host interfaces by the configuration set that grants them (`inherit_configuration` names).
/// Matched without version: any version of these is denied unless its set is inherited.
const CAPABILITIES: &[(&str, &[&str])] = &[
    (
        "allowed_outbound_hosts",
        &[
            "wasi:http/client",
            "wasi:http/outgoing-handler",
            "wasi:sockets/",
            "spin:postgres/",
            "spin:redis/redis",
            "spin:mysql/",
            "spin:mqtt/",
            "fermyon:spin/postgres",
            "fermyon:spin/redis",
            "fermyon:spin/mysql",
            "fermyon:spin/mqtt",
            "fermyon:spin/http",
        ],
    ),
    (
        "key_value_stores",
        &[
            "spin:key-value/",
            "fermyon:spin/key-value",
            "wasi:keyvalue/",
        ],
    ),
    (
        "variables",
        &[
            "spin:variables/",
            "fermyon:spin/variables",
            "fermyon:spin/config",
            "wasi:config/",
        ],
    ),
    ("environment", &["wasi:cli/environment"]),
    ("files", &["wasi:filesystem/preopens"]),
    ("sqlite_databases", &["spin:sqlite/", "fermyon:spin/sqlite"]),
    ("ai_models", &["fermyon:spin/llm"]),
];

/// Refuses a dependency that imports a host interface its `inherit_configuration` denies.
fn check_inherit(part: &Part) -> Result<()> {
    let inherit = &part.dependency.inherit_configuration;
    if *inherit == Inherit::All(true) {
        return Ok(());
    }
    let mut types = wac_graph::types::Types::default();
    let package = Package::from_bytes("app:check", None, part.wasm.clone(), &mut types)
        .with_context(|| format!("{} is not a valid component", part.name))?;
    for import in types[package.ty()].imports.keys() {
        for (set, interfaces) in CAPABILITIES {
            if !inherit.includes(set) && interfaces.iter().any(|prefix| import.starts_with(prefix))
            {
                bail!(
                    "{} imports `{import}`, which Spin would deny it without \
                     `inherit_configuration = true` (or a list naming \"{set}\"); the test host \
                     does not implement Spin's deny adapter and refuses to compose it",
                    part.name
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::matches_import;

    #[test]
    fn dependency_names_match_imports_by_package_interface_and_version() {
        for (dependency, import) in [
            ("a:b/c@0.1.0", "a:b/c@0.1.0"),
            ("a:b/c", "a:b/c@0.1.0"),
            ("a:b/c", "a:b/c"),
            ("a:b", "a:b/c@0.1.0"),
            ("a:b@0.1.0", "a:b/c@0.1.0"),
            ("plain", "plain"),
        ] {
            assert!(
                matches_import(dependency, import),
                "{dependency} ~ {import}"
            );
        }
        for (dependency, import) in [
            ("a:b/c@0.1.0", "a:b/c"),
            ("a:b/c", "a:b/d"),
            ("a:b", "a:x/c"),
            ("a:b/c", "a:b/c-d"),
            ("plain", "a:plain/c"),
        ] {
            assert!(
                !matches_import(dependency, import),
                "{dependency} !~ {import}"
            );
        }
    }
}
