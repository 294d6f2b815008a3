//! Component sources resolve as in Spin: from the manifest's folder, and nothing else.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture_wasm, scratch_file};
use spin_test_host::App;

const MANIFEST: &str = r#"spin_manifest_version = 2
[application]
name = "sources"
[[trigger.http]]
route = "/hello"
component = "hello"
[component.hello]
source = "target/wasm32-wasip2/release/fixture_hello.wasm"
"#;

/// `<scratch>/app/spin.toml` naming `target/...`, and the wasm only in a separate cargo target
/// dir, as after `cargo build` with CARGO_TARGET_DIR set.
fn app_with_wasm_only_in_cargo_target_dir(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch_file(name);
    let _ = std::fs::remove_dir_all(&root);
    let app = root.join("app");
    let cargo_target = root.join("cargo-target");
    let built = cargo_target.join("wasm32-wasip2/release");
    std::fs::create_dir_all(&app).expect("app folder");
    std::fs::create_dir_all(&built).expect("target folder");
    std::fs::copy(
        fixture_wasm("fixture_hello"),
        built.join("fixture_hello.wasm"),
    )
    .expect("wasm copied");
    std::fs::write(app.join("spin.toml"), MANIFEST).expect("manifest written");
    (app, cargo_target)
}

#[test]
fn serve_does_not_look_in_cargo_target_dir_and_names_the_missing_source() {
    let (app, cargo_target) = app_with_wasm_only_in_cargo_target_dir("cargo-target-dir");
    let manifest = app.join("spin.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_spin-test-host"))
        .args(["serve", "--manifest"])
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0"])
        .env("CARGO_TARGET_DIR", &cargo_target)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve command runs");
    // Polls a child process for exit: it must refuse to start rather than serve.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started although the source is not where the manifest says");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr read");
    assert!(!status.success());
    let expected = app.join("target/wasm32-wasip2/release/fixture_hello.wasm");
    assert!(stderr.contains("component `hello`"), "{stderr}");
    assert!(
        stderr.contains(&expected.display().to_string()),
        "names {expected:?}: {stderr}"
    );
}

#[tokio::test]
async fn a_source_beside_the_manifest_is_found() {
    let (app, _) = app_with_wasm_only_in_cargo_target_dir("beside-manifest");
    let local = app.join("target/wasm32-wasip2/release");
    std::fs::create_dir_all(&local).expect("local target");
    std::fs::copy(
        fixture_wasm("fixture_hello"),
        local.join("fixture_hello.wasm"),
    )
    .expect("wasm copied");
    let running = App::builder(app.join("spin.toml"))
        .start()
        .await
        .expect("app starts");
    let text = reqwest::get(running.url("/hello"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(text, "Hello, world!");
    assert!(Path::new(&local).is_dir());
}
