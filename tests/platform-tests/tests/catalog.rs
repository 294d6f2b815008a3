//! Catalog user stories on the real app: browsing, search, detail, batch, categories,
//! every error, the edge cache (hit / miss / stale / 503), HTTP caching and admin writes,
//! including invalidation seen by a second app instance sharing Redis.

use std::time::Duration;

use anyhow::Result;
use catalog_core::course::{CategorySummary, CourseDetail, CourseSummary, Level, Money, NamedRef};
use platform_tests::fixtures::{self, NEWEST_FIRST};
use platform_tests::{Client, GuestLog, TestApp, Worker, assert_problem, events, header, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn slugs(items: &[CourseSummary]) -> Vec<&str> {
    items.iter().map(|item| item.slug.as_str()).collect()
}

#[tokio::test]
async fn lists_published_courses_newest_first_in_stable_pages() -> Result<()> {
    let app = TestApp::start().await?;
    let page = app.catalog_page("").await?;
    assert_eq!(slugs(&page.items), NEWEST_FIRST);
    assert_eq!((page.page, page.page_size, page.total), (1, 20, 5));

    let first = &page.items[0];
    assert_eq!(first.id.to_string(), fixtures::course("typography").id);
    assert_eq!(
        first.category,
        NamedRef {
            slug: "design".into(),
            name: "Design".into()
        }
    );
    assert_eq!(
        first.instructor,
        NamedRef {
            slug: "grace-hopper".into(),
            name: "Grace Hopper".into()
        }
    );
    assert_eq!(
        first.price,
        Money {
            amount_cents: 2999,
            currency: "USD".into()
        }
    );
    assert_eq!(first.level, Level::Intermediate);
    assert!(first.published);
    assert_eq!(first.updated_at, "2025-05-01T12:00:00.000Z");
    // What a summary leaves out is only visible in the JSON itself.
    let raw: Value = json_of(app.get("/api/courses").await?, StatusCode::OK).await?;
    assert!(
        raw["items"][0].get("description").is_none(),
        "summaries carry no description"
    );

    let mut walked = Vec::new();
    for number in 1..=3 {
        let page = app
            .catalog_page(&format!("page={number}&page_size=2"))
            .await?;
        assert_eq!(page.total, 5);
        walked.extend(page.items.into_iter().map(|item| item.slug));
    }
    assert_eq!(walked, NEWEST_FIRST);
    let past_the_end = app.catalog_page("page=4&page_size=2").await?;
    assert_eq!((past_the_end.items.len(), past_the_end.total), (0, 5));
    Ok(())
}

#[tokio::test]
async fn filters_by_category_level_instructor_and_price() -> Result<()> {
    let app = TestApp::start().await?;
    let cases = [
        ("category=design", vec!["typography", "figma-basics"]),
        (
            "level=beginner",
            vec!["figma-basics", "python-data", "rust-ownership"],
        ),
        (
            "instructor=ada-lovelace",
            vec!["async-rust", "rust-ownership"],
        ),
        (
            "min_price=2000&max_price=3000",
            vec!["typography", "python-data"],
        ),
        ("max_price=0", vec!["figma-basics"]),
        (
            "category=programming&level=beginner&instructor=grace-hopper",
            vec!["python-data"],
        ),
        ("category=music", vec![]),
    ];
    for (query, expected) in cases {
        let page = app.catalog_page(query).await?;
        assert_eq!(slugs(&page.items), expected, "{query}");
        assert_eq!(page.total, i64::try_from(expected.len())?, "{query}");
    }
    Ok(())
}

#[tokio::test]
async fn search_ranks_title_matches_above_description_matches() -> Result<()> {
    let app = TestApp::start().await?;
    let page = app.catalog_page("q=rust").await?;
    let found = slugs(&page.items);
    assert_eq!(
        page.total, 3,
        "the unpublished draft is not found: {found:?}"
    );
    let mut title_matches = found[..2].to_vec();
    title_matches.sort();
    assert_eq!(title_matches, ["async-rust", "rust-ownership"]);
    assert_eq!(found[2], "python-data", "a description match ranks last");

    let by_price = app.catalog_page("q=rust&sort=price_desc").await?;
    assert_eq!(
        slugs(&by_price.items),
        ["async-rust", "python-data", "rust-ownership"]
    );
    let nothing = app.catalog_page("q=kubernetes").await?;
    assert_eq!(nothing.total, 0);
    Ok(())
}

#[tokio::test]
async fn sorts_by_price_and_title_with_the_id_as_tiebreak() -> Result<()> {
    let app = TestApp::start().await?;
    // python-data and typography both cost 2999: the smaller id comes first.
    let ascending = app.catalog_page("sort=price_asc").await?;
    assert_eq!(
        slugs(&ascending.items),
        [
            "figma-basics",
            "rust-ownership",
            "python-data",
            "typography",
            "async-rust"
        ]
    );
    let descending = app.catalog_page("sort=price_desc").await?;
    assert_eq!(
        slugs(&descending.items),
        [
            "async-rust",
            "python-data",
            "typography",
            "rust-ownership",
            "figma-basics"
        ]
    );
    let by_title = app.catalog_page("sort=title").await?;
    assert_eq!(
        slugs(&by_title.items),
        [
            "async-rust",
            "figma-basics",
            "python-data",
            "rust-ownership",
            "typography"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn course_detail_by_id_or_slug_and_drafts_hidden() -> Result<()> {
    let app = TestApp::start().await?;
    let course = fixtures::course("async-rust");
    let by_slug = app.course("async-rust").await?;
    let by_id = app.course(course.id).await?;
    assert_eq!(by_slug, by_id);
    assert_eq!(by_slug.summary.title, course.title);
    assert_eq!(by_slug.description, course.description);
    assert_eq!(by_slug.outline, ["Intro", "Practice"]);

    let draft = fixtures::course("secret-rust-draft");
    assert_problem(
        app.get("/api/courses/secret-rust-draft").await?,
        StatusCode::NOT_FOUND,
        "/problems/not-found",
    )
    .await?;
    assert_problem(
        app.get(&format!("/api/courses/{}", draft.id)).await?,
        StatusCode::NOT_FOUND,
        "/problems/not-found",
    )
    .await?;
    assert_problem(
        app.get("/api/courses/no-such-course").await?,
        StatusCode::NOT_FOUND,
        "/problems/not-found",
    )
    .await?;
    assert_problem(
        app.get("/api/courses/Not%20A%20Slug").await?,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;

    // A student's cookie changes nothing; an admin sees the draft, never cached publicly.
    let student = app.student().await?;
    let as_student = student.course("secret-rust-draft").send().await?;
    assert_eq!(as_student.status(), StatusCode::NOT_FOUND);
    let admin = app.admin().await?;
    let as_admin = admin.course("secret-rust-draft").send().await?;
    assert_eq!(header(&as_admin, "cache-control"), "private, no-store");
    let draft: CourseDetail = json_of(as_admin, StatusCode::OK).await?;
    assert!(!draft.summary.published);
    Ok(())
}

#[tokio::test]
async fn batch_lookup_keeps_the_asked_order_and_includes_drafts() -> Result<()> {
    let app = TestApp::start().await?;
    let draft = fixtures::course("secret-rust-draft");
    let figma = fixtures::course("figma-basics");
    let unknown = "01940000-0000-7000-8000-0000000000ff";
    let ids = [draft.id, unknown, figma.id];
    let batch = app.courses_by_id(&ids).await?;
    assert_eq!(slugs(&batch.items), ["secret-rust-draft", "figma-basics"]);
    assert!(!batch.items[0].published);
    // A batch is not a page: no `total`, which only the JSON itself shows.
    let raw: Value = json_of(app.courses_by_id(&ids).send().await?, StatusCode::OK).await?;
    assert!(raw.get("total").is_none());

    for query in [
        "",
        "?ids=",
        "?ids=not-a-uuid",
        &format!("?ids={},nope", figma.id),
    ] {
        let response = app.get(&format!("/api/courses/batch{query}")).await?;
        assert_problem(
            response,
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        )
        .await?;
    }
    let too_many: Vec<String> = (0..101)
        .map(|n| format!("01940000-0000-7000-8000-{n:012}"))
        .collect();
    let response = app
        .get(&format!("/api/courses/batch?ids={}", too_many.join(",")))
        .await?;
    assert_problem(
        response,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn categories_count_only_published_courses() -> Result<()> {
    let app = TestApp::start().await?;
    let categories = app.categories().await?;
    let category = |slug: &str, name: &str, course_count| CategorySummary {
        slug: slug.into(),
        name: name.into(),
        course_count,
    };
    assert_eq!(
        categories.items,
        [
            category("design", "Design", 2),
            category("music", "Music", 0),
            category("programming", "Programming", 3),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn malformed_queries_and_routes_are_problems() -> Result<()> {
    let app = TestApp::start().await?;
    let cases = [
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("page=0", "page"),
        ("page=two", "page"),
        ("level=expert", "level"),
        ("sort=cheapest", "sort"),
        ("category=Bad%20Slug", "category"),
        ("min_price=-5", "min_price"),
        ("min_price=500&max_price=100", "max_price"),
    ];
    for (query, field) in cases {
        let body = assert_problem(
            app.catalog_page(query).send().await?,
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        )
        .await?;
        assert_eq!(body.errors[0].field, field, "{query}: {body:?}");
    }
    assert_problem(
        app.get("/api/courses/rust-ownership/reviews").await?,
        StatusCode::NOT_FOUND,
        "/problems/not-found",
    )
    .await?;
    let response = app.request(Method::DELETE, "/api/courses").send().await?;
    assert_eq!(header(&response, "allow"), "GET, POST");
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "/problems/method-not-allowed",
    )
    .await?;
    Ok(())
}

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
    let TestApp {
        app: _app,
        redis: _redis,
        db,
        client: app,
    } = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "600"),
        ])
        .start()
        .await?;
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
    let TestApp {
        app: _app,
        redis: _redis,
        db,
        client: app,
    } = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "0"),
        ])
        .start()
        .await?;
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

#[tokio::test]
async fn what_a_request_survives_or_fails_on_is_logged_with_the_request_id_it_answered()
-> Result<()> {
    let log = GuestLog::new();
    // Freshness 0: every cached copy is immediately stale, so each read tries the database.
    let TestApp {
        app: _app,
        redis: _redis,
        db,
        client: app,
    } = TestApp::builder()
        .variables(&[
            ("catalog_fresh_seconds", "0"),
            ("catalog_max_stale_seconds", "600"),
        ])
        .stderr_to(log.path())
        .start()
        .await?;
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
