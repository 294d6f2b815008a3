//! Per-client rate limits, counted by the entry region's router in the region's own Redis
//! (`regional_redis_url`), and the catalog's refill leases, kept there too.

use anyhow::Result;
use geo_router_core::rate_limit::{Check, GCRA_SCRIPT, Limit, Verdict, verdict};
use platform_tests::regions::*;
use platform_tests::spin_test_host::TestRedis;
use platform_tests::{Problem, TestApp, header, json_of};
use reqwest::StatusCode;

/// Three regions, each with its own Redis beside the shared one, returned in the order of
/// `REGION_NAMES`.
async fn regions_with_their_own_redis(
    variables: &[(&str, &str)],
) -> Result<(Regions, Vec<TestRedis>)> {
    let mut own_redis = Vec::new();
    for _ in REGION_NAMES {
        own_redis.push(TestRedis::spawn().await?);
    }
    let urls: Vec<String> = own_redis.iter().map(TestRedis::url).collect();
    let own = |region: &str| {
        let index = REGION_NAMES
            .iter()
            .position(|name| *name == region)
            .unwrap_or_else(|| panic!("no region {region}"));
        vec![("regional_redis_url", urls[index].clone())]
    };
    let regions = Regions::start_each(variables, &own).await?;
    Ok((regions, own_redis))
}

/// `GET /api/categories` `times` times from `client`, entering at `region`; the statuses.
async fn statuses(regions: &Regions, region: &str, client: &str, times: usize) -> Result<Vec<u16>> {
    let entering = regions.entering(region, client);
    let mut statuses = Vec::new();
    for _ in 0..times {
        statuses.push(entering.categories().send().await?.status().as_u16());
    }
    Ok(statuses)
}

#[tokio::test]
async fn clients_over_their_limit_get_429_with_retry_after() -> Result<()> {
    let regions = Regions::start(&[
        ("rate_limit_requests", "3"),
        ("rate_limit_window_secs", "3600"),
    ])
    .await?;
    let brazilian = regions.entering("us-east", BRAZIL);
    for _ in 0..3 {
        brazilian.categories().await?;
    }
    let limited = brazilian.categories().send().await?;
    assert_eq!(limited.status(), 429);
    // Three an hour: the next one is earned 20 minutes after the first.
    let retry_after: u64 = header(&limited, "retry-after").parse()?;
    assert!((1140..=1200).contains(&retry_after), "{retry_after}");
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

/// The router's verdict on a request from `client` at `now_ms`, by its script on `redis`.
async fn ask(
    redis: &mut redis::aio::MultiplexedConnection,
    client: &str,
    limit: Limit,
    now_ms: u64,
) -> Result<Verdict> {
    let check = Check::at(client.parse().ok(), limit, now_ms);
    let reply: i64 = redis::cmd("EVAL")
        .arg(GCRA_SCRIPT)
        .arg(1)
        .arg(&check.key)
        .arg(&check.arguments[..])
        .query_async(redis)
        .await?;
    Ok(verdict(reply))
}

/// The limiter's script on a real Redis, with the clock in the test's hands: a client may
/// spend its whole allowance at once and then earns one request per `window / requests`,
/// wherever the burst falls on the clock. (Counting per minute on the wall clock would let
/// a second burst through just past the minute.)
#[tokio::test]
async fn a_limited_client_earns_one_request_per_interval_wherever_the_clock_is() -> Result<()> {
    let server = TestRedis::spawn().await?;
    let redis = &mut redis::Client::open(server.url())?
        .get_multiplexed_async_connection()
        .await?;
    let limit = Limit {
        requests: 3,
        window_ms: 60_000,
    };
    let client = "192.0.2.7";
    for _ in 0..3 {
        assert_eq!(ask(redis, client, limit, 59_900).await?, Verdict::Allowed);
    }
    let twenty_seconds = Verdict::Limited {
        retry_after_secs: 20,
    };
    assert_eq!(ask(redis, client, limit, 59_900).await?, twenty_seconds);
    assert_eq!(
        ask(redis, client, limit, 60_100).await?,
        twenty_seconds,
        "a new minute is no new allowance"
    );
    assert_eq!(
        ask(redis, "192.0.2.8", limit, 60_100).await?,
        Verdict::Allowed,
        "another client has its own"
    );
    assert_eq!(
        ask(redis, client, limit, 79_900).await?,
        Verdict::Allowed,
        "one earned after one interval"
    );
    assert!(matches!(
        ask(redis, client, limit, 79_900).await?,
        Verdict::Limited { .. }
    ));
    // Idle for a window: the whole allowance again, and the key lives no longer than that.
    for _ in 0..3 {
        assert_eq!(ask(redis, client, limit, 139_900).await?, Verdict::Allowed);
    }
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(Check::at(client.parse().ok(), limit, 0).key)
        .query_async(redis)
        .await?;
    assert!((1..=60_000).contains(&ttl_ms), "{ttl_ms}");
    Ok(())
}

#[tokio::test]
async fn with_redis_down_the_limiter_lets_requests_through() -> Result<()> {
    let app = TestApp::builder()
        .variable("rate_limit_requests", "2")
        .variable("rate_limit_window_secs", "3600")
        .start()
        .await?;
    // Counted: the router's instance keeps this connection to Redis for its later requests.
    assert_eq!(app.get("/api/categories").await?.status(), 200);
    app.redis.stop().await?;
    for _ in 0..4 {
        let response = app.get("/api/categories").await?;
        assert_eq!(
            response.status(),
            200,
            "the shop stays open without its limiter"
        );
    }
    // A Redis that keeps nothing: counting starts again, on a new connection, since the
    // one the instance kept died with the old server.
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

#[tokio::test]
async fn each_region_counts_its_entering_clients_in_its_own_redis() -> Result<()> {
    let limit = [
        ("rate_limit_requests", "3"),
        ("rate_limit_window_secs", "3600"),
    ];
    let (regions, _redis) = regions_with_their_own_redis(&limit).await?;
    assert_eq!(
        statuses(&regions, "us-east", BRAZIL, 4).await?,
        [200, 200, 200, 429]
    );
    // The same client entering another region starts from zero there (and is served by
    // us-east, its nearest: the entry region counts, the serving one does not count hops).
    let elsewhere = regions
        .entering("eu-west", BRAZIL)
        .categories()
        .send()
        .await?;
    assert_eq!(elsewhere.status(), 200, "eu-west keeps its own count");
    assert_eq!(served_by(&elsewhere), "us-east");
    assert_eq!(
        statuses(&regions, "eu-west", BRAZIL, 3).await?,
        [200, 200, 429]
    );
    Ok(())
}

#[tokio::test]
async fn regions_without_their_own_redis_count_together_in_the_shared_one() -> Result<()> {
    let regions = Regions::start(&[
        ("rate_limit_requests", "3"),
        ("rate_limit_window_secs", "3600"),
    ])
    .await?;
    assert_eq!(
        statuses(&regions, "us-east", BRAZIL, 3).await?,
        [200, 200, 200]
    );
    let limited = regions
        .entering("eu-west", BRAZIL)
        .categories()
        .send()
        .await?;
    assert_eq!(limited.status(), 429, "one count for every region");
    assert_eq!(served_by(&limited), "eu-west");
    Ok(())
}

#[tokio::test]
async fn a_region_whose_own_redis_is_down_lets_requests_through_and_others_still_count()
-> Result<()> {
    let limit = [
        ("rate_limit_requests", "2"),
        ("rate_limit_window_secs", "3600"),
    ];
    let (regions, own_redis) = regions_with_their_own_redis(&limit).await?;
    let eu_west = &own_redis[1];
    eu_west.stop().await?;
    assert_eq!(
        statuses(&regions, "eu-west", NETHERLANDS, 4).await?,
        [200; 4],
        "the shop stays open without its limiter"
    );
    // ...and its /health says what is missing.
    let health = regions.entering("eu-west", BRAZIL).get("/health").await?;
    let body: serde_json::Value = json_of(health, StatusCode::SERVICE_UNAVAILABLE).await?;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["regional_redis"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["redis"]["ok"], true, "{body}");
    assert_eq!(
        statuses(&regions, "us-east", BRAZIL, 3).await?,
        [200, 200, 429]
    );
    eu_west.start().await?;
    assert_eq!(
        statuses(&regions, "eu-west", NETHERLANDS, 3).await?,
        [200, 200, 429],
        "counting again"
    );
    Ok(())
}

#[tokio::test]
async fn a_catalog_refill_lease_holds_only_its_own_region() -> Result<()> {
    // Nothing is ever fresh: every read past the first refills, unless another holds the lease.
    let (regions, own_redis) =
        regions_with_their_own_redis(&[("catalog_fresh_seconds", "0")]).await?;
    let path = "/api/courses/rust-ownership";
    for (region, client) in [("eu-west", NETHERLANDS), ("ap-south", AUSTRALIA)] {
        let first = regions.entering(region, client).get(path).await?;
        assert_eq!(
            (served_by(&first).as_str(), first.status().as_u16()),
            (region, 200)
        );
    }
    // A refill of that page under way in eu-west: its lease, in eu-west's Redis.
    let lease = catalog_core::cache::lease_key(&catalog_core::cache::detail_key(
        &catalog_core::query::CourseRef::Slug("rust-ownership".into()),
    ));
    let mut eu_west = redis::Client::open(own_redis[1].url())?
        .get_multiplexed_async_connection()
        .await?;
    redis::cmd("SET")
        .arg(&lease)
        .arg("1")
        .arg("PX")
        .arg(60_000)
        .query_async::<()>(&mut eu_west)
        .await?;
    let waiting = regions.entering("eu-west", NETHERLANDS).get(path).await?;
    assert_eq!(
        header(&waiting, "x-cache"),
        "stale",
        "eu-west leaves the refill to the leaseholder"
    );
    let refilled = regions.entering("ap-south", AUSTRALIA).get(path).await?;
    assert_eq!(
        header(&refilled, "x-cache"),
        "miss",
        "ap-south refills its own copy"
    );
    Ok(())
}
