//! Shared setup of the cart and checkout tests: the app with real PostgreSQL and a private
//! Redis, signed-in users, and polling with a bounded deadline for asynchronous enrollment.

#![allow(dead_code)] // each test file uses a different subset

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use platform_tests::spin_test_host::{App, RunningApp, TestRedis};
use platform_tests::{Database, create_user, fixtures, http_client, sign_in, with_cookie};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

pub const SUCCESS_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4000000000000002";
pub const PROVIDER_ERROR_CARD: &str = "4000000000000119";
/// Key-value stores the app lists, kept in memory by the test host.
const RUNTIME_CONFIG: &str = "runtime-config/local.toml";
/// Longest wait for asynchronous enrollment before a test fails.
const ENROLLMENT_DEADLINE: Duration = Duration::from_secs(20);

pub fn course_id(slug: &str) -> String {
    fixtures::course(slug).id.to_owned()
}

pub struct Shop {
    pub app: RunningApp,
    pub redis: TestRedis,
    pub db: Database,
    pub http: reqwest::Client,
}

/// Whether the Redis-triggered enrollment worker runs in the app.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    Running,
    /// The app is started from `spin.toml` minus the `orders.paid` trigger, like a
    /// host without the Redis trigger or a worker that is down.
    Absent,
}

pub struct User {
    pub id: Uuid,
    pub cookie: String,
}

impl Shop {
    pub async fn start(worker: Worker, variables: &[(&str, &str)]) -> Result<Shop> {
        let db = Database::migrated().await?;
        fixtures::catalog(&db.client).await?;
        let redis = TestRedis::spawn().await?;
        let app = start_app(&db.url(), &redis.url(), worker, variables).await?;
        Ok(Shop {
            app,
            redis,
            db,
            http: http_client()?,
        })
    }

    /// Another app (another region, or the worker coming back) on the same database and Redis.
    pub async fn start_another(
        &self,
        worker: Worker,
        variables: &[(&str, &str)],
    ) -> Result<RunningApp> {
        start_app(&self.db.url(), &self.redis.url(), worker, variables).await
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    pub async fn user(&self, role: accounts_core::Role) -> Result<User> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let password = "correct horse battery staple";
        let id = create_user(&self.db.client, &email, password, role).await?;
        let cookie = sign_in(&self.http, &self.app, &email, password).await?;
        Ok(User { id, cookie })
    }

    /// An admin signed in on `app` (sessions are per app: each test app keeps its own store).
    pub async fn admin_on(&self, app: &RunningApp) -> Result<User> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let password = "correct horse battery staple";
        let id = create_user(
            &self.db.client,
            &email,
            password,
            accounts_core::Role::Admin,
        )
        .await?;
        let cookie = sign_in(&self.http, app, &email, password).await?;
        Ok(User { id, cookie })
    }

    pub async fn student(&self) -> Result<User> {
        self.user(accounts_core::Role::Student).await
    }

    pub async fn admin(&self) -> Result<User> {
        self.user(accounts_core::Role::Admin).await
    }

    pub async fn get(&self, cookie: &str, path: &str) -> Result<reqwest::Response> {
        Ok(with_cookie(self.http.get(self.url(path)), cookie)
            .send()
            .await?)
    }

    pub async fn get_json(&self, cookie: &str, path: &str) -> Result<Value> {
        let response = self.get(cookie, path).await?;
        json_of(response, 200).await
    }

    pub async fn put_item(&self, cookie: &str, course_id: &str) -> Result<reqwest::Response> {
        let path = format!("/api/cart/items/{course_id}");
        Ok(with_cookie(self.http.put(self.url(&path)), cookie)
            .send()
            .await?)
    }

    /// Puts a course in the cart, expecting 200; returns the cart.
    pub async fn add_to_cart(&self, cookie: &str, course_id: &str) -> Result<Value> {
        json_of(self.put_item(cookie, course_id).await?, 200).await
    }

    pub async fn checkout(&self, cookie: &str, key: &str, card: &str) -> Result<reqwest::Response> {
        Ok(
            with_cookie(self.http.post(self.url("/api/checkout")), cookie)
                .header("idempotency-key", key)
                .json(&json!({ "card_number": card }))
                .send()
                .await?,
        )
    }

    /// Fills the cart with `slugs` and checks out; returns the 201 body.
    pub async fn buy(&self, user: &User, slugs: &[&str]) -> Result<Value> {
        for slug in slugs {
            json_of(self.put_item(&user.cookie, &course_id(slug)).await?, 200).await?;
        }
        let key = Uuid::now_v7().to_string();
        json_of(self.checkout(&user.cookie, &key, SUCCESS_CARD).await?, 201).await
    }

    pub async fn relay(&self, admin: &User) -> Result<Value> {
        let response = with_cookie(
            self.http.post(self.url("/api/admin/outbox/relay")),
            &admin.cookie,
        )
        .send()
        .await?;
        json_of(response, 200).await
    }

    /// Polls the order until it is `enrolled`, failing after a deadline. `between_polls`
    /// runs before each poll (e.g. an admin relay run, as a cron would).
    pub async fn wait_until_enrolled<F, Fut>(
        &self,
        user: &User,
        order_id: &str,
        mut between_polls: F,
    ) -> Result<Value>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let deadline = Instant::now() + ENROLLMENT_DEADLINE;
        let mut pause = Duration::from_millis(10);
        loop {
            between_polls().await?;
            let order = self
                .get_json(&user.cookie, &format!("/api/orders/{order_id}"))
                .await?;
            if order["status"] == "enrolled" {
                return Ok(order);
            }
            if Instant::now() > deadline {
                bail!("order {order_id} not enrolled in time: {order}");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    pub async fn count(&self, sql: &str, order_id: &str) -> Result<i64> {
        let row = self.db.client.query_one(sql, &[&order_id]).await?;
        Ok(row.get(0))
    }

    /// Publishes raw bytes on a channel of the app's Redis (RESP over TCP: no client crate).
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<i64> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.redis.port())).await?;
        let mut command = format!(
            "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{channel}\r\n${}\r\n",
            channel.len(),
            payload.len()
        )
        .into_bytes();
        command.extend_from_slice(payload);
        command.extend_from_slice(b"\r\n");
        stream.write_all(&command).await?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).await?;
        line.trim()
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("unexpected PUBLISH answer {line:?}"))
    }
}

/// Asserts the status and returns the JSON body.
pub async fn json_of(response: reqwest::Response, expected: u16) -> Result<Value> {
    let status = response.status().as_u16();
    let text = response.text().await?;
    if status != expected {
        bail!("expected {expected}, got {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

async fn start_app(
    database_url: &str,
    redis_url: &str,
    worker: Worker,
    variables: &[(&str, &str)],
) -> Result<RunningApp> {
    let manifest = match worker {
        Worker::Running => platform_tests::spin_test_host::workspace_root().join("spin.toml"),
        Worker::Absent => manifest_without_worker()?,
    };
    let mut builder = App::builder(&manifest)
        .runtime_config(RUNTIME_CONFIG)
        .variable("database_url", database_url)
        .variable("redis_url", redis_url);
    for (name, value) in variables {
        builder = builder.variable(*name, *value);
    }
    let started = builder.start().await.context("starting the app");
    if worker == Worker::Absent {
        // Loaded at start; the copy is not needed any more.
        let _ = std::fs::remove_file(&manifest);
    }
    started
}

/// A copy of `spin.toml` without the enrollment worker's trigger, with absolute component
/// sources (the same `<repo>/target` files `spin.toml` names) so it can live in a temporary
/// directory.
fn manifest_without_worker() -> Result<std::path::PathBuf> {
    let root = platform_tests::spin_test_host::workspace_root();
    let text = std::fs::read_to_string(root.join("spin.toml"))?;
    let trigger = "[[trigger.redis]]\naddress = \"{{ redis_url }}\"\nchannel = \"orders.paid\"\ncomponent = \"enrollment-worker\"\n";
    if !text.contains(trigger) {
        bail!("spin.toml no longer declares the orders.paid trigger as expected");
    }
    let rewritten = text.replace(trigger, "").replace(
        "source = \"target/",
        &format!("source = \"{}/", root.join("target").display()),
    );
    let path = std::env::temp_dir().join(format!(
        "spin-without-worker-{}.toml",
        Uuid::now_v7().simple()
    ));
    std::fs::write(&path, rewritten)?;
    Ok(path)
}
