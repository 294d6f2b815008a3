//! The subset of Spin's runtime-config file the host understands: `[key_value_store.<label>]`
//! and `state_dir`, resolved as Spin resolves them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub key_value_store: BTreeMap<String, KeyValueStoreConfig>,
    /// Where Spin keeps the app's state (the `default` key-value store's SQLite file); `""`
    /// means none (the `default` store is then in memory).
    pub state_dir: Option<String>,
    /// The folder of the file this came from: relative store paths resolve from here.
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

/// Where the `default` key-value store lives, as `spin up` decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateDir {
    /// Spin's default: the runtime config's `state_dir`, else `<manifest folder>/.spin`.
    SpinDefault,
    /// `spin up --state-dir <dir>` (wins over the runtime config).
    Provided(PathBuf),
    /// `spin up --state-dir ""`: no state dir, the `default` store in memory.
    Unset,
}

impl StateDir {
    /// The state directory, or `None` for none.
    pub fn resolve(&self, config: &RuntimeConfig, manifest_dir: &Path) -> Result<Option<PathBuf>> {
        let chosen = match (self, config.state_dir.as_deref()) {
            (Self::Provided(dir), _) => Some(dir.clone()),
            (Self::Unset, _) | (Self::SpinDefault, Some("")) => None,
            (Self::SpinDefault, Some(dir)) => Some(PathBuf::from(dir)),
            (Self::SpinDefault, None) => return Ok(Some(manifest_dir.join(".spin"))),
        };
        chosen
            .map(|dir| std::path::absolute(&dir).context("cannot resolve the state dir"))
            .transpose()
    }
}

/// How one key-value store label is backed.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyValueStoreConfig {
    /// Spin's built-in store: a SQLite file at `path` (relative to the runtime config's folder),
    /// or in memory without one.
    Spin {
        path: Option<PathBuf>,
    },
    Redis {
        url: String,
    },
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runtime config {}", path.display()))?;
        let mut config: Self = toml::from_str(&text)
            .with_context(|| format!("invalid runtime config {}", path.display()))?;
        config.dir = Some(
            std::path::absolute(path)?
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        );
        Ok(config)
    }

    /// The SQLite file of a `type = "spin"` store: relative to this file's folder (relative to
    /// the working directory when there is no file), `None` for an in-memory store.
    pub fn spin_store_path(&self, path: Option<&Path>) -> Option<PathBuf> {
        let path = path?;
        Some(match &self.dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_and_spin_stores() {
        let config: RuntimeConfig = toml::from_str(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
             [key_value_store.cache]\ntype = \"spin\"\npath = \"cache.db\"\n",
        )
        .expect("valid");
        assert!(matches!(
            &config.key_value_store["default"],
            KeyValueStoreConfig::Redis { url } if url == "redis://127.0.0.1:6379"
        ));
        assert!(matches!(
            &config.key_value_store["cache"],
            KeyValueStoreConfig::Spin { path: Some(path) } if path == Path::new("cache.db")
        ));
    }
}

#[cfg(test)]
mod state_dir_tests {
    use super::*;

    fn config(state_dir: Option<&str>) -> RuntimeConfig {
        RuntimeConfig {
            state_dir: state_dir.map(str::to_string),
            ..RuntimeConfig::default()
        }
    }

    #[test]
    fn state_dir_resolves_as_in_spin_up() {
        let app = Path::new("/app");
        let spin = StateDir::SpinDefault;
        assert_eq!(
            spin.resolve(&config(None), app).ok().flatten(),
            Some("/app/.spin".into())
        );
        assert_eq!(spin.resolve(&config(Some("")), app).ok().flatten(), None);
        assert_eq!(
            spin.resolve(&config(Some("/state")), app).ok().flatten(),
            Some("/state".into())
        );
        let provided = StateDir::Provided("/flag".into());
        assert_eq!(
            provided
                .resolve(&config(Some("/state")), app)
                .ok()
                .flatten(),
            Some("/flag".into())
        );
        assert_eq!(
            StateDir::Unset.resolve(&config(None), app).ok().flatten(),
            None
        );
    }
}
