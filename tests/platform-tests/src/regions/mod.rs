//! Three regions of the app (us-east next to the PostgreSQL primary, eu-west, ap-south),
//! each its own app instance on the test host, routed by the geo-router.
//!
//! Clients are placed by address: test clients connect from 127.0.0.2, the routers' one
//! trusted proxy, and send `x-forwarded-for` with public addresses of known countries.
//! Routers reach each other from 127.0.0.1, which they do not trust: a forwarded request
//! is attributed to its client only through the authenticated hop, as between real regions.
//! Needs a streaming replica on 127.0.0.1:5433 (`deploy/local-replica.sh start`, run by the
//! tests themselves).

mod replica;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;

use anyhow::{Context, Result};
use reqwest::Response;
use serde_json::json;
use spin_test_host::{RunningApp, TestRedis};
use tokio::sync::SemaphorePermit;
use uuid::Uuid;

pub use replica::{CATCH_UP_DEADLINE, replica_sql};

use crate::accounts::User;
use crate::app::{Database, Launch};
use crate::http::{Client, header};

/// Public addresses whose registry country is stable: Australia (→ ap-south),
/// the Netherlands (→ eu-west), Brazil (→ us-east).
pub const AUSTRALIA: &str = "202.12.29.1";
pub const NETHERLANDS: &str = "193.0.0.1";
pub const BRAZIL: &str = "200.160.0.1";
pub const REGION_NAMES: [&str; 3] = ["us-east", "eu-west", "ap-south"];
/// Where test clients connect from: the routers' trusted proxy (a CDN, say). The routers
/// themselves connect to each other from 127.0.0.1, which they do not trust.
const CLIENT_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const HOP_SECRET: &str = "test-hop-secret";

pub struct Regions {
    apps: Vec<Option<RunningApp>>,
    clients: Vec<Client>,
    pub db: Database,
    _redis: TestRedis,
    _runtime_config: ScratchFile,
    _replica: SemaphorePermit<'static>,
}

/// A file removed on drop.
struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// No variables beyond those every region gets.
fn no_more(_region: &str) -> Vec<(&'static str, String)> {
    Vec::new()
}

/// Where the regions keep sessions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sessions {
    /// One Redis for every region, so a sign-in is valid everywhere (SpinKube, local).
    Shared,
    /// Each region's own store.
    PerRegion,
}

fn index_of(region: &str) -> usize {
    REGION_NAMES
        .iter()
        .position(|name| *name == region)
        .unwrap_or_else(|| panic!("no region {region}"))
}

impl Regions {
    /// Three regions on one migrated database with the fixture catalog. Sessions are kept
    /// in the shared Redis (valid in every region); carts and router state per region.
    pub async fn start(variables: &[(&str, &str)]) -> Result<Regions> {
        Self::start_holding(
            variables,
            Sessions::Shared,
            &no_more,
            replica::hold(false).await?,
        )
        .await
    }

    /// As on a host whose key-value store is per region (Akamai Functions): each region
    /// keeps its own sessions, and the routers are told so (`sessions_regional`).
    pub async fn start_with_regional_sessions(variables: &[(&str, &str)]) -> Result<Regions> {
        let replica = replica::hold(false).await?;
        Self::start_holding(variables, Sessions::PerRegion, &no_more, replica).await
    }

    /// Like [`Regions::start`], with variables that differ per region: `each(region)` gives
    /// that region's, set after `variables`.
    pub async fn start_each(
        variables: &[(&str, &str)],
        each: &dyn Fn(&str) -> Vec<(&'static str, String)>,
    ) -> Result<Regions> {
        Self::start_holding(
            variables,
            Sessions::Shared,
            each,
            replica::hold(false).await?,
        )
        .await
    }

    /// For tests that pause the replica's replay: no other region test runs meanwhile.
    pub async fn start_exclusive(variables: &[(&str, &str)]) -> Result<Regions> {
        Self::start_holding(
            variables,
            Sessions::Shared,
            &no_more,
            replica::hold(true).await?,
        )
        .await
    }

    async fn start_holding(
        variables: &[(&str, &str)],
        sessions: Sessions,
        each: &dyn Fn(&str) -> Vec<(&'static str, String)>,
        replica: SemaphorePermit<'static>,
    ) -> Result<Regions> {
        replica::ensure_replica()?;
        replica_sql("select pg_wal_replay_resume()").await?;
        let db = Database::with_fixtures().await?;
        // Regions read the replica: start once it has the fixtures, as a real deploy would.
        replica::replica_caught_up(&db).await?;
        let redis = TestRedis::spawn().await?;
        let runtime_config = ScratchFile(
            std::env::temp_dir().join(format!("regions-{}.toml", Uuid::now_v7().simple())),
        );
        let sessions_store = match sessions {
            Sessions::Shared => format!("type = \"redis\"\nurl = \"{}\"", redis.url()),
            Sessions::PerRegion => "type = \"spin\"".to_owned(),
        };
        std::fs::write(
            &runtime_config.0,
            format!(
                "[key_value_store.sessions]\n{sessions_store}\n\
                 [key_value_store.catalog-cache]\ntype = \"spin\"\n\
                 [key_value_store.carts]\ntype = \"spin\"\n\
                 [key_value_store.payments_test]\ntype = \"spin\"\n"
            ),
        )?;
        let ports = [free_port()?, free_port()?, free_port()?];
        let topology = json!([
            {"name": "us-east", "origin": format!("http://127.0.0.1:{}", ports[0]), "lat": 39.0, "lon": -77.5, "primary": true},
            {"name": "eu-west", "origin": format!("http://127.0.0.1:{}", ports[1]), "lat": 53.3, "lon": -6.3},
            {"name": "ap-south", "origin": format!("http://127.0.0.1:{}", ports[2]), "lat": 19.1, "lon": 72.9},
        ])
        .to_string();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(IpAddr::from(CLIENT_ADDRESS))
            .build()?;
        let mut apps = Vec::new();
        let mut clients = Vec::new();
        for (name, port) in REGION_NAMES.iter().zip(ports) {
            let mut launch = Launch {
                runtime_config: Some(runtime_config.0.clone()),
                listen: Some(SocketAddr::from(([127, 0, 0, 1], port))),
                ..Launch::default()
            }
            .variable("replica_database_url", replica::replica_url(&db.url()))
            .variable("region", *name)
            .variable("regions", topology.clone())
            .variable("trusted_proxies", CLIENT_ADDRESS.to_string())
            .variable("hop_secret", HOP_SECRET)
            .variable("upstream_timeout_ms", "3000")
            .variable("health_cooldown_ms", "60000")
            .variable(
                "sessions_regional",
                (sessions == Sessions::PerRegion).to_string(),
            );
            for (variable, value) in variables {
                launch = launch.variable(variable, *value);
            }
            for (variable, value) in each(name) {
                launch = launch.variable(variable, value);
            }
            let app = launch
                .start(&db.url(), &redis.url())
                .await
                .with_context(|| format!("starting {name}"))?;
            clients.push(Client::new(http.clone(), app.base_url()));
            apps.push(Some(app));
        }
        Ok(Regions {
            apps,
            clients,
            db,
            _redis: redis,
            _runtime_config: runtime_config,
            _replica: replica,
        })
    }

    /// An anonymous client at `client_ip` whose requests enter at `region`.
    pub fn entering(&self, region: &str, client_ip: &str) -> Client {
        self.clients[index_of(region)].forwarded_for(client_ip)
    }

    pub async fn stop(&mut self, region: &str) {
        if let Some(app) = self.apps[index_of(region)].take() {
            app.stop().await;
        }
    }

    /// A new user of `role`, signed in through us-east by a client in Brazil (the session
    /// lives in the shared Redis, valid in every region).
    pub async fn user(&self, role: accounts_core::Role) -> Result<User> {
        let credentials = self.db.create_user(role).await?;
        self.entering("us-east", BRAZIL)
            .signed_in(&credentials)
            .await
    }

    /// `(orders, order lines)` of a user, counted in the primary.
    pub async fn orders_of(&self, user_id: Uuid) -> Result<(i64, i64)> {
        let row = self
            .db
            .client
            .query_one(
                "SELECT count(DISTINCT o.id), count(l.order_id) FROM orders o \
                 LEFT JOIN order_lines l ON l.order_id = o.id WHERE o.user_id = $1::text::uuid",
                &[&user_id.to_string()],
            )
            .await?;
        Ok((row.get(0), row.get(1)))
    }
}

/// The region that served a response.
pub fn served_by(response: &Response) -> String {
    header(response, "x-served-by")
}
