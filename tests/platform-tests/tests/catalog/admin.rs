//! Admin writes: authorisation, the draft-to-published life of a course, input errors.

use anyhow::Result;
use catalog_core::course::CourseDetail;
use platform_tests::fixtures;
use platform_tests::{TestApp, assert_problem, header, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::slugs;

fn new_course() -> Value {
    json!({
        "title": "Zig for Rustaceans",
        "subtitle": "Comptime without fear",
        "description": "A fast tour of Zig for people who know Rust.",
        "outline": ["Setup", "Comptime", "Allocators"],
        "category": "programming",
        "instructor": "ada-lovelace",
        "level": "intermediate",
        "language": "en",
        "price": {"amount_cents": 3900, "currency": "USD"},
        "duration_minutes": 240
    })
}

#[tokio::test]
async fn admin_writes_need_an_admin_session() -> Result<()> {
    let app = TestApp::start().await?;
    let student = app.student().await?;
    let id = fixtures::course("async-rust").id;
    let writes = [
        ("POST", "/api/courses".to_owned()),
        ("PATCH", format!("/api/courses/{id}")),
        ("POST", format!("/api/courses/{id}/publish")),
        ("POST", format!("/api/courses/{id}/unpublish")),
    ];
    for (method, path) in writes {
        let method = Method::from_bytes(method.as_bytes())?;
        let anonymous = app
            .request(method.clone(), &path)
            .json(&new_course())
            .send()
            .await?;
        assert_problem(
            anonymous,
            StatusCode::UNAUTHORIZED,
            "/problems/unauthorized",
        )
        .await?;
        let as_student = student
            .request(method, &path)
            .json(&new_course())
            .send()
            .await?;
        assert_problem(as_student, StatusCode::FORBIDDEN, "/problems/forbidden").await?;
    }
    Ok(())
}

#[tokio::test]
async fn admin_creates_edits_publishes_and_unpublishes_a_course() -> Result<()> {
    let app = TestApp::builder()
        .variable("catalog_fresh_seconds", "300")
        .start()
        .await?;
    let admin = app.admin().await?;

    // Cache the list and the categories first: the writes below must show up regardless.
    assert_eq!(app.catalog_page("").await?.total, 5);
    app.categories().await?;

    let created = admin.create_course(&new_course()).send().await?;
    assert_eq!(header(&created, "cache-control"), "private, no-store");
    let location = header(&created, "location");
    let course: CourseDetail = json_of(created, StatusCode::CREATED).await?;
    let id = course.summary.id.to_string();
    assert_eq!(location, format!("/api/courses/{id}"));
    assert_eq!(
        (course.summary.slug.as_str(), course.summary.published),
        ("zig-for-rustaceans", false)
    );
    assert_eq!(course.outline, ["Setup", "Comptime", "Allocators"]);
    assert_eq!(
        app.get("/api/courses/zig-for-rustaceans").await?.status(),
        StatusCode::NOT_FOUND
    );

    let duplicate = admin.create_course(&new_course()).send().await?;
    assert_problem(duplicate, StatusCode::CONFLICT, "/problems/slug-taken").await?;

    let published = admin.publish_course(&id).await?;
    assert!(published.summary.published);
    let list = app.get("/api/courses").await?;
    assert_eq!(
        header(&list, "x-cache"),
        "miss",
        "the write moved the list generation on"
    );
    let list: catalog_core::course::CoursePage = json_of(list, StatusCode::OK).await?;
    assert_eq!(
        (list.total, slugs(&list.items)[0]),
        (6, "zig-for-rustaceans")
    );
    let programming = app.categories().await?;
    assert_eq!(programming.items[2].course_count, 4);
    assert_eq!(
        header(
            &app.get("/api/courses/zig-for-rustaceans").await?,
            "x-cache"
        ),
        "miss"
    );
    assert_eq!(
        header(
            &app.get("/api/courses/zig-for-rustaceans").await?,
            "x-cache"
        ),
        "hit"
    );

    let patched = admin
        .update_course(
            &id,
            &json!({"title": "Zig for Rust People", "slug": "zig-for-rust-people", "price": {"amount_cents": 2900, "currency": "USD"}}),
        )
        .await?;
    assert_eq!(
        (
            patched.summary.title.as_str(),
            patched.summary.price.amount_cents
        ),
        ("Zig for Rust People", 2900)
    );
    assert_eq!(
        patched.summary.subtitle, "Comptime without fear",
        "fields not given are kept"
    );
    let by_new_slug = app.course("zig-for-rust-people").await?;
    assert_eq!(by_new_slug.summary.title, "Zig for Rust People");
    assert_eq!(
        app.get("/api/courses/zig-for-rustaceans").await?.status(),
        StatusCode::NOT_FOUND,
        "the old slug's cached copy was dropped"
    );
    let by_id = app.course(&id).await?;
    assert_eq!(by_id.summary.price.amount_cents, 2900);

    let taken = admin
        .update_course(&id, &json!({"slug": "async-rust"}))
        .send()
        .await?;
    assert_problem(taken, StatusCode::CONFLICT, "/problems/slug-taken").await?;

    let unpublished = admin.unpublish_course(&id).await?;
    assert!(!unpublished.summary.published);
    assert_eq!(
        app.get("/api/courses/zig-for-rust-people").await?.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.catalog_page("").await?.total, 5);
    Ok(())
}

#[tokio::test]
async fn admin_input_errors_are_precise_problems() -> Result<()> {
    let app = TestApp::start().await?;
    let admin = app.admin().await?;
    let create = |body: String, content_type: &str| {
        admin
            .request(Method::POST, "/api/courses")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let mut unknown_category = new_course();
    unknown_category["category"] = "cooking".into();
    let body = assert_problem(
        create(unknown_category.to_string(), "application/json").await?,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;
    assert_eq!(body.errors[0].field, "category");

    let mut invalid = new_course();
    invalid["level"] = "expert".into();
    invalid["price"] = json!({"amount_cents": -1, "currency": "USD"});
    let body = assert_problem(
        create(invalid.to_string(), "application/json").await?,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;
    assert_eq!(body.fields(), ["level", "price.amount_cents"]);

    assert_problem(
        create("{".into(), "application/json").await?,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;
    assert_problem(
        create(new_course().to_string(), "text/plain").await?,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "/problems/unsupported-media-type",
    )
    .await?;
    let huge = json!({"title": "x".repeat(70 * 1024)}).to_string();
    assert_problem(
        create(huge, "application/json").await?,
        StatusCode::PAYLOAD_TOO_LARGE,
        "/problems/payload-too-large",
    )
    .await?;

    let empty_patch = admin.update_course("async-rust", &json!({})).send().await?;
    assert_problem(
        empty_patch,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;
    let missing = admin.publish_course("no-such-course").send().await?;
    assert_problem(missing, StatusCode::NOT_FOUND, "/problems/not-found").await?;
    Ok(())
}
