//! The subset of Spin's runtime-config file the host understands: `[key_value_store.<label>]`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub key_value_store: BTreeMap<String, KeyValueStoreConfig>,
}

/// How one key-value store label is backed.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyValueStoreConfig {
    /// Spin's built-in store (SQLite in Spin); kept in memory here. Its `path` is accepted and ignored.
    Spin,
    Redis {
        url: String,
    },
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runtime config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid runtime config {}", path.display()))
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
            config.key_value_store["cache"],
            KeyValueStoreConfig::Spin
        ));
    }
}
