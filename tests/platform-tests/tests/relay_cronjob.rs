//! The fallbacks for Spin having no scheduled work. On SpinKube, the `outbox-relay`
//! CronJob: these tests run the very script the job runs
//! (`deploy/spinkube/base/outbox-relay.sh`, mounted from a ConfigMap in the cluster) against
//! the app on the test host, with the job's inputs: the app's address and the relay admin's
//! sign-in file. On a hosted cloud without a scheduler, the relay on checkout traffic.

use std::cell::Cell;
use std::process::Output;

use anyhow::{Context, Result, ensure};
use commerce_core::OrderStatus;
use commerce_core::views::RelayReport;
use platform_tests::spin_test_host::workspace_root;
use platform_tests::{Credentials, PASSWORD, TestApp, User, Worker};
use uuid::Uuid;

const SCRIPT: &str = "deploy/spinkube/base/outbox-relay.sh";
/// Re-publish at once, and never give up, so one run of the job has something to do.
const REDRIVE_NOW: [(&str, &str); 2] = [
    ("outbox_redrive_after_seconds", "0"),
    ("outbox_max_attempts", "1000"),
];

const PUBLICATIONS_OF_ORDER: &str =
    "SELECT attempts::bigint FROM outbox WHERE order_id = $1::text::uuid";

/// Runs the job's script once against `base_url`, signing in as `email`.
async fn run_job(base_url: &str, email: &str, password: &str) -> Result<Output> {
    let sign_in = std::env::temp_dir().join(format!("relay-admin-{}.json", Uuid::now_v7()));
    std::fs::write(
        &sign_in,
        serde_json::json!({ "email": email, "password": password }).to_string(),
    )?;
    let output = tokio::process::Command::new("sh")
        .arg(workspace_root().join(SCRIPT))
        .env("APP_URL", base_url)
        .env("SIGN_IN_FILE", &sign_in)
        .output()
        .await
        .context("running the relay job's script (needs sh and curl)");
    let _ = std::fs::remove_file(&sign_in);
    output
}

/// The app without the worker (events are re-driven at once), and a student's order paid
/// there: its `order.paid` was published into the void, so it stays `paid`.
async fn an_order_whose_event_was_lost() -> Result<(TestApp, User, Uuid)> {
    let shop = TestApp::builder()
        .worker(Worker::Absent)
        .variables(&REDRIVE_NOW)
        .start()
        .await?;
    let user = shop.student().await?;
    let order_id = user.buy(&["rust-ownership"]).await?.order.id;
    ensure!(user.order(order_id).await?.status == OrderStatus::Paid);
    Ok((shop, user, order_id))
}

async fn run_job_as(base_url: &str, admin: &Credentials) -> Result<RelayReport> {
    let output = run_job(base_url, &admin.email, PASSWORD).await?;
    ensure!(
        output.status.success(),
        "the relay job failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("the job prints the relay's report")
}

#[tokio::test]
async fn the_cronjob_gets_an_order_enrolled_after_its_event_was_lost() -> Result<()> {
    let (shop, user, order_id) = an_order_whose_event_was_lost().await?;

    // The worker is back; the job, as scheduled every minute, re-publishes for it.
    let with_worker = TestApp::builder()
        .variables(&REDRIVE_NOW)
        .start_beside(&shop)
        .await?;
    let relay_admin = shop.db.create_user(accounts_core::Role::Admin).await?;
    let base_url = with_worker.app.base_url();
    let republished = Cell::new(0);
    user.wait_until_enrolled(order_id, || {
        let (republished, base_url, relay_admin) = (&republished, &base_url, &relay_admin);
        async move {
            let report = run_job_as(base_url, relay_admin).await?;
            republished.set(republished.get() + report.republished);
            Ok(())
        }
    })
    .await?;
    assert!(
        republished.get() >= 1,
        "the job re-published the lost event"
    );
    let enrollments = shop
        .db
        .count(
            "SELECT count(*) FROM enrollments WHERE order_id = $1::text::uuid",
            order_id,
        )
        .await?;
    assert_eq!(enrollments, 1);
    Ok(())
}

#[tokio::test]
async fn the_cronjob_fails_loudly_without_an_admin_and_changes_nothing() -> Result<()> {
    let (shop, user, order_id) = an_order_whose_event_was_lost().await?;
    let base_url = shop.app.base_url();
    let publications_before = shop.db.count(PUBLICATIONS_OF_ORDER, order_id).await?;

    // A wrong password: no session, and the job says so.
    let admin = shop.db.create_user(accounts_core::Role::Admin).await?;
    let refused = run_job(&base_url, &admin.email, "not the password at all").await?;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("sign-in returned no session cookie"),
        "{stderr}"
    );

    // A student's account signs in, but the relay is for admins: curl fails on the 403.
    let student = shop.db.create_user(accounts_core::Role::Student).await?;
    let forbidden = run_job(&base_url, &student.email, PASSWORD).await?;
    assert!(!forbidden.status.success());
    assert!(
        String::from_utf8_lossy(&forbidden.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&forbidden.stderr)
    );

    assert_eq!(
        shop.db.count(PUBLICATIONS_OF_ORDER, order_id).await?,
        publications_before,
        "no refused run re-published anything"
    );
    assert_eq!(user.order(order_id).await?.status, OrderStatus::Paid);
    Ok(())
}

#[tokio::test]
async fn without_a_scheduler_checkout_traffic_runs_the_relay() -> Result<()> {
    let (shop, user, lost) = an_order_whose_event_was_lost().await?;

    // A hosted Spin cloud: no Redis trigger, no CronJob, enrollment in PostgreSQL. Its own
    // region, so its relay lease is not the one the first checkout took.
    let hosted = TestApp::builder()
        .worker(Worker::NoRedisTriggers)
        .variables(&REDRIVE_NOW)
        .variables(&[
            ("enrollment_mode", "direct"),
            ("region", "hosted"),
            (
                "regions",
                r#"[{"name":"hosted","origin":"http://127.0.0.1:1","lat":0,"lon":0,"primary":true}]"#,
            ),
        ])
        .start_beside(&shop)
        .await?;
    let other = shop.user_on(&hosted, accounts_core::Role::Student).await?;
    let bought = other.buy(&["async-rust"]).await?.order;
    assert_eq!(
        other.order(bought.id).await?.status,
        OrderStatus::Enrolled,
        "direct mode enrolls at checkout"
    );

    // That checkout took the region's relay lease and enrolled the lost order on its way.
    assert_eq!(user.order(lost).await?.status, OrderStatus::Enrolled);
    let enrollments = shop
        .db
        .count(
            "SELECT count(*) FROM enrollments WHERE order_id = $1::text::uuid",
            lost,
        )
        .await?;
    assert_eq!(enrollments, 1);
    Ok(())
}
