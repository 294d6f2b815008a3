//! The edge cache: hits, ETags and 304s, stale copies during an outage, the staleness
//! bound, one database trip per stampede, and how an admin edit reaches other instances.

use std::time::Duration;

use anyhow::Result;
use platform_tests::fixtures;
use platform_tests::{Client, TestApp, Worker, assert_problem, header};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn second_read_is_a_cache_hit_with_the_same_etag_and_revalidates_to_304() -> Result<()> {
    let app = TestApp::start().await?;
    for path in [
        "/api/courses?level=beginner",
        "/api/courses/async-rust",
        "/api/categories",
        &format!(
            "/api/courses/batch?ids={}",
            fixtures::course("typography").id
        ),
    ] {
        let first = app.get(path).await?;
        assert_eq!(
            (first.status(), header(&first, "x-cache")),
            (StatusCode::OK, "miss".to_owned()),
            "{path}"
        );
        assert_eq!(
            header(&first, "cache-control"),
            "public, max-age=30, stale-while-revalidate=600, stale-if-error=600"
        );
        let etag = header(&first, "etag");
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let first_body = first.text().await?;

        let second = app.get(path).await?;
        assert_eq!(header(&second, "x-cache"), "hit", "{path}");
        assert_eq!(header(&second, "etag"), etag);
        assert_eq!(second.text().await?, first_body);

        let revalidated = app
            .request(Method::GET, path)
            .header("if-none-match", &etag)
            .send()
            .await?;
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(header(&revalidated, "etag"), etag);
        assert!(revalidated.text().await?.is_empty());
        let changed = app
            .request(Method::GET, path)
            .header("if-none-match", "\"something-else\"")
            .send()
            .await?;
        assert_eq!(changed.status(), StatusCode::OK);
    }
    // Equivalent spellings of one query share an entry.
    assert_eq!(
        header(
            &app.get("/api/courses?page=1&level=beginner&sort=newest")
                .await?,
            "x-cache"
        ),
        "hit"
    );
    Ok(())
}

#[tokio::test]
async fn stale_copy_is_served_while_the_database_is_unreachable() -> Result<()> {
    // Freshness 0: every cached copy is immediately stale, so each read tries the database.
    let (app, db) = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "600"),
        ])
        .start()
        .await?
        .database_apart();
    let path = "/api/courses/rust-ownership";
    let fresh = app.get(path).await?;
    assert_eq!(header(&fresh, "x-cache"), "miss");
    let body = fresh.text().await?;
    let refreshed = app.get(path).await?;
    assert_eq!(
        header(&refreshed, "x-cache"),
        "miss",
        "a stale copy is refreshed while the database is up"
    );

    drop(db); // DROP DATABASE ... WITH (FORCE): the database is gone.

    let stale = app.get(path).await?;
    assert_eq!(
        (stale.status(), header(&stale, "x-cache")),
        (StatusCode::OK, "stale".to_owned())
    );
    assert_eq!(stale.text().await?, body);

    let uncached = app.get("/api/courses/async-rust").await?;
    assert_eq!(uncached.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&uncached, "retry-after"), "5");
    assert_problem(
        uncached,
        StatusCode::SERVICE_UNAVAILABLE,
        "/problems/service-unavailable",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn copies_past_the_maximum_staleness_are_not_served() -> Result<()> {
    let (app, db) = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "0"),
        ])
        .start()
        .await?
        .database_apart();
    app.categories().await?;
    drop(db);
    let expired = app.categories().send().await?;
    assert_eq!(header(&expired, "retry-after"), "5");
    assert_problem(
        expired,
        StatusCode::SERVICE_UNAVAILABLE,
        "/problems/service-unavailable",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_misses_on_one_key_make_one_database_trip() -> Result<()> {
    let app = TestApp::start().await?;
    // Warm the connection pool on another key so the measured miss is one quick query.
    app.get("/api/categories").await?;
    let requests = (0..16).map(|_| app.get("/api/courses?sort=title"));
    let responses = futures::future::join_all(requests).await;
    let mut outcomes = Vec::new();
    let mut bodies = std::collections::HashSet::new();
    for response in responses {
        let response = response?;
        assert_eq!(response.status(), StatusCode::OK);
        outcomes.push(header(&response, "x-cache"));
        bodies.insert(response.text().await?);
    }
    let misses = outcomes.iter().filter(|outcome| *outcome == "miss").count();
    assert_eq!(misses, 1, "{outcomes:?}");
    assert_eq!(bodies.len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_edit_in_one_instance_invalidates_a_second_instance_sharing_redis() -> Result<()> {
    // Long freshness: only the invalidation message, not expiry, can refresh instance B.
    let variables = [("catalog_fresh_seconds", "300")];
    let app = TestApp::builder().variables(&variables).start().await?;
    let second = TestApp::builder()
        .variables(&variables)
        .start_beside(&app)
        .await?;
    for path in [
        "/api/courses/async-rust",
        "/api/courses?instructor=ada-lovelace",
    ] {
        assert_eq!(header(&second.get(path).await?, "x-cache"), "miss");
        assert_eq!(header(&second.get(path).await?, "x-cache"), "hit");
    }

    // Pub/sub delivery is asynchronous: poll instance B, bounded well below the 300 s budget.
    revise_and_wait_for(&app, &second, Duration::from_secs(10)).await?;
    let page = second.catalog_page("instructor=ada-lovelace").await?;
    assert_eq!(
        page.items[0].title, "Async Rust, Revised",
        "list pages of instance B were invalidated too"
    );
    Ok(())
}

#[tokio::test]
async fn without_the_redis_trigger_an_edit_shows_elsewhere_once_the_copy_expires() -> Result<()> {
    // Hosted Spin clouds have no Redis trigger, so no cache-invalidator: the other
    // instance's copy can only go by expiring. A short freshness makes that quick.
    let variables = [("catalog_fresh_seconds", "1")];
    let app = TestApp::builder().variables(&variables).start().await?;
    let second = TestApp::builder()
        .worker(Worker::NoRedisTriggers)
        .variables(&variables)
        .start_beside(&app)
        .await?;
    assert_eq!(
        second.course("async-rust").await?.summary.title,
        "Async Rust in Practice"
    );

    // Bounded well beyond the one-second budget; an entry that never expired fails here.
    revise_and_wait_for(&app, &second, Duration::from_secs(15)).await
}

/// An admin of `app` retitles `async-rust` "Async Rust, Revised"; then `second` is polled
/// until it serves the new title, failing after `bound`.
async fn revise_and_wait_for(app: &TestApp, second: &Client, bound: Duration) -> Result<()> {
    let admin = app.admin().await?;
    admin
        .update_course("async-rust", &json!({"title": "Async Rust, Revised"}))
        .await?;
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        let seen = second.course("async-rust").await?;
        if seen.summary.title == "Async Rust, Revised" {
            return Ok(());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second instance still serves {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
