//! Per-client rate limits, counted in Redis by the entry region's router.

use anyhow::Result;
use platform_tests::regions::*;
use platform_tests::{Problem, TestApp, header, json_of};
use reqwest::StatusCode;

#[tokio::test]
async fn clients_over_their_limit_get_429_with_retry_after() -> Result<()> {
    let regions = Regions::start(&[
        ("rate_limit_requests", "3"),
        ("rate_limit_window_secs", "60"),
    ])
    .await?;
    let brazilian = regions.entering("us-east", BRAZIL);
    for _ in 0..3 {
        brazilian.categories().await?;
    }
    let limited = brazilian.categories().send().await?;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = header(&limited, "retry-after").parse()?;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&limited, "x-served-by"), "us-east");
    let problem: Problem = json_of(limited, StatusCode::TOO_MANY_REQUESTS).await?;
    assert_eq!(problem.kind, "/problems/rate-limited");
    // Another client is not affected.
    regions
        .entering("us-east", NETHERLANDS)
        .categories()
        .await?;
    Ok(())
}

#[tokio::test]
async fn with_redis_down_the_limiter_lets_requests_through() -> Result<()> {
    let app = TestApp::builder()
        .variable("rate_limit_requests", "2")
        .start()
        .await?;
    app.redis.stop().await?;
    for _ in 0..4 {
        let response = app.get("/api/categories").await?;
        assert_eq!(
            response.status(),
            200,
            "the shop stays open without its limiter"
        );
    }
    app.redis.start().await?;
    for _ in 0..2 {
        assert_eq!(app.get("/api/categories").await?.status(), 200);
    }
    assert_eq!(
        app.get("/api/categories").await?.status(),
        429,
        "counting again"
    );
    Ok(())
}
