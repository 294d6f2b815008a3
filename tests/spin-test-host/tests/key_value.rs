//! `spin:key-value`: the in-memory default store, Redis-backed stores from a runtime config,
//! and Spin's access rules.

mod common;

use common::{fixture_app, fixture_wasm, get, scratch_file};
use spin_test_host::{App, TestRedis};

async fn put(url: &str, value: &str) -> u16 {
    let response = reqwest::Client::new()
        .put(url)
        .body(value.to_string())
        .send()
        .await
        .expect("request");
    response.status().as_u16()
}

async fn delete(url: &str) -> u16 {
    let response = reqwest::Client::new()
        .delete(url)
        .send()
        .await
        .expect("request");
    response.status().as_u16()
}

/// Sets, reads, lists and deletes keys through the probe, as a component would.
async fn exercise_store(app: &spin_test_host::RunningApp) {
    assert_eq!(get(&app.url("/probe/kv/default/colour")).await.0, 404);
    assert_eq!(
        put(&app.url("/probe/kv/default/colour"), "green").await,
        204
    );
    assert_eq!(put(&app.url("/probe/kv/default/shape"), "round").await, 204);
    assert_eq!(
        get(&app.url("/probe/kv/default/colour")).await,
        (200, "green".into())
    );
    assert_eq!(
        get(&app.url("/probe/kv/default")).await,
        (200, "colour\nshape".into())
    );
    assert_eq!(delete(&app.url("/probe/kv/default/colour")).await, 204);
    assert_eq!(get(&app.url("/probe/kv/default/colour")).await.0, 404);
    assert_eq!(
        get(&app.url("/probe/kv/default")).await,
        (200, "shape".into())
    );
}

#[tokio::test]
async fn default_store_is_in_memory_and_shared_by_requests() {
    let app = fixture_app().start().await.expect("app starts");
    exercise_store(&app).await;
}

#[tokio::test]
async fn runtime_config_puts_a_store_in_redis() {
    let redis = TestRedis::spawn().await.expect("redis-server starts");
    let config = scratch_file("redis-kv.toml");
    std::fs::write(
        &config,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            redis.url()
        ),
    )
    .expect("write runtime config");
    let app = fixture_app()
        .runtime_config(&config)
        .start()
        .await
        .expect("app starts");
    exercise_store(&app).await;

    // The value lives in Redis itself, not in the host.
    let client = redis::Client::open(redis.url()).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let shape: Option<String> = redis::cmd("GET")
        .arg("shape")
        .query_async(&mut connection)
        .await
        .expect("GET");
    assert_eq!(shape.as_deref(), Some("round"));

    // With Redis down the component sees an error, not a crash; it recovers when Redis is back.
    redis.stop().await.expect("redis stops");
    let (status, body) = get(&app.url("/probe/kv/default/shape")).await;
    assert_eq!(status, 500);
    assert!(body.contains("Other"), "{body}");
    redis.start().await.expect("redis restarts");
    assert_eq!(
        put(&app.url("/probe/kv/default/shape"), "square").await,
        204
    );
    assert_eq!(
        get(&app.url("/probe/kv/default/shape")).await,
        (200, "square".into())
    );
}

#[tokio::test]
async fn a_store_not_granted_to_the_component_is_access_denied() {
    let app = fixture_app().start().await.expect("app starts");
    let (status, body) = get(&app.url("/probe/kv/sessions/x")).await;
    assert_eq!(status, 500);
    assert!(body.contains("AccessDenied"), "{body}");
}

#[tokio::test]
async fn a_store_label_no_config_defines_fails_at_start_up() {
    let manifest = scratch_file("undefined-store.toml");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"x\"\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\
             [component.probe]\nsource = \"{}\"\nkey_value_stores = [\"sessions\"]\n",
            fixture_wasm("fixture_probe")
        ),
    )
    .expect("write manifest");
    let error = App::builder(&manifest)
        .start()
        .await
        .err()
        .expect("start-up fails");
    let message = format!("{error:#}");
    assert!(message.contains("`sessions`"), "{message}");
}
