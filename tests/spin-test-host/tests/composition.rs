//! Composition as in Spin 4.1: HTTP middleware put in front of a trigger's component, and
//! component dependencies plugged into its imports, at load time; forms the host does not
//! implement are refused with a message that says why.

mod common;

use common::{fixture_wasm, get, scratch_file};
use spin_test_host::App;

/// Writes `manifest` (with `{hello}`, `{probe}`, `{pass}` standing for the fixtures' wasm) to
/// a scratch folder of its own and returns its path.
fn manifest(name: &str, manifest: &str) -> std::path::PathBuf {
    let text = manifest
        .replace("{hello}", &fixture_wasm("fixture_hello"))
        .replace("{probe}", &fixture_wasm("fixture_probe"))
        .replace("{pass}", &fixture_wasm("fixture_pass_through"));
    let path = scratch_file(&format!("composition-{name}.toml"));
    std::fs::write(&path, text).expect("manifest written");
    path
}

async fn start_error(path: std::path::PathBuf) -> String {
    match App::builder(path).start().await {
        Ok(_) => panic!("the app started, but its composition should have been refused"),
        Err(error) => format!("{error:#}"),
    }
}

#[tokio::test]
async fn middleware_runs_in_front_of_the_component_it_is_composed_into() {
    let path = manifest(
        "in-front",
        r#"spin_manifest_version = 2
[application]
name = "middleware"
[[trigger.http]]
route = "/..."
component = "hello"
dependencies.middleware = [{ component = "pass", inherit_configuration = true }]
[[trigger.http]]
route = "/bare/..."
component = "hello"
[component.hello]
source = "{hello}"
[component.pass]
source = "{pass}"
"#,
    );
    let app = App::builder(path).start().await.expect("app starts");
    // Passed through to the component, untouched.
    assert_eq!(get(&app.url("/hello")).await, (200, "Hello, world!".into()));
    // Answered by the middleware: it runs in front of the component.
    assert_eq!(
        get(&app.url("/pass-through/alive")).await,
        (200, String::new())
    );
    // The same component on a route without middleware is served without it.
    assert_eq!(
        get(&app.url("/bare/pass-through/alive")).await,
        (200, "Hello, world!".into())
    );
    // A component named only as middleware has no route of its own and no chaining name.
    assert_eq!(get(&app.url("/pass")).await, (200, "Hello, world!".into()));
}

#[tokio::test]
async fn middleware_chains_compose_outermost_first() {
    let path = manifest(
        "chain",
        r#"spin_manifest_version = 2
[application]
name = "chain"
[[trigger.http]]
route = "/..."
component = "hello"
dependencies.middleware = [
    { component = "pass", inherit_configuration = true },
    { path = "{pass}", inherit_configuration = true },
]
[component.hello]
source = "{hello}"
[component.pass]
source = "{pass}"
"#,
    );
    let app = App::builder(path).start().await.expect("app starts");
    assert_eq!(get(&app.url("/x")).await, (200, "Hello, world!".into()));
    assert_eq!(
        get(&app.url("/pass-through/alive")).await,
        (200, String::new())
    );
}

#[tokio::test]
async fn a_component_that_is_not_middleware_is_refused_as_middleware() {
    let path = manifest(
        "not-middleware",
        r#"spin_manifest_version = 2
[application]
name = "refused"
[[trigger.http]]
route = "/..."
component = "pass"
dependencies.middleware = [{ component = "hello", inherit_configuration = true }]
[component.hello]
source = "{hello}"
[component.pass]
source = "{pass}"
"#,
    );
    let error = start_error(path).await;
    assert!(
        error.contains("middleware component `hello` does not import wasi:http/handler@0.3.0"),
        "{error}"
    );
}

#[tokio::test]
async fn middleware_that_would_be_denied_configuration_is_refused() {
    // The probe reads variables and a key-value store; without inherit_configuration Spin
    // would deny both, and the host refuses rather than grant them.
    let path = manifest(
        "denied",
        r#"spin_manifest_version = 2
[application]
name = "denied"
[[trigger.http]]
route = "/..."
component = "hello"
dependencies.middleware = [{ component = "probe", inherit_configuration = ["allowed_outbound_hosts"] }]
[component.hello]
source = "{hello}"
[component.probe]
source = "{probe}"
"#,
    );
    let error = start_error(path).await;
    assert!(
        error.contains("middleware component `probe` imports `spin:"),
        "{error}"
    );
    assert!(error.contains("inherit_configuration"), "{error}");
}

#[tokio::test]
async fn a_dependency_that_matches_no_import_is_refused() {
    let path = manifest(
        "unmatched",
        r#"spin_manifest_version = 2
[application]
name = "unmatched"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "{hello}"
[component.hello.dependencies]
"course-platform:nothing/here" = { component = "pass", inherit_configuration = true }
[component.pass]
source = "{pass}"
"#,
    );
    let error = start_error(path).await;
    assert!(
        error.contains(
            "dependency `course-platform:nothing/here` doesn't match any import of component `hello`"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn trigger_dependencies_other_than_middleware_and_unknown_sources_are_refused() {
    let other = manifest(
        "other-kind",
        r#"spin_manifest_version = 2
[application]
name = "other"
[[trigger.http]]
route = "/..."
component = "hello"
dependencies.outermost = [{ component = "pass" }]
[component.hello]
source = "{hello}"
[component.pass]
source = "{pass}"
"#,
    );
    let error = start_error(other).await;
    assert!(error.contains("unknown field `outermost`"), "{error}");
    let missing = manifest(
        "missing",
        r#"spin_manifest_version = 2
[application]
name = "missing"
[[trigger.http]]
route = "/..."
component = "hello"
dependencies.middleware = [{ component = "nobody", inherit_configuration = true }]
[component.hello]
source = "{hello}"
"#,
    );
    let error = start_error(missing).await;
    assert!(
        error.contains("a dependency names component `nobody`, which is not declared"),
        "{error}"
    );
}
