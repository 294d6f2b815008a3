//! Shared setup: the fixture app (`tests/fixtures/spin.toml`) with its required variable set.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use spin_test_host::{App, AppBuilder};

pub const MANIFEST: &str = "tests/fixtures/spin.toml";

/// The fixture app with `api_token` (required) set.
pub fn fixture_app() -> AppBuilder {
    App::builder(MANIFEST).variable("api_token", "token-from-test")
}

pub async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("request reaches the host");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A unique scratch file path for manifests and runtime configs written by a test.
pub fn scratch_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("spin-test-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// The absolute path of a fixture's wasm (where scripts/build-wasm.sh puts it), for manifests
/// written by tests.
pub fn fixture_wasm(crate_name: &str) -> String {
    spin_test_host::workspace_root()
        .join("target")
        .join("wasm32-wasip2/release")
        .join(format!("{crate_name}.wasm"))
        .display()
        .to_string()
}
