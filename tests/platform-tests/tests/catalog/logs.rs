//! What the catalog logs about a request it served from a stale copy or failed.

use anyhow::Result;
use platform_tests::{GuestLog, TestApp, events, header};
use reqwest::StatusCode;

#[tokio::test]
async fn what_a_request_survives_or_fails_on_is_logged_with_the_request_id_it_answered()
-> Result<()> {
    let log = GuestLog::new();
    // Freshness 0: every cached copy is immediately stale, so each read tries the database.
    let (app, db) = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "600"),
        ])
        .stderr_to(log.path())
        .start()
        .await?
        .database_apart();
    let cached = app.get("/api/courses/rust-ownership").await?;
    assert_eq!(cached.status(), StatusCode::OK);

    drop(db); // DROP DATABASE ... WITH (FORCE): the database is gone.

    let stale = app.get("/api/courses/rust-ownership").await?;
    assert_eq!(header(&stale, "x-cache"), "stale");
    let failed = app.get("/api/courses/async-rust").await?;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);

    let stale_lines = log.of_request(&header(&stale, "x-request-id"))?;
    assert_eq!(
        events(&stale_lines),
        [("catalog", "served-stale"), ("geo-router", "request")],
        "{}",
        log.text()?
    );
    let cause = stale_lines[0]["error"].as_str().unwrap_or_default();
    assert!(cause.starts_with("database "), "{cause}");
    assert_eq!(stale_lines[1]["status"], 200);
    assert_eq!(stale_lines[1]["path"], "/api/courses/rust-ownership");

    let failed_lines = log.of_request(&header(&failed, "x-request-id"))?;
    assert_eq!(
        events(&failed_lines),
        [
            ("catalog", "dependency-unavailable"),
            ("geo-router", "request")
        ],
        "{}",
        log.text()?
    );
    assert_eq!(failed_lines[1]["status"], 503);
    Ok(())
}
