//! Read-your-writes over the regions' replica, and the catalog cache behind it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use catalog_core::course::CourseDetail;
use platform_tests::regions::*;
use platform_tests::{TestApp, fixtures, header, json_of, set_cookie};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn right_after_a_write_reads_go_to_the_primary_until_the_replica_catches_up() -> Result<()> {
    let regions = Regions::start_exclusive(&[]).await?;
    let admin = regions.user(accounts_core::Role::Admin).await?;
    let course = fixtures::course("rust-ownership").id;
    let in_europe = regions.entering("eu-west", NETHERLANDS);
    let in_brazil = regions.entering("us-east", BRAZIL);

    let read = in_europe.course(course).send().await?;
    assert_eq!(read.status(), 200);
    assert_eq!(header(&read, "x-read-from"), "replica");

    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        let write = in_europe
            .with_cookies(admin.cookies())
            .update_course(course, &json!({ "title": "Ownership, Revised" }))
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
        let with_token = format!("{}; {token}", admin.cookies());
        let here = in_brazil
            .with_cookies(&with_token)
            .course(course)
            .send()
            .await?;
        assert_eq!(served_by(&here), "us-east");
        assert_eq!(
            header(&here, "x-read-from"),
            "primary",
            "the replica is paused"
        );
        let seen: CourseDetail = json_of(here, StatusCode::OK).await?;
        assert_eq!(seen.summary.title, "Ownership, Revised");

        // And so it does in another region.
        let read = in_europe
            .with_cookies(&with_token)
            .course(course)
            .send()
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
        let seen: CourseDetail = json_of(read, StatusCode::OK).await?;
        assert_eq!(seen.summary.title, "Ownership, Revised");
        // Without the token the same read may use the (stale) replica.
        let anonymous = in_europe.course(course).send().await?;
        assert_eq!(header(&anonymous, "x-read-from"), "replica");
        Ok::<String, anyhow::Error>(token)
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    let token = outcome?;

    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let read = in_europe
            .with_cookies(&format!("{}; {token}", admin.cookies()))
            .course(course)
            .send()
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

/// Polls course `id` in `region` until its title is `title` (bounded).
async fn title_becomes(regions: &Regions, region: &str, id: &str, title: &str) -> Result<()> {
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        let course = regions.entering(region, NETHERLANDS).course(id).await?;
        if course.summary.title == title {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{region} still serves {} for {id}", course.summary.title);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn catalog_reads_come_from_the_regions_replica() -> Result<()> {
    let regions = Regions::start_exclusive(&[("catalog_cache_enabled", "false")]).await?;
    let course = fixtures::course("rust-ownership");
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
        let read = regions
            .entering("eu-west", NETHERLANDS)
            .course(course.id)
            .send()
            .await?;
        assert_eq!(header(&read, "x-cache"), "bypass");
        let served: CourseDetail = json_of(read, StatusCode::OK).await?;
        assert_eq!(
            served.summary.title, course.title,
            "read from the paused replica"
        );
        Ok::<(), anyhow::Error>(())
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    outcome?;
    title_becomes(&regions, "eu-west", course.id, "Changed Behind the Replica").await
}

#[tokio::test]
async fn an_invalidated_course_is_not_refilled_from_a_lagging_replica() -> Result<()> {
    let regions = Regions::start_exclusive(&[]).await?;
    let admin = regions.user(accounts_core::Role::Admin).await?;
    let course = fixtures::course("rust-ownership");
    let in_europe = regions.entering("eu-west", NETHERLANDS);
    in_europe.course(course.id).await?;
    replica_sql("select pg_wal_replay_pause()").await?;
    let outcome = async {
        let write = in_europe
            .with_cookies(admin.cookies())
            .update_course(course.id, &json!({ "title": "Ownership, Third Edition" }))
            .send()
            .await?;
        ensure!(write.status().is_success(), "PATCH: {}", write.status());
        // eu-west drops its copy when the invalidation arrives; the refill must then skip
        // the paused replica (behind the write) and read the primary.
        title_becomes(&regions, "eu-west", course.id, "Ownership, Third Edition").await
    }
    .await;
    replica_sql("select pg_wal_replay_resume()").await?;
    outcome
}

#[tokio::test]
async fn signing_in_leaves_the_edge_cache_on_for_the_student() -> Result<()> {
    let app = TestApp::start().await?;
    let student = app.student().await?;
    assert!(
        !student.cookies().contains("cp_lsn"),
        "a sign-in changes no catalog data: {}",
        student.cookies()
    );
    for expected in ["miss", "hit"] {
        let read = student.course("rust-ownership").send().await?;
        assert_eq!(read.status(), 200);
        assert_eq!(header(&read, "x-cache"), expected);
        assert_eq!(header(&read, "x-read-from"), "replica");
    }
    Ok(())
}

#[tokio::test]
async fn with_postgres_gone_a_signed_in_student_still_gets_the_cached_catalog() -> Result<()> {
    let (app, db) = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "600"),
        ])
        .start()
        .await?
        .database_apart();
    let credentials = db.create_user(accounts_core::Role::Student).await?;
    let student = app.signed_in(&credentials).await?;
    student.course("rust-ownership").await?;
    drop(db); // DROP DATABASE ... WITH (FORCE)
    let read = student.course("rust-ownership").send().await?;
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
    let (app, db) = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "600"),
            (
                "replica_database_url",
                "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable",
            ),
        ])
        .start()
        .await?
        .database_apart();
    let credentials = db.create_user(accounts_core::Role::Admin).await?;
    let admin = app.signed_in(&credentials).await?;
    let cached = "rust-ownership";
    app.course(cached).await?;
    let edited = fixtures::course("async-rust").id;
    let write = admin
        .update_course(edited, &json!({ "title": "Async Rust, Revised" }))
        .send()
        .await?;
    ensure!(write.status().is_success(), "PATCH: {}", write.status());
    let token = set_cookie(&write, "cp_lsn").context("a course edit sets the token")?;
    let reader = app.with_cookies(&format!("{}; {token}", admin.cookies()));
    let fresh = reader.course(cached).send().await?;
    assert_eq!(header(&fresh, "x-read-from"), "primary");
    assert_eq!(header(&fresh, "x-cache"), "bypass");

    drop(db);
    let read = reader.course(cached).send().await?;
    assert_eq!(read.status(), 200, "an older copy, not a 503");
    assert_eq!(header(&read, "x-cache"), "stale");
    let missing = reader.course(edited).send().await?;
    assert_eq!(missing.status(), 503, "no copy to fall back on");
    Ok(())
}
