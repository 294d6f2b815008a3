//! Shared setup for the app's integration tests: a migrated database per test, a private
//! Redis, the app from the repository's `spin.toml`, HTTP helpers and signed-in sessions.

pub mod fixtures;

use anyhow::{Context, Result, bail};
use reqwest::header::{COOKIE, SET_COOKIE};
use spin_test_host::{App, RunningApp, TestDatabase, TestRedis};
use tokio_postgres::Client;
use uuid::Uuid;

pub use spin_test_host;

/// A fresh database with every migration applied, and a native connection to it.
pub struct Database {
    pub client: Client,
    /// Dropped last: dropping it drops the database.
    pub database: TestDatabase,
}

impl Database {
    pub async fn migrated() -> Result<Database> {
        let database = TestDatabase::create().await?;
        let client = db::connect(&database.url()).await?;
        db::migrate(&client, &db::default_migrations_dir()).await?;
        Ok(Database { client, database })
    }

    pub fn url(&self) -> String {
        self.database.url()
    }
}

/// Everything a test of the running app needs; the app stops, Redis stops and the database
/// is dropped when this is dropped.
pub struct TestApp {
    pub app: RunningApp,
    pub redis: TestRedis,
    pub db: Database,
    pub http: reqwest::Client,
}

/// Starts the app on `database_url` and `redis_url` with extra variable overrides.
pub async fn start_app(
    database_url: &str,
    redis_url: &str,
    variables: &[(&str, &str)],
) -> Result<RunningApp> {
    let mut builder = App::builder("spin.toml")
        // Declares the key-value stores the components list (`sessions`, `carts`, ...).
        .runtime_config("runtime-config/local.toml")
        .variable("database_url", database_url)
        .variable("redis_url", redis_url);
    for (name, value) in variables {
        builder = builder.variable(*name, *value);
    }
    builder
        .start()
        .await
        .context("starting the app from spin.toml")
}

impl TestApp {
    /// A migrated database with the fixture catalog, a private Redis and the app.
    pub async fn start(variables: &[(&str, &str)]) -> Result<TestApp> {
        let db = Database::migrated().await?;
        fixtures::catalog(&db.client).await?;
        let redis = TestRedis::spawn().await?;
        let app = start_app(&db.url(), &redis.url(), variables).await?;
        Ok(TestApp {
            app,
            redis,
            db,
            http: http_client()?,
        })
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    pub async fn get(&self, path: &str) -> Result<reqwest::Response> {
        Ok(self.http.get(self.url(path)).send().await?)
    }

    /// A signed-in admin's `Cookie` header value.
    pub async fn admin_cookie(&self) -> Result<String> {
        self.cookie_for(accounts_core::Role::Admin).await
    }

    /// A signed-in student's `Cookie` header value.
    pub async fn student_cookie(&self) -> Result<String> {
        self.cookie_for(accounts_core::Role::Student).await
    }

    async fn cookie_for(&self, role: accounts_core::Role) -> Result<String> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let password = "correct horse battery staple";
        create_user(&self.db.client, &email, password, role).await?;
        sign_in(&self.http, &self.app, &email, password).await
    }
}

/// An HTTP client that neither follows redirects nor keeps cookies (sessions are explicit).
pub fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Inserts a user directly, with a real `accounts_core` password hash.
pub async fn create_user(
    client: &Client,
    email: &str,
    password: &str,
    role: accounts_core::Role,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let hash = accounts_core::Password::new(password.to_owned(), None)
        .map_err(|error| anyhow::anyhow!("test password refused: {error}"))?
        .hash()?;
    let role = match role {
        accounts_core::Role::Admin => "admin",
        accounts_core::Role::Student => "student",
    };
    client
        .execute(
            "INSERT INTO users (id, email, name, password_hash, role, created_at) \
             VALUES ($1::text::uuid, $2, $3, $4, $5, now() AT TIME ZONE 'utc')",
            &[&id.to_string(), &email, &"Test User", &hash, &role],
        )
        .await?;
    Ok(id)
}

/// Signs in through `POST /api/session` and returns the `Cookie` header value a browser
/// would send back: every cookie the answer set, the session among them. (The session
/// cookie is `Secure`, so a cookie store would not replay it over plain HTTP.)
pub async fn sign_in(
    http: &reqwest::Client,
    app: &RunningApp,
    email: &str,
    password: &str,
) -> Result<String> {
    let response = http
        .post(app.url("/api/session"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "sign-in failed: {} {}",
            response.status(),
            response.text().await?
        );
    }
    let cookies = cookies_set(&response);
    if !cookies.iter().any(|pair| pair.starts_with("cp_session=")) {
        bail!("sign-in set no cp_session cookie");
    }
    Ok(cookies.join("; "))
}

/// The `name=value` pairs a response's `Set-Cookie` headers set (removals left out).
pub fn cookies_set(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|text| text.split(';').next())
        .map(|pair| pair.trim().to_owned())
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .collect()
}

/// Registers a fresh student through `POST /api/accounts` and signs in: the whole public
/// flow, for tests that need "some signed-in user". Returns the `Cookie` header value.
pub async fn register_and_sign_in(http: &reqwest::Client, app: &RunningApp) -> Result<String> {
    let email = format!("{}@example.com", Uuid::now_v7().simple());
    let password = "correct horse battery staple";
    let response = http
        .post(app.url("/api/accounts"))
        .json(&serde_json::json!({ "email": email, "password": password, "name": "Test Student" }))
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::CREATED {
        bail!(
            "registration failed: {} {}",
            response.status(),
            response.text().await?
        );
    }
    sign_in(http, app, &email, password).await
}

/// Adds a session cookie to a request.
pub fn with_cookie(request: reqwest::RequestBuilder, cookie: &str) -> reqwest::RequestBuilder {
    request.header(COOKIE, cookie)
}

/// A response header as text; empty when absent or not visible ASCII.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts a problem+json error with the given status and `type`; returns the body.
pub async fn assert_problem(
    response: reqwest::Response,
    status: reqwest::StatusCode,
    problem: &str,
) -> Result<serde_json::Value> {
    assert_eq!(response.status(), status);
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["type"], problem, "{body}");
    Ok(body)
}
