//! Three regions of the app (us-east next to the PostgreSQL primary, eu-west, ap-south),
//! each its own app instance on the test host, routed by the geo-router.
//!
//! Clients are placed by address: test clients connect from 127.0.0.2, the routers' one
//! trusted proxy, and send `x-forwarded-for` with public addresses of known countries.
//! Routers reach each other from 127.0.0.1, which they do not trust: a forwarded request
//! is attributed to its client only through the authenticated hop, as between real regions.
//! Needs a streaming replica on 127.0.0.1:5433 (`deploy/local-replica.sh start`, run by the
//! tests themselves).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use platform_tests::spin_test_host::{App, RunningApp, TestRedis, workspace_root};
use platform_tests::{Database, create_user, fixtures, header, with_cookie};
use reqwest::Response;
use serde_json::json;
use uuid::Uuid;

/// Public addresses whose registry country is stable: Australia (→ ap-south),
/// the Netherlands (→ eu-west), Brazil (→ us-east).
pub const AUSTRALIA: &str = "202.12.29.1";
pub const NETHERLANDS: &str = "193.0.0.1";
pub const BRAZIL: &str = "200.160.0.1";
pub const SUCCESS_CARD: &str = "4242424242424242";
pub const REGION_NAMES: [&str; 3] = ["us-east", "eu-west", "ap-south"];
pub const REPLICA_PORT: u16 = 5433;
/// Where test clients connect from: the routers' trusted proxy (a CDN, say). The routers
/// themselves connect to each other from 127.0.0.1, which they do not trust.
pub const CLIENT_ADDRESS: &str = "127.0.0.2";
/// A bound, not a pause: CI loads the replica with every other test's databases.
pub const CATCH_UP_DEADLINE: Duration = Duration::from_secs(60);

/// The replica is shared by every test (physical replication): tests that pause its replay
/// take every share, the others one each.
pub const REPLICA_SHARES: u32 = 64;
pub static REPLICA: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(REPLICA_SHARES as usize);

pub struct Regions {
    apps: Vec<Option<RunningApp>>,
    ports: Vec<u16>,
    pub db: Database,
    http: reqwest::Client,
    _redis: TestRedis,
    _runtime_config: tempfile_path::TempFile,
    _replica: tokio::sync::SemaphorePermit<'static>,
}

/// A scratch file removed on drop (no extra crate for one file).
mod tempfile_path {
    use std::path::PathBuf;

    pub struct TempFile(pub PathBuf);

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn replica_url(primary_url: &str) -> String {
    primary_url.replace(":5432/", &format!(":{REPLICA_PORT}/"))
}

impl Regions {
    /// Three regions on one migrated database with the fixture catalog. Sessions are kept
    /// in the shared Redis (valid in every region); carts and router state per region.
    pub async fn start(extra: &[(&str, &str)]) -> Result<Regions> {
        Self::start_with(extra, REPLICA.acquire().await?).await
    }

    /// For tests that pause the replica's replay: no other region test runs meanwhile.
    pub async fn start_exclusive(extra: &[(&str, &str)]) -> Result<Regions> {
        Self::start_with(extra, REPLICA.acquire_many(REPLICA_SHARES).await?).await
    }

    pub async fn start_with(
        extra: &[(&str, &str)],
        replica: tokio::sync::SemaphorePermit<'static>,
    ) -> Result<Regions> {
        ensure_replica()?;
        replica_sql("select pg_wal_replay_resume()").await?;
        let db = Database::migrated().await?;
        fixtures::catalog(&db.client).await?;
        // Regions read the replica: start once it has the fixtures, as a real deploy would.
        replica_caught_up(&db).await?;
        let redis = TestRedis::spawn().await?;
        let runtime_config = tempfile_path::TempFile(
            std::env::temp_dir().join(format!("regions-{}.toml", Uuid::now_v7().simple())),
        );
        std::fs::write(
            &runtime_config.0,
            format!(
                "[key_value_store.sessions]\ntype = \"redis\"\nurl = \"{}\"\n\
                 [key_value_store.catalog-cache]\ntype = \"spin\"\n\
                 [key_value_store.carts]\ntype = \"spin\"\n\
                 [key_value_store.payments_test]\ntype = \"spin\"\n",
                redis.url()
            ),
        )?;
        let ports = vec![free_port()?, free_port()?, free_port()?];
        let topology = json!([
            {"name": "us-east", "origin": format!("http://127.0.0.1:{}", ports[0]), "lat": 39.0, "lon": -77.5, "primary": true},
            {"name": "eu-west", "origin": format!("http://127.0.0.1:{}", ports[1]), "lat": 53.3, "lon": -6.3},
            {"name": "ap-south", "origin": format!("http://127.0.0.1:{}", ports[2]), "lat": 19.1, "lon": 72.9},
        ])
        .to_string();
        let mut apps = Vec::new();
        for (name, port) in REGION_NAMES.iter().zip(&ports) {
            let mut builder = App::builder(workspace_root().join("spin.toml"))
                .listen(([127, 0, 0, 1], *port).into())
                .runtime_config(&runtime_config.0)
                .variable("database_url", db.url())
                .variable("replica_database_url", replica_url(&db.url()))
                .variable("redis_url", redis.url())
                .variable("region", *name)
                .variable("regions", topology.clone())
                .variable("trusted_proxies", CLIENT_ADDRESS)
                .variable("hop_secret", "test-hop-secret")
                .variable("upstream_timeout_ms", "3000")
                .variable("health_cooldown_ms", "60000");
            for (variable, value) in extra {
                builder = builder.variable(*variable, *value);
            }
            apps.push(Some(
                builder
                    .start()
                    .await
                    .with_context(|| format!("starting {name}"))?,
            ));
        }
        Ok(Regions {
            apps,
            ports,
            db,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(std::net::IpAddr::from(
                    CLIENT_ADDRESS.parse::<std::net::Ipv4Addr>()?,
                ))
                .build()?,
            _redis: redis,
            _runtime_config: runtime_config,
            _replica: replica,
        })
    }

    pub fn url(&self, region: &str, path: &str) -> String {
        let index = REGION_NAMES
            .iter()
            .position(|name| *name == region)
            .unwrap_or_else(|| panic!("no region {region}"));
        format!("http://127.0.0.1:{}{path}", self.ports[index])
    }

    /// A request entering at `region` from a client at `client_ip`.
    pub fn request(
        &self,
        method: reqwest::Method,
        region: &str,
        path: &str,
        client_ip: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(region, path))
            .header("x-forwarded-for", client_ip)
    }

    pub async fn get(&self, region: &str, path: &str, client_ip: &str) -> Result<Response> {
        Ok(self
            .request(reqwest::Method::GET, region, path, client_ip)
            .send()
            .await?)
    }

    /// A GET entering at `region` from a client at `client_ip` holding `cookies`.
    pub async fn get_with(
        &self,
        region: &str,
        path: &str,
        client_ip: &str,
        cookies: &str,
    ) -> Result<Response> {
        Ok(with_cookie(
            self.request(reqwest::Method::GET, region, path, client_ip),
            cookies,
        )
        .send()
        .await?)
    }

    pub async fn stop(&mut self, region: &str) {
        let index = REGION_NAMES
            .iter()
            .position(|name| *name == region)
            .unwrap_or_else(|| panic!("no region {region}"));
        if let Some(app) = self.apps[index].take() {
            app.stop().await;
        }
    }

    /// An Australian client, entering at `region`, puts `course` in its cart.
    pub async fn add_to_cart(
        &self,
        region: &str,
        course: impl std::fmt::Display,
        cookies: &str,
    ) -> Result<Response> {
        let path = format!("/api/cart/items/{course}");
        Ok(with_cookie(
            self.request(reqwest::Method::PUT, region, &path, AUSTRALIA),
            cookies,
        )
        .send()
        .await?)
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

    /// Signs a new user in (the session lives in the shared Redis) and returns its cookie.
    pub async fn user(&self, role: accounts_core::Role) -> Result<(Uuid, String)> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let password = "correct horse battery staple";
        let id = create_user(&self.db.client, &email, password, role).await?;
        let response = self
            .request(reqwest::Method::POST, "us-east", "/api/session", BRAZIL)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await?;
        ensure!(response.status() == 200, "sign-in: {}", response.status());
        // Every cookie the sign-in set, as a browser would send them back.
        let cookie = platform_tests::cookies_set(&response).join("; ");
        ensure!(cookie.contains("cp_session="), "no session cookie");
        Ok((id, cookie))
    }
}

pub fn served_by(response: &Response) -> String {
    header(response, "x-served-by")
}

/// `name=value` of a `Set-Cookie` the response carries.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Runs SQL on the replica's `postgres` database (pausing and resuming replay).
pub async fn replica_sql(sql: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={REPLICA_PORT} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .context("connecting to the replica (deploy/local-replica.sh start)")?;
    tokio::spawn(connection);
    client.batch_execute(sql).await?;
    Ok(())
}

/// Starts the streaming replica once per test process: every region reads from it, and
/// `/health` reports it, so no test may run before it is up. (Blocking is fine here: the
/// other tests wait for the same replica anyway.)
pub fn ensure_replica() -> Result<()> {
    static STARTED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    STARTED
        .get_or_init(|| {
            let output =
                std::process::Command::new(workspace_root().join("deploy/local-replica.sh"))
                    .arg("start")
                    .output()
                    .map_err(|error| format!("running deploy/local-replica.sh: {error}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "deploy/local-replica.sh start failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Waits (polling a condition, bounded) until the replica has replayed everything the
/// primary has written so far.
pub async fn replica_caught_up(db: &Database) -> Result<()> {
    let row = db
        .client
        .query_one("select pg_current_wal_lsn()::text", &[])
        .await?;
    let written: String = row.get(0);
    let (replica, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={REPLICA_PORT} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .context("connecting to the replica")?;
    tokio::spawn(connection);
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let row = replica
            .query_one(
                "select pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&written],
            )
            .await?;
        if row.get::<_, bool>(0) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the replica did not replay up to {written} in time");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An Australian client's checkout entering at us-east.
pub async fn checkout(regions: &Regions, cookies: &str, key: &str) -> Result<Response> {
    Ok(with_cookie(
        regions.request(reqwest::Method::POST, "us-east", "/api/checkout", AUSTRALIA),
        cookies,
    )
    .header("idempotency-key", key)
    .json(&json!({ "card_number": SUCCESS_CARD }))
    .send()
    .await?)
}
