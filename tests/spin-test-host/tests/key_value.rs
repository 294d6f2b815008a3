//! `spin:key-value`: the `default` store in a SQLite file in the state dir (as in Spin), SQLite
//! and Redis stores from a runtime config, and Spin's access rules.

mod common;

use common::{fixture_app, fixture_wasm, get, scratch_file};
use spin_test_host::{App, StateDir, TestRedis};

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
async fn default_store_is_shared_by_requests() {
    let app = fixture_app().start().await.expect("app starts");
    exercise_store(&app).await;
}

/// The fixture manifest written into a folder of its own (absolute sources), so that Spin's
/// default state dir, `<manifest folder>/.spin`, belongs to this test alone.
fn manifest_in_own_folder(name: &str) -> std::path::PathBuf {
    let dir = scratch_file(name);
    // A leftover from an earlier run would make the first read below see old data.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let text = std::fs::read_to_string(spin_test_host::workspace_root().join(common::MANIFEST))
        .expect("fixture manifest");
    let text = text.replace(
        "source = \"../../target/wasm32-wasip2/release/",
        &format!(
            "source = \"{}/",
            std::path::Path::new(&fixture_wasm("fixture_probe"))
                .parent()
                .expect("wasm folder")
                .display()
        ),
    );
    let manifest = dir.join("spin.toml");
    std::fs::write(&manifest, text).expect("manifest written");
    manifest
}

#[tokio::test]
async fn default_store_is_a_sqlite_file_in_the_app_folder_and_survives_a_restart() {
    let manifest = manifest_in_own_folder("persist-app");
    let start = || {
        App::builder(&manifest)
            .variable("api_token", "t")
            .state_dir(StateDir::SpinDefault)
            .start()
    };
    let app = start().await.expect("app starts");
    assert_eq!(
        put(&app.url("/probe/kv/default/colour"), "green").await,
        204
    );
    app.stop().await;
    let file = manifest.with_file_name(".spin").join("sqlite_key_value.db");
    assert!(file.is_file(), "Spin's default store file {file:?} exists");

    let app = start().await.expect("app restarts");
    assert_eq!(
        get(&app.url("/probe/kv/default/colour")).await,
        (200, "green".into()),
        "a value set before the restart is still there"
    );
}

#[tokio::test]
async fn runtime_config_state_dir_and_spin_store_paths_are_sqlite_files() {
    let manifest = manifest_in_own_folder("state-dir-app");
    let dir = manifest.parent().expect("folder").to_path_buf();
    let config = dir.join("config").join("runtime-config.toml");
    std::fs::create_dir_all(config.parent().expect("folder")).expect("config folder");
    let state = dir.join("state");
    std::fs::write(&config, format!("state_dir = \"{}\"\n", state.display()))
        .expect("runtime config written");
    // Without `.state_dir(..)` the runtime config's `state_dir` decides, as in `spin up`.
    let start = || {
        App::builder(&manifest)
            .variable("api_token", "t")
            .runtime_config(&config)
            .start()
    };
    let app = start().await.expect("app starts");
    assert_eq!(put(&app.url("/probe/kv/default/k"), "v1").await, 204);
    app.stop().await;
    assert!(state.join("sqlite_key_value.db").is_file());
    let app = start().await.expect("app restarts");
    assert_eq!(
        get(&app.url("/probe/kv/default/k")).await,
        (200, "v1".into())
    );
    app.stop().await;

    // `type = "spin"` with a relative `path`: a file beside the runtime config, persistent.
    std::fs::write(
        &config,
        "[key_value_store.default]\ntype = \"spin\"\npath = \"stores/default.db\"\n",
    )
    .expect("runtime config written");
    let app = start().await.expect("app starts");
    assert_eq!(put(&app.url("/probe/kv/default/k"), "v2").await, 204);
    app.stop().await;
    assert!(dir.join("config/stores/default.db").is_file());
    let app = start().await.expect("app restarts");
    assert_eq!(
        get(&app.url("/probe/kv/default/k")).await,
        (200, "v2".into())
    );
}

#[tokio::test]
async fn each_test_app_gets_its_own_default_store() {
    // Two apps of one manifest, as parallel tests start them: not one shared file.
    let first = fixture_app().start().await.expect("app starts");
    let second = fixture_app().start().await.expect("app starts");
    assert_eq!(
        put(&first.url("/probe/kv/default/owner"), "first").await,
        204
    );
    assert_eq!(get(&second.url("/probe/kv/default/owner")).await.0, 404);
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
