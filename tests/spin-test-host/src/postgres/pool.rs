//! Connection pools shared by every request of an app, one per address, as in Spin.
//!
//! Spin checks a pooled connection back in when the guest drops it and only runs
//! deadpool's "clean" recycling, which does not end a transaction: a `BEGIN` left
//! open by one request is still open for the next request that gets the connection.
//! Tests rely on seeing that, so this pool behaves the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host, SslMode};

/// The most connections Spin keeps per address.
const POOL_SIZE: usize = 64;

/// Pools keyed by connection string; cheap to clone, shared across stores.
#[derive(Clone, Default)]
pub struct PostgresPools {
    pools: Arc<Mutex<HashMap<String, Pool>>>,
}

impl PostgresPools {
    /// A pooled connection to `address`, opening one if none is idle.
    pub async fn connect(&self, address: &str) -> Result<Object, String> {
        let pool = self.pool(address)?;
        pool.get().await.map_err(|e| format!("{e:?}"))
    }

    fn pool(&self, address: &str) -> Result<Pool, String> {
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| "connection pool registry is poisoned".to_owned())?;
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let config = parse(address)?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(
                "sslmode=require: the test host does not implement TLS to PostgreSQL".into(),
            );
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Clean,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| format!("building connection pool: {e}"))?;
        pools.insert(address.to_owned(), pool.clone());
        Ok(pool)
    }
}

fn parse(address: &str) -> Result<tokio_postgres::Config, String> {
    address
        .parse::<tokio_postgres::Config>()
        .map_err(|e| format!("invalid PostgreSQL address: {e}"))
}

/// The `postgres://host:port` URLs an address connects to, for the allowed-hosts check.
pub fn target_urls(address: &str) -> Result<Vec<String>, String> {
    let config = parse(address)?;
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let port = match ports {
                [single] => *single,
                many => many.get(index).copied().unwrap_or(5432),
            };
            match host {
                Host::Tcp(name) => Ok(format!("postgres://{name}:{port}")),
                _ => Err("only TCP PostgreSQL addresses are supported".to_owned()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_see_host_and_port_of_the_address() {
        assert_eq!(
            target_urls("postgres://postgres@127.0.0.1/app?sslmode=disable"),
            Ok(vec!["postgres://127.0.0.1:5432".to_owned()])
        );
        assert_eq!(
            target_urls("host=db.example port=6543 user=x"),
            Ok(vec!["postgres://db.example:6543".to_owned()])
        );
        assert!(target_urls("not a url at all ===").is_err());
    }
}
