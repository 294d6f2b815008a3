//! Reading and compiling what a trigger runs: a component with its dependencies composed in,
//! and for an HTTP trigger, its middleware in front (see `compose`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::compose::{self, Part};
use crate::manifest::{Dependency, HttpTrigger, Manifest};

/// The component `id` with its `[component.id.dependencies]` composed in.
pub fn component(engine: &Engine, manifest: &Manifest, id: &str) -> Result<Component> {
    let files = files(manifest, id, &[])?;
    let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    crate::engine::load_composed(engine, &files, "dependencies", || {
        with_dependencies(manifest, id)
    })
    .with_context(|| format!("component `{id}`"))
}

/// What serves `trigger`: its component (with dependencies) behind its middleware.
pub fn http_handler(
    engine: &Engine,
    manifest: &Manifest,
    trigger: &HttpTrigger,
) -> Result<Component> {
    if trigger.middleware.is_empty() {
        return component(engine, manifest, &trigger.component);
    }
    let id = &trigger.component;
    let files = files(manifest, id, &trigger.middleware)?;
    let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    crate::engine::load_composed(engine, &files, &trigger.handler_key(), || {
        let primary = with_dependencies(manifest, id)?;
        let middleware = trigger
            .middleware
            .iter()
            .map(|dependency| part(manifest, dependency, "middleware"))
            .collect::<Result<Vec<_>>>()?;
        compose::with_middleware(id, primary, middleware)
    })
    .with_context(|| format!("HTTP trigger of component `{id}`"))
}

fn with_dependencies(manifest: &Manifest, id: &str) -> Result<Vec<u8>> {
    let decl = &manifest.components[id];
    let source = manifest.component_source(decl);
    let primary = read(&source, &decl.source)?;
    if decl.dependencies.is_empty() {
        return Ok(primary);
    }
    let parts = decl
        .dependencies
        .iter()
        .map(|(name, dependency)| Ok((name.as_str(), part(manifest, dependency, "dependency")?)))
        .collect::<Result<Vec<_>>>()?;
    compose::with_dependencies(id, primary, parts)
}

fn part<'a>(manifest: &Manifest, dependency: &'a Dependency, role: &str) -> Result<Part<'a>> {
    let path = manifest.dependency_source(dependency)?;
    let wasm = read(&path, &path.display().to_string())?;
    Ok(Part {
        name: format!("{role} {}", dependency.describe()),
        wasm,
        dependency,
    })
}

/// Every wasm file the composition reads: a change to any of them makes a new one.
fn files(manifest: &Manifest, id: &str, middleware: &[Dependency]) -> Result<Vec<PathBuf>> {
    let decl = manifest
        .components
        .get(id)
        .with_context(|| format!("no component `{id}`"))?;
    let mut files = vec![manifest.component_source(decl)];
    for dependency in decl.dependencies.values().chain(middleware) {
        files.push(manifest.dependency_source(dependency)?);
    }
    for file in &files {
        read_check(file, manifest)?;
    }
    Ok(files)
}

fn read_check(path: &Path, manifest: &Manifest) -> Result<()> {
    if !path.is_file() {
        bail!(
            "failed to read component source from disk at path \"{}\" (sources resolve from \
             the manifest's folder {}, as in Spin; build it with `spin build` or \
             scripts/build-wasm.sh)",
            path.display(),
            manifest.base_dir.display()
        );
    }
    Ok(())
}

/// Reads a file `files` has already checked exists.
fn read(path: &Path, named: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{named}` at {}", path.display()))
}
