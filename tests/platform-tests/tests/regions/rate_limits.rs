//! Per-client rate limits, counted in Redis by the entry region's router.

use anyhow::Result;
use platform_tests::header;

use crate::harness::*;

#[tokio::test]
async fn clients_over_their_limit_get_429_with_retry_after() -> Result<()> {
    let regions = Regions::start(&[
        ("rate_limit_requests", "3"),
        ("rate_limit_window_secs", "60"),
    ])
    .await?;
    for _ in 0..3 {
        let response = regions.get("us-east", "/api/categories", BRAZIL).await?;
        assert_eq!(response.status(), 200);
    }
    let limited = regions.get("us-east", "/api/categories", BRAZIL).await?;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = header(&limited, "retry-after").parse()?;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&limited, "x-served-by"), "us-east");
    let problem: serde_json::Value = limited.json().await?;
    assert_eq!(problem["type"], "/problems/rate-limited");
    // Another client is not affected.
    let other = regions
        .get("us-east", "/api/categories", NETHERLANDS)
        .await?;
    assert_eq!(other.status(), 200);
    Ok(())
}

#[tokio::test]
async fn with_redis_down_the_limiter_lets_requests_through() -> Result<()> {
    let app = platform_tests::TestApp::start(&[("rate_limit_requests", "2")]).await?;
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
