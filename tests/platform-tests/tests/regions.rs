//! Issue 5: three regions of the app (us-east next to the PostgreSQL primary, eu-west,
//! ap-south), each its own app instance on the test host, routed by the geo-router.
//!
//! Clients are placed by address: the test is the routers' trusted proxy (127.0.0.1) and
//! sends `x-forwarded-for` with public addresses of known countries. Needs a streaming
//! replica on 127.0.0.1:5433 (`deploy/local-replica.sh start`, run by the tests themselves).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use platform_tests::spin_test_host::{App, RunningApp, TestRedis, workspace_root};
use platform_tests::{Database, create_user, fixtures, header, http_client, with_cookie};
use reqwest::Response;
use serde_json::json;
use uuid::Uuid;

/// Public addresses whose registry country is stable: Australia (→ ap-south),
/// the Netherlands (→ eu-west), Brazil (→ us-east).
const AUSTRALIA: &str = "202.12.29.1";
const NETHERLANDS: &str = "193.0.0.1";
const BRAZIL: &str = "200.160.0.1";
const SUCCESS_CARD: &str = "4242424242424242";
const REGION_NAMES: [&str; 3] = ["us-east", "eu-west", "ap-south"];
const REPLICA_PORT: u16 = 5433;
/// A bound, not a pause: CI loads the replica with every other test's databases.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(60);

/// The replica is shared by every test (physical replication): tests that pause its replay
/// take every share, the others one each.
const REPLICA_SHARES: u32 = 64;
static REPLICA: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(REPLICA_SHARES as usize);

struct Regions {
    apps: Vec<Option<RunningApp>>,
    ports: Vec<u16>,
    db: Database,
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

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn replica_url(primary_url: &str) -> String {
    primary_url.replace(":5432/", &format!(":{REPLICA_PORT}/"))
}

impl Regions {
    /// Three regions on one migrated database with the fixture catalog. Sessions are kept
    /// in the shared Redis (valid in every region); carts and router state per region.
    async fn start(extra: &[(&str, &str)]) -> Result<Regions> {
        Self::start_with(extra, REPLICA.acquire().await?).await
    }

    /// For tests that pause the replica's replay: no other region test runs meanwhile.
    async fn start_exclusive(extra: &[(&str, &str)]) -> Result<Regions> {
        Self::start_with(extra, REPLICA.acquire_many(REPLICA_SHARES).await?).await
    }

    async fn start_with(
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
                .variable("trusted_proxies", "127.0.0.1")
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
            http: http_client()?,
            _redis: redis,
            _runtime_config: runtime_config,
            _replica: replica,
        })
    }

    fn url(&self, region: &str, path: &str) -> String {
        let index = REGION_NAMES
            .iter()
            .position(|name| *name == region)
            .unwrap_or_else(|| panic!("no region {region}"));
        format!("http://127.0.0.1:{}{path}", self.ports[index])
    }

    /// A request entering at `region` from a client at `client_ip`.
    fn request(
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

    async fn get(&self, region: &str, path: &str, client_ip: &str) -> Result<Response> {
        Ok(self
            .request(reqwest::Method::GET, region, path, client_ip)
            .send()
            .await?)
    }

    async fn stop(&mut self, region: &str) {
        let index = REGION_NAMES
            .iter()
            .position(|name| *name == region)
            .unwrap_or_else(|| panic!("no region {region}"));
        if let Some(app) = self.apps[index].take() {
            app.stop().await;
        }
    }

    /// Signs a new user in (the session lives in the shared Redis) and returns its cookie.
    async fn user(&self, role: accounts_core::Role) -> Result<(Uuid, String)> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let password = "correct horse battery staple";
        let id = create_user(&self.db.client, &email, password, role).await?;
        let response = self
            .request(reqwest::Method::POST, "us-east", "/api/session", BRAZIL)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await?;
        ensure!(response.status() == 200, "sign-in: {}", response.status());
        let cookie = set_cookie(&response, "cp_session").context("no session cookie")?;
        Ok((id, cookie))
    }
}

fn served_by(response: &Response) -> String {
    header(response, "x-served-by")
}

/// `name=value` of a `Set-Cookie` the response carries.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn clients_land_in_their_nearest_region_whichever_region_they_enter() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    for entry in REGION_NAMES {
        for (client, expected) in [
            (AUSTRALIA, "ap-south"),
            (NETHERLANDS, "eu-west"),
            (BRAZIL, "us-east"),
        ] {
            let response = regions.get(entry, "/api/courses", client).await?;
            assert_eq!(response.status(), 200, "{entry} {client}");
            assert_eq!(
                served_by(&response),
                expected,
                "entered at {entry} from {client}"
            );
            assert!(header(&response, "server-timing").contains("router;dur="));
        }
    }
    // Unknown locations (private addresses) are served where they enter.
    let response = regions.get("eu-west", "/api/courses", "10.0.0.7").await?;
    assert_eq!(served_by(&response), "eu-west");
    Ok(())
}

/// An Australian client's checkout entering at us-east.
async fn checkout(regions: &Regions, cookies: &str, key: &str) -> Result<Response> {
    Ok(with_cookie(
        regions.request(reqwest::Method::POST, "us-east", "/api/checkout", AUSTRALIA),
        cookies,
    )
    .header("idempotency-key", key)
    .json(&json!({ "card_number": SUCCESS_CARD }))
    .send()
    .await?)
}

#[tokio::test]
async fn a_stopped_region_loses_its_traffic_to_the_next_nearest_without_losing_or_repeating_orders()
-> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let (user_id, session) = regions.user(accounts_core::Role::Student).await?;
    // An Australian client's cart lives in ap-south.
    let course = fixtures::course("async-rust").id;
    let put = with_cookie(
        regions.request(
            reqwest::Method::PUT,
            "us-east",
            &format!("/api/cart/items/{course}"),
            AUSTRALIA,
        ),
        &session,
    )
    .send()
    .await?;
    assert_eq!(put.status(), 200, "{}", put.text().await?);
    let key = Uuid::now_v7().to_string();
    let cookies = format!("{session}; cp_cart_region=ap-south");
    let first = checkout(&regions, &cookies, &key).await?;
    assert_eq!(served_by(&first), "ap-south");
    assert_eq!(first.status(), 201);
    let order: serde_json::Value = first.json().await?;

    regions.stop("ap-south").await;

    // The client retries the same checkout (say it never saw the answer): the router tries
    // ap-south, fails, and, the request being idempotent, retries on the next-nearest.
    let retried = checkout(&regions, &cookies, &key).await?;
    let status = retried.status();
    assert_eq!(served_by(&retried), "eu-west");
    let again: serde_json::Value = retried.json().await?;
    assert!(status.is_success(), "{status}: {again}");
    assert_eq!(
        again["order"]["id"], order["order"]["id"],
        "same order, not a new one"
    );
    let orders: i64 = regions
        .db
        .client
        .query_one(
            "SELECT count(*) FROM orders WHERE user_id = $1::text::uuid",
            &[&user_id.to_string()],
        )
        .await?
        .get(0);
    assert_eq!(orders, 1, "exactly one order");

    // Reads move too, within two requests, and stay moved (ap-south is marked down).
    let mut served = Vec::new();
    for _ in 0..2 {
        served.push(served_by(
            &regions.get("us-east", "/api/courses", AUSTRALIA).await?,
        ));
    }
    assert!(served.contains(&"eu-west".to_owned()), "{served:?}");
    let later = regions.get("us-east", "/api/courses", AUSTRALIA).await?;
    assert_eq!(later.status(), 200);
    assert_eq!(served_by(&later), "eu-west");
    Ok(())
}

#[tokio::test]
async fn cart_operations_follow_the_cart_home_cookie() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let (_, session) = regions.user(accounts_core::Role::Student).await?;
    let course = fixtures::course("typography").id;
    let put = with_cookie(
        regions.request(
            reqwest::Method::PUT,
            "eu-west",
            &format!("/api/cart/items/{course}"),
            AUSTRALIA,
        ),
        &session,
    )
    .send()
    .await?;
    assert_eq!(served_by(&put), "ap-south");
    let home = set_cookie(&put, "cp_cart_region").context("cart home cookie")?;
    assert_eq!(home, "cp_cart_region=ap-south");

    // The same client, now travelling in Europe, still reaches its cart.
    let cart = with_cookie(
        regions.request(reqwest::Method::GET, "eu-west", "/api/cart", NETHERLANDS),
        &format!("{session}; {home}"),
    )
    .send()
    .await?;
    assert_eq!(served_by(&cart), "ap-south");
    let body: serde_json::Value = cart.json().await?;
    assert_eq!(body["count"], 1, "{body}");
    // Without the cookie, Europe serves an (empty) cart of its own.
    let fresh = with_cookie(
        regions.request(reqwest::Method::GET, "eu-west", "/api/cart", NETHERLANDS),
        &session,
    )
    .send()
    .await?;
    assert_eq!(served_by(&fresh), "eu-west");
    Ok(())
}

#[tokio::test]
async fn forwarded_requests_are_not_forwarded_again() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    // A request claiming to have come from this very region is a loop.
    let looped = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "eu-west")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(looped.status(), 508, "Loop Detected");
    let problem: serde_json::Value = looped.json().await?;
    assert_eq!(problem["type"], "/problems/routing-loop");
    // More than one hop is refused too.
    let two_hops = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east, ap-south")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(two_hops.status(), 508);
    // A genuine hop is served where it lands, even if another region is nearer the client.
    let hop = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(hop.status(), 200);
    assert_eq!(served_by(&hop), "eu-west");
    // Clients cannot forge a hop to skip routing.
    let forged = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east")
        .send()
        .await?;
    assert_eq!(forged.status(), 403);
    Ok(())
}

#[tokio::test]
async fn clients_over_their_limit_get_429_with_retry_after() -> Result<()> {
    let regions = Regions::start(&[
        ("rate_limit_requests", "3"),
        ("rate_limit_window_secs", "60"),
    ])
    .await?;
    for _ in 0..3 {
        let response = regions.get("us-east", "/api/categories", BRAZIL).await?;
        assert_eq!(response.status(), 200);
    }
    let limited = regions.get("us-east", "/api/categories", BRAZIL).await?;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = header(&limited, "retry-after").parse()?;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&limited, "x-served-by"), "us-east");
    let problem: serde_json::Value = limited.json().await?;
    assert_eq!(problem["type"], "/problems/rate-limited");
    // Another client is not affected.
    let other = regions
        .get("us-east", "/api/categories", NETHERLANDS)
        .await?;
    assert_eq!(other.status(), 200);
    Ok(())
}

#[tokio::test]
async fn request_ids_are_kept_or_generated_and_survive_a_hop() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let kept = regions
        .request(reqwest::Method::GET, "us-east", "/api/courses", AUSTRALIA)
        .header("x-request-id", "trace-42")
        .send()
        .await?;
    assert_eq!(served_by(&kept), "ap-south");
    assert_eq!(header(&kept, "x-request-id"), "trace-42");
    let generated = regions.get("us-east", "/api/courses", BRAZIL).await?;
    let id = Uuid::parse_str(&header(&generated, "x-request-id"))?;
    assert_eq!(id.get_version_num(), 7);
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(generated.headers().contains_key(name), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn health_and_alive_report_this_region() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let alive = regions.get("ap-south", "/alive", BRAZIL).await?;
    assert_eq!(alive.status(), 200);
    assert_eq!(served_by(&alive), "ap-south");
    let health = regions.get("eu-west", "/health", BRAZIL).await?;
    let status = health.status();
    let body: serde_json::Value = health.json().await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["region"], "eu-west");
    for check in ["postgres", "replica", "redis", "key_value"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
        assert!(body["checks"][check]["latency_ms"].is_number(), "{check}");
    }
    let replica = &body["checks"]["replica"];
    assert!(replica["lag_bytes"].is_number(), "{body}");
    if replica["lag_bytes"] == 0 {
        assert_eq!(replica["lag_seconds"], 0.0, "caught up is no lag: {body}");
    }
    Ok(())
}

/// Runs SQL on the replica's `postgres` database (pausing and resuming replay).
async fn replica_sql(sql: &str) -> Result<()> {
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
fn ensure_replica() -> Result<()> {
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
async fn replica_caught_up(db: &Database) -> Result<()> {
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

#[tokio::test]
async fn right_after_a_write_reads_go_to_the_primary_until_the_replica_catches_up() -> Result<()> {
    let regions = Regions::start_exclusive(&[]).await?;
    let (_, admin) = regions.user(accounts_core::Role::Admin).await?;
    let course = fixtures::course("rust-ownership").id;
    let path = format!("/api/courses/{course}");

    let read = regions.get("eu-west", &path, NETHERLANDS).await?;
    assert_eq!(read.status(), 200);
    assert_eq!(header(&read, "x-read-from"), "replica");

    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        let write = with_cookie(
            regions.request(reqwest::Method::PATCH, "eu-west", &path, NETHERLANDS),
            &admin,
        )
        .json(&json!({ "title": "Ownership, Revised" }))
        .send()
        .await?;
        assert_eq!(
            served_by(&write),
            "us-east",
            "writes go to the primary's region"
        );
        let status = write.status();
        let token = set_cookie(&write, "cp_lsn").context("a write sets the consistency token")?;
        ensure!(
            status.is_success(),
            "PATCH: {status} {}",
            write.text().await?
        );

        let read = with_cookie(
            regions.request(reqwest::Method::GET, "eu-west", &path, NETHERLANDS),
            &format!("{admin}; {token}"),
        )
        .send()
        .await?;
        assert_eq!(served_by(&read), "eu-west");
        assert_eq!(
            header(&read, "x-read-from"),
            "primary",
            "replica is paused, behind the write"
        );
        assert_eq!(
            header(&read, "x-cache"),
            "bypass",
            "the edge copy may be older"
        );
        let course: serde_json::Value = read.json().await?;
        assert_eq!(course["title"], "Ownership, Revised");
        // Without the token the same read may use the (stale) replica.
        let anonymous = regions.get("eu-west", &path, NETHERLANDS).await?;
        assert_eq!(header(&anonymous, "x-read-from"), "replica");
        Ok::<String, anyhow::Error>(token)
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    let token = outcome?;

    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let read = with_cookie(
            regions.request(reqwest::Method::GET, "eu-west", &path, NETHERLANDS),
            &format!("{admin}; {token}"),
        )
        .send()
        .await?;
        if header(&read, "x-read-from") == "replica" {
            let cleared = set_cookie(&read, "cp_lsn").unwrap_or_default();
            assert_eq!(cleared, "cp_lsn=", "caught up: the token is dropped");
            break;
        }
        if Instant::now() > deadline {
            bail!("replica did not catch up in time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Polls `path` in `region` until its course title is `title` (bounded).
async fn title_becomes(regions: &Regions, region: &str, path: &str, title: &str) -> Result<()> {
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let course: serde_json::Value =
            regions.get(region, path, NETHERLANDS).await?.json().await?;
        if course["title"] == title {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{region} still serves {} for {path}", course["title"]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn catalog_reads_come_from_the_regions_replica() -> Result<()> {
    let regions = Regions::start_exclusive(&[("catalog_cache_enabled", "false")]).await?;
    let course = fixtures::course("rust-ownership");
    let path = format!("/api/courses/{}", course.id);
    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        // A change the replica has not replayed (made in SQL: no token, no invalidation).
        regions
            .db
            .client
            .execute(
                "update courses set title = 'Changed Behind the Replica' where id::text = $1",
                &[&course.id],
            )
            .await?;
        let read = regions.get("eu-west", &path, NETHERLANDS).await?;
        assert_eq!(header(&read, "x-cache"), "bypass");
        let served: serde_json::Value = read.json().await?;
        assert_eq!(
            served["title"], course.title,
            "read from the paused replica"
        );
        Ok::<(), anyhow::Error>(())
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    outcome?;
    title_becomes(&regions, "eu-west", &path, "Changed Behind the Replica").await
}

#[tokio::test]
async fn an_invalidated_course_is_not_refilled_from_a_lagging_replica() -> Result<()> {
    let regions = Regions::start_exclusive(&[]).await?;
    let (_, admin) = regions.user(accounts_core::Role::Admin).await?;
    let course = fixtures::course("rust-ownership");
    let path = format!("/api/courses/{}", course.id);
    let cached = regions.get("eu-west", &path, NETHERLANDS).await?;
    assert_eq!(cached.status(), 200);
    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        let write = with_cookie(
            regions.request(reqwest::Method::PATCH, "eu-west", &path, NETHERLANDS),
            &admin,
        )
        .json(&json!({ "title": "Ownership, Third Edition" }))
        .send()
        .await?;
        ensure!(write.status().is_success(), "PATCH: {}", write.status());
        // eu-west drops its copy when the invalidation arrives; the refill must then skip
        // the paused replica (behind the write) and read the primary.
        title_becomes(&regions, "eu-west", &path, "Ownership, Third Edition").await
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    outcome
}
