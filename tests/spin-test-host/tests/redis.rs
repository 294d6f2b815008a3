//! `spin:redis/redis@3.0.0` as the fixture component `tests/fixtures/redis-probe` sees it,
//! against the real Redis on 127.0.0.1:6379 (keys and channels unique per test). Build the
//! fixture first: `cargo build --target wasm32-wasip2 --release -p redis-probe`.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use serde_json::Value;
use spin_test_host::{App, RunningApp};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn start() -> Result<RunningApp> {
    App::builder("tests/fixtures/redis.spin.toml")
        .variable("redis_url", REDIS_URL)
        .start()
        .await
}

fn unique(what: &str) -> Result<String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    Ok(format!("redis-test:{what}:{}:{nanos}", std::process::id()))
}

async fn get(app: &RunningApp, path: &str) -> Result<(u16, String)> {
    let response = reqwest::get(app.url(path)).await?;
    Ok((response.status().as_u16(), response.text().await?))
}

#[tokio::test]
async fn every_operation_behaves_as_on_spin() -> Result<()> {
    let app = start().await?;
    let prefix = unique("ops")?;

    let (status, body) = get(&app, &format!("/ops/{prefix}")).await?;

    assert_eq!(status, 200, "{body}");
    let outcomes: Value = serde_json::from_str(&body)?;
    let outcome = |label: &str| outcomes[label].as_str().unwrap_or_default().to_owned();
    let expected = [
        ("set", "Ok(())"),
        ("get", "Ok(Some(\"v1\"))"),
        ("get-missing", "Ok(None)"),
        ("incr", "Ok(1)"),
        ("incr-again", "Ok(2)"),
        ("set-text", "Ok(())"),
        ("sadd", "Ok(3)"),
        ("sadd-again", "Ok(0)"),
        ("smembers", "Ok([\"a\", \"b\", \"c\"])"),
        ("srem", "Ok(1)"),
        ("execute-set", "Ok([RedisResult::Status(\"OK\")])"),
        ("execute-incrby", "Ok([RedisResult::Int64(12)])"),
        // "12" as bytes, then the missing key.
        (
            "execute-mget",
            "Ok([RedisResult::Binary([49, 50]), RedisResult::Nil])",
        ),
        ("execute-unknown", "true"),
        ("del", "Ok(5)"),
    ];
    for (label, value) in expected {
        assert_eq!(outcome(label), value, "{label}");
    }
    // Spin reports these as `other` with Redis' message (not `type-error`).
    assert!(
        outcome("incr-text").starts_with("Err(Error::Other("),
        "{body}"
    );
    assert!(outcome("incr-text").contains("not an integer"), "{body}");
    assert!(
        outcome("smembers-text").starts_with("Err(Error::Other("),
        "{body}"
    );
    assert!(
        outcome("smembers-text").contains("wrong kind of value"),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn publish_reaches_a_real_subscriber() -> Result<()> {
    let app = start().await?;
    let channel = unique("channel")?;
    let mut subscriber = redis::Client::open(REDIS_URL)?.get_async_pubsub().await?;
    subscriber.subscribe(&channel).await?;

    let response = reqwest::Client::new()
        .post(app.url(&format!("/publish/{channel}")))
        .body("hello subscribers")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);

    let mut messages = subscriber.on_message();
    let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .context("no message within 10 s")?
        .context("subscription closed")?;
    assert_eq!(message.get_channel_name(), channel);
    assert_eq!(message.get_payload_bytes(), b"hello subscribers");
    Ok(())
}

#[tokio::test]
async fn hosts_outside_allowed_outbound_hosts_are_refused() -> Result<()> {
    let app = start().await?;

    // `localhost` is a real Redis too, but the manifest only allows 127.0.0.1.
    assert_eq!(
        get(&app, "/denied").await?,
        (500, "Error::InvalidAddress".to_owned())
    );
    assert_eq!(
        get(&app, "/bad-address").await?,
        (500, "Error::InvalidAddress".to_owned())
    );
    Ok(())
}
