//! Browsing the public catalog: pages, filters, search, sorting, detail, batch, categories
//! and every malformed query.

use anyhow::Result;
use catalog_core::course::{CategorySummary, CourseDetail, Level, Money, NamedRef};
use platform_tests::fixtures::{self, NEWEST_FIRST};
use platform_tests::{TestApp, assert_problem, header, json_of};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::slugs;

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
