//! Which region serves a client, and what every response says about it.

use anyhow::Result;
use platform_tests::regions::*;
use platform_tests::{header, json_of};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

#[tokio::test]
async fn clients_land_in_their_nearest_region_whichever_region_they_enter() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    for entry in REGION_NAMES {
        for (client, expected) in [
            (AUSTRALIA, "ap-south"),
            (NETHERLANDS, "eu-west"),
            (BRAZIL, "us-east"),
        ] {
            let response = regions.entering(entry, client).get("/api/courses").await?;
            assert_eq!(response.status(), 200, "{entry} {client}");
            assert_eq!(
                served_by(&response),
                expected,
                "entered at {entry} from {client}"
            );
            assert!(header(&response, "server-timing").contains("router;dur="));
            // A forwarded answer passed two routers: still one header of each.
            for name in ["server-timing", "vary"] {
                let lines = response.headers().get_all(name).iter().count();
                assert_eq!(lines, 1, "{name} from {entry} for {client}");
            }
        }
    }
    // Unknown locations (private addresses) are served where they enter.
    let response = regions
        .entering("eu-west", "10.0.0.7")
        .get("/api/courses")
        .await?;
    assert_eq!(served_by(&response), "eu-west");
    Ok(())
}

#[tokio::test]
async fn request_ids_are_kept_or_generated_and_survive_a_hop() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let kept = regions
        .entering("us-east", AUSTRALIA)
        .request(Method::GET, "/api/courses")
        .header("x-request-id", "trace-42")
        .send()
        .await?;
    assert_eq!(served_by(&kept), "ap-south");
    assert_eq!(header(&kept, "x-request-id"), "trace-42");
    let generated = regions
        .entering("us-east", BRAZIL)
        .get("/api/courses")
        .await?;
    let id = Uuid::parse_str(&header(&generated, "x-request-id"))?;
    assert_eq!(id.get_version_num(), 7);
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(generated.headers().contains_key(name), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn health_and_alive_report_this_region() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let alive = regions.entering("ap-south", BRAZIL).get("/alive").await?;
    assert_eq!(alive.status(), 200);
    assert_eq!(served_by(&alive), "ap-south");
    let health = regions.entering("eu-west", BRAZIL).get("/health").await?;
    let body: Value = json_of(health, StatusCode::OK).await?;
    assert_eq!(body["region"], "eu-west");
    // These regions share one Redis: no separate regional one to check.
    assert!(body["checks"]["regional_redis"].is_null(), "{body}");
    for check in ["postgres", "replica", "redis", "key_value"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
        assert!(body["checks"][check]["latency_ms"].is_number(), "{check}");
    }
    let replica = &body["checks"]["replica"];
    assert!(replica["lag_bytes"].is_number(), "{body}");
    if replica["lag_bytes"] == 0 {
        assert_eq!(replica["lag_seconds"], 0.0, "caught up is no lag: {body}");
    }
    Ok(())
}
