//! Application variables: templates, overrides, `SPIN_VARIABLE_*`, required variables.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{MANIFEST, fixture_app, get};
use spin_test_host::{App, workspace_root};

#[tokio::test]
async fn component_variables_render_templates_over_app_variables() {
    let app = fixture_app().start().await.expect("app starts");
    assert_eq!(
        get(&app.url("/probe/variable/greeting")).await,
        (200, "hello, world".into())
    );
    assert_eq!(
        get(&app.url("/probe/variable/token")).await,
        (200, "token-from-test".into())
    );
}

#[tokio::test]
async fn builder_variables_override_defaults() {
    let app = fixture_app()
        .variable("greeting", "howdy")
        .start()
        .await
        .expect("app starts");
    assert_eq!(
        get(&app.url("/probe/variable/greeting")).await,
        (200, "howdy, world".into())
    );
}

#[tokio::test]
async fn variables_the_component_does_not_declare_are_undefined() {
    let app = fixture_app().start().await.expect("app starts");
    let (status, body) = get(&app.url("/probe/variable/api_token")).await;
    assert_eq!(status, 404);
    assert!(body.contains("Undefined"), "{body}");
    let (_, body) = get(&app.url("/probe/variable/Not-Valid")).await;
    assert!(body.contains("InvalidName"), "{body}");
}

#[tokio::test]
async fn a_missing_required_variable_fails_start_up_naming_it() {
    let error = App::builder(MANIFEST)
        .start()
        .await
        .err()
        .expect("start-up fails");
    let message = format!("{error:#}");
    assert!(message.contains("`api_token`"), "{message}");
    assert!(message.contains("SPIN_VARIABLE_API_TOKEN"), "{message}");
}

/// The `serve` command, with variables from the environment as Spin reads them.
struct ServeCommand {
    child: Child,
    base_url: String,
}

impl ServeCommand {
    async fn start(env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_spin-test-host"))
            .current_dir(workspace_root())
            .args([
                "serve",
                "--manifest",
                MANIFEST,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve command runs");
        let serve = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        // Readiness poll of a child process (it compiles components before listening).
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::get(format!("{}/hello", serve.base_url))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "serve command did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        serve
    }
}

impl Drop for ServeCommand {
    fn drop(&mut self) {
        // Best effort: the process may already have exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serve_command_reads_spin_variable_environment() {
    let serve = ServeCommand::start(&[
        ("SPIN_VARIABLE_API_TOKEN", "from-env"),
        ("SPIN_VARIABLE_GREETING", "bonjour"),
    ])
    .await;
    let url = |path: &str| format!("{}{path}", serve.base_url);
    assert_eq!(
        get(&url("/probe/variable/token")).await,
        (200, "from-env".into())
    );
    assert_eq!(
        get(&url("/probe/variable/greeting")).await,
        (200, "bonjour, world".into())
    );
}

#[test]
fn serve_command_refuses_to_start_without_required_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_spin-test-host"))
        .current_dir(workspace_root())
        .args(["serve", "--manifest", MANIFEST, "--listen", "127.0.0.1:0"])
        .env_remove("SPIN_VARIABLE_API_TOKEN")
        .output()
        .expect("serve command runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api_token"), "{stderr}");
}
