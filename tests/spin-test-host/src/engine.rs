//! One wasmtime engine per process, and compiled components cached in memory and on disk,
//! so a test suite that starts dozens of apps compiles each component once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The process-wide engine: components compiled for it can be shared by every app.
pub fn engine() -> Result<&'static Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine);
    }
    let engine = Engine::new(&config(true)).or_else(|pooling_error| {
        tracing::warn!(
            "pooling allocator unavailable ({pooling_error:#}); using on-demand allocation"
        );
        Engine::new(&config(false))
    })?;
    Ok(ENGINE.get_or_init(|| engine))
}

fn config(pooling: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    // `perf record` can name the components' compiled functions with this set (a perf map
    // per process in /tmp): where a benchmark's time goes inside the guests.
    if std::env::var_os("SPIN_TEST_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(1000)
            .total_core_instances(5000)
            .total_memories(2000)
            .total_tables(4000)
            .total_stacks(1000)
            .max_memory_size(256 << 20)
            .max_component_instance_size(1 << 20)
            .max_core_instance_size(1 << 20)
            .max_memories_per_component(4)
            .max_tables_per_component(8);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// The files a component is made of (path, mtime, size each) and how they are put together.
type MemoryKey = (Vec<(PathBuf, SystemTime, u64)>, String);

/// Loads the component that `compose` makes of `files` (`recipe` says how, e.g. which
/// middleware in which order): from the in-memory cache (keyed by each file's path, mtime and
/// size, and the recipe), the on-disk cache of precompiled artifacts (keyed by a hash of the
/// wasm and the engine), or by composing and compiling it, once per process.
pub fn load_composed(
    engine: &Engine,
    files: &[&Path],
    recipe: &str,
    compose: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Component> {
    static MEMORY: OnceLock<Mutex<HashMap<MemoryKey, Component>>> = OnceLock::new();
    let mut stamps = Vec::with_capacity(files.len());
    for path in files {
        let metadata = std::fs::metadata(path).with_context(|| {
            format!(
                "component {} not found: build the wasm first (scripts/build-wasm.sh)",
                path.display()
            )
        })?;
        stamps.push((path.to_path_buf(), metadata.modified()?, metadata.len()));
    }
    let key = (stamps, recipe.to_owned());
    // Held while compiling: parallel tests starting the same app wait for one compilation
    // instead of each doing it (Cranelift already uses every core for one component).
    let mut memory = lock(MEMORY.get_or_init(Mutex::default));
    if let Some(component) = memory.get(&key) {
        return Ok(component.clone());
    }
    let wasm = compose()?;
    let component = load_via_disk_cache(engine, &wasm)?;
    memory.insert(key, component.clone());
    Ok(component)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn load_via_disk_cache(engine: &Engine, wasm: &[u8]) -> Result<Component> {
    let Some(dir) = disk_cache_dir() else {
        return Ok(Component::new(engine, wasm)?);
    };
    let artifact = dir.join(format!("{}.cwasm", cache_key(engine, wasm)));
    if artifact.exists() {
        match deserialize(engine, &artifact) {
            Ok(component) => return Ok(component),
            Err(error) => tracing::warn!("ignoring cached {}: {error:#}", artifact.display()),
        }
    }
    let compiled = engine.precompile_component(wasm)?;
    std::fs::create_dir_all(&dir)?;
    // Write then rename, so concurrent test processes never read a half-written artifact.
    let partial = dir.join(format!(".{}.{}", std::process::id(), unique_suffix()));
    std::fs::write(&partial, &compiled)?;
    std::fs::rename(&partial, &artifact)?;
    deserialize(engine, &artifact)
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &Path) -> Result<Component> {
    // SAFETY: the artifact was produced by `Engine::precompile_component` of this same wasmtime
    // version and configuration (both are part of its file name), written to our own cache
    // directory by the atomic rename above; wasmtime also checks the header before mapping it.
    let component = unsafe { Component::deserialize_file(engine, artifact)? };
    Ok(component)
}

fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut digest = Sha256::new();
    digest.update(wasm);
    digest.update(env!("CARGO_PKG_NAME"));
    digest.update(wasmtime_version());
    digest.update(engine_hash.finish().to_le_bytes());
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The wasmtime major version, part of the key so artifact names stay readable in `ls`;
/// the engine's compatibility hash covers the exact build and configuration.
fn wasmtime_version() -> &'static str {
    "wasmtime-48"
}

fn unique_suffix() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn disk_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SPIN_TEST_HOST_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".cache/course-platform/spin-test-host"))
}
