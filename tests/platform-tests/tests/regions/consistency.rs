//! Read-your-writes over the regions' replica, and the catalog cache behind it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use platform_tests::{TestApp, create_user, fixtures, header, sign_in, with_cookie};
use serde_json::json;
use uuid::Uuid;

use crate::harness::*;

#[tokio::test]
async fn right_after_a_write_reads_go_to_the_primary_until_the_replica_catches_up() -> Result<()> {
    let regions = Regions::start_exclusive(&[]).await?;
    let (_, admin) = regions.user(accounts_core::Role::Admin).await?;
    let course = fixtures::course("rust-ownership").id;
    let path = format!("/api/courses/{course}");

    let read = regions.get("eu-west", &path, NETHERLANDS).await?;
    assert_eq!(read.status(), 200);
    assert_eq!(header(&read, "x-read-from"), "replica");

    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        let write = with_cookie(
            regions.request(reqwest::Method::PATCH, "eu-west", &path, NETHERLANDS),
            &admin,
        )
        .json(&json!({ "title": "Ownership, Revised" }))
        .send()
        .await?;
        assert_eq!(
            served_by(&write),
            "us-east",
            "writes go to the primary's region"
        );
        let status = write.status();
        let token = set_cookie(&write, "cp_lsn").context("a write sets the consistency token")?;
        ensure!(
            status.is_success(),
            "PATCH: {status} {}",
            write.text().await?
        );
        // The write was served in us-east; the same client reading there sees it.
        let here = regions
            .get_with("us-east", &path, BRAZIL, &format!("{admin}; {token}"))
            .await?;
        assert_eq!(served_by(&here), "us-east");
        assert_eq!(
            header(&here, "x-read-from"),
            "primary",
            "the replica is paused"
        );
        let seen: serde_json::Value = here.json().await?;
        assert_eq!(seen["title"], "Ownership, Revised");

        // And so it does in another region.
        let read = regions
            .get_with("eu-west", &path, NETHERLANDS, &format!("{admin}; {token}"))
            .await?;
        assert_eq!(served_by(&read), "eu-west");
        assert_eq!(
            header(&read, "x-read-from"),
            "primary",
            "replica is paused, behind the write"
        );
        assert_eq!(
            header(&read, "x-cache"),
            "bypass",
            "the edge copy may be older"
        );
        let course: serde_json::Value = read.json().await?;
        assert_eq!(course["title"], "Ownership, Revised");
        // Without the token the same read may use the (stale) replica.
        let anonymous = regions.get("eu-west", &path, NETHERLANDS).await?;
        assert_eq!(header(&anonymous, "x-read-from"), "replica");
        Ok::<String, anyhow::Error>(token)
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    let token = outcome?;

    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let read = regions
            .get_with("eu-west", &path, NETHERLANDS, &format!("{admin}; {token}"))
            .await?;
        if header(&read, "x-read-from") == "replica" {
            let cleared = set_cookie(&read, "cp_lsn").unwrap_or_default();
            assert_eq!(cleared, "cp_lsn=", "caught up: the token is dropped");
            break;
        }
        if Instant::now() > deadline {
            bail!("replica did not catch up in time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Polls `path` in `region` until its course title is `title` (bounded).
async fn title_becomes(regions: &Regions, region: &str, path: &str, title: &str) -> Result<()> {
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let course: serde_json::Value =
            regions.get(region, path, NETHERLANDS).await?.json().await?;
        if course["title"] == title {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{region} still serves {} for {path}", course["title"]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn catalog_reads_come_from_the_regions_replica() -> Result<()> {
    let regions = Regions::start_exclusive(&[("catalog_cache_enabled", "false")]).await?;
    let course = fixtures::course("rust-ownership");
    let path = format!("/api/courses/{}", course.id);
    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        // A change the replica has not replayed (made in SQL: no token, no invalidation).
        regions
            .db
            .client
            .execute(
                "update courses set title = 'Changed Behind the Replica' where id::text = $1",
                &[&course.id],
            )
            .await?;
        let read = regions.get("eu-west", &path, NETHERLANDS).await?;
        assert_eq!(header(&read, "x-cache"), "bypass");
        let served: serde_json::Value = read.json().await?;
        assert_eq!(
            served["title"], course.title,
            "read from the paused replica"
        );
        Ok::<(), anyhow::Error>(())
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    outcome?;
    title_becomes(&regions, "eu-west", &path, "Changed Behind the Replica").await
}

#[tokio::test]
async fn an_invalidated_course_is_not_refilled_from_a_lagging_replica() -> Result<()> {
    let regions = Regions::start_exclusive(&[]).await?;
    let (_, admin) = regions.user(accounts_core::Role::Admin).await?;
    let course = fixtures::course("rust-ownership");
    let path = format!("/api/courses/{}", course.id);
    let cached = regions.get("eu-west", &path, NETHERLANDS).await?;
    assert_eq!(cached.status(), 200);
    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        let write = with_cookie(
            regions.request(reqwest::Method::PATCH, "eu-west", &path, NETHERLANDS),
            &admin,
        )
        .json(&json!({ "title": "Ownership, Third Edition" }))
        .send()
        .await?;
        ensure!(write.status().is_success(), "PATCH: {}", write.status());
        // eu-west drops its copy when the invalidation arrives; the refill must then skip
        // the paused replica (behind the write) and read the primary.
        title_becomes(&regions, "eu-west", &path, "Ownership, Third Edition").await
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    outcome
}

#[tokio::test]
async fn signing_in_leaves_the_edge_cache_on_for_the_student() -> Result<()> {
    let app = TestApp::start(&[]).await?;
    let student = app.student_cookie().await?;
    assert!(
        !student.contains("cp_lsn"),
        "a sign-in changes no catalog data: {student}"
    );
    let path = "/api/courses/rust-ownership";
    for expected in ["miss", "hit"] {
        let read = with_cookie(app.http.get(app.url(path)), &student)
            .send()
            .await?;
        assert_eq!(read.status(), 200);
        assert_eq!(header(&read, "x-cache"), expected);
        assert_eq!(header(&read, "x-read-from"), "replica");
    }
    Ok(())
}

#[tokio::test]
async fn with_postgres_gone_a_signed_in_student_still_gets_the_cached_catalog() -> Result<()> {
    let TestApp {
        app,
        redis: _redis,
        db,
        http,
    } = TestApp::start(&[
        ("catalog_fresh_seconds", "0"),
        ("catalog_max_stale_seconds", "600"),
    ])
    .await?;
    let email = format!("{}@example.com", Uuid::now_v7().simple());
    let password = "correct horse battery staple";
    create_user(&db.client, &email, password, accounts_core::Role::Student).await?;
    let student = sign_in(&http, &app, &email, password).await?;
    let path = "/api/courses/rust-ownership";
    let warm = with_cookie(http.get(app.url(path)), &student)
        .send()
        .await?;
    assert_eq!(warm.status(), 200);
    drop(db); // DROP DATABASE ... WITH (FORCE)
    let read = with_cookie(http.get(app.url(path)), &student)
        .send()
        .await?;
    assert_eq!(
        (read.status().as_u16(), header(&read, "x-cache")),
        (200, "stale".to_owned())
    );
    Ok(())
}

#[tokio::test]
async fn a_client_who_must_read_the_primary_gets_the_stale_copy_while_it_is_unreachable()
-> Result<()> {
    // A replica that never answers: after a write, only the primary is sure to be current.
    let TestApp {
        app,
        redis: _redis,
        db,
        http,
    } = TestApp::start(&[
        ("catalog_fresh_seconds", "0"),
        ("catalog_max_stale_seconds", "600"),
        (
            "replica_database_url",
            "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable",
        ),
    ])
    .await?;
    let email = format!("{}@example.com", Uuid::now_v7().simple());
    let password = "correct horse battery staple";
    create_user(&db.client, &email, password, accounts_core::Role::Admin).await?;
    let admin = sign_in(&http, &app, &email, password).await?;
    let cached = "/api/courses/rust-ownership";
    assert_eq!(http.get(app.url(cached)).send().await?.status(), 200);
    let edited = fixtures::course("async-rust").id;
    let write = with_cookie(
        http.patch(app.url(&format!("/api/courses/{edited}"))),
        &admin,
    )
    .json(&json!({ "title": "Async Rust, Revised" }))
    .send()
    .await?;
    ensure!(write.status().is_success(), "PATCH: {}", write.status());
    let token = set_cookie(&write, "cp_lsn").context("a course edit sets the token")?;
    let cookies = format!("{admin}; {token}");
    let fresh = with_cookie(http.get(app.url(cached)), &cookies)
        .send()
        .await?;
    assert_eq!(header(&fresh, "x-read-from"), "primary");
    assert_eq!(header(&fresh, "x-cache"), "bypass");

    drop(db);
    let read = with_cookie(http.get(app.url(cached)), &cookies)
        .send()
        .await?;
    assert_eq!(read.status(), 200, "an older copy, not a 503");
    assert_eq!(header(&read, "x-cache"), "stale");
    let never_cached = format!("/api/courses/{edited}");
    let missing = with_cookie(http.get(app.url(&never_cached)), &cookies)
        .send()
        .await?;
    assert_eq!(missing.status(), 503, "no copy to fall back on");
    Ok(())
}
