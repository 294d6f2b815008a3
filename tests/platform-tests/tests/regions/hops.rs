//! Requests forwarded between regions ("hops"), and clients trying to pose as a region.

use anyhow::{Result, ensure};
use platform_tests::header;
use serde_json::json;
use uuid::Uuid;

use crate::harness::*;

#[tokio::test]
async fn forwarded_requests_are_not_forwarded_again() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    // A request claiming to have come from this very region is a loop.
    let looped = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "eu-west")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(looped.status(), 508, "Loop Detected");
    let problem: serde_json::Value = looped.json().await?;
    assert_eq!(problem["type"], "/problems/routing-loop");
    // More than one hop is refused too.
    let two_hops = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east, ap-south")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(two_hops.status(), 508);
    // A genuine hop is served where it lands, even if another region is nearer the client.
    let hop = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(hop.status(), 200);
    assert_eq!(served_by(&hop), "eu-west");
    // Clients cannot forge a hop to skip routing.
    let forged = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east")
        .send()
        .await?;
    assert_eq!(forged.status(), 403);
    Ok(())
}

#[tokio::test]
async fn a_wrong_hop_secret_is_refused() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let wrong = regions
        .request(reqwest::Method::GET, "eu-west", "/api/courses", AUSTRALIA)
        .header("x-cp-hop", "us-east")
        .header("x-cp-hop-secret", "test-hop-secreT")
        .send()
        .await?;
    assert_eq!(wrong.status(), 403);
    let problem: serde_json::Value = wrong.json().await?;
    assert_eq!(problem["type"], "/problems/forbidden");
    Ok(())
}

#[tokio::test]
async fn several_regions_without_a_hop_secret_refuse_to_route_and_name_the_variable() -> Result<()>
{
    let regions = Regions::start(&[("hop_secret", "")]).await?;
    for path in ["/api/courses", "/alive"] {
        let response = regions.get("eu-west", path, NETHERLANDS).await?;
        assert_eq!(response.status(), 503, "{path}");
        let problem: serde_json::Value = response.json().await?;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("hop_secret"), "{path}: {problem}");
    }
    Ok(())
}

/// Signs in at `region` as a client at `client_ip`; returns the status.
async fn sign_in_status(
    regions: &Regions,
    region: &str,
    client_ip: &str,
    email: &str,
    password: &str,
) -> Result<u16> {
    let response = regions
        .request(reqwest::Method::POST, region, "/api/session", client_ip)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?;
    ensure!(
        served_by(&response) == "us-east",
        "sign-ins are writes, served next to the primary"
    );
    Ok(response.status().as_u16())
}

#[tokio::test]
async fn sign_in_failures_forwarded_from_another_region_count_against_the_original_client()
-> Result<()> {
    let regions = Regions::start(&[
        ("login_max_failures_per_client", "3"),
        ("login_max_failures_per_email", "100"),
    ])
    .await?;
    let email = format!("{}@example.com", Uuid::now_v7().simple());
    let password = "correct horse battery staple";
    platform_tests::create_user(
        &regions.db.client,
        &email,
        password,
        accounts_core::Role::Student,
    )
    .await?;
    // An attacker in the Netherlands guesses through eu-west, which forwards to us-east.
    for _ in 0..3 {
        let status = sign_in_status(&regions, "eu-west", NETHERLANDS, &email, "guess").await?;
        assert_eq!(status, 401);
    }
    let blocked = sign_in_status(&regions, "eu-west", NETHERLANDS, &email, password).await?;
    assert_eq!(blocked, 429, "the attacker's own address is throttled");
    // Another client entering the same region is not locked out with the attacker.
    let other = sign_in_status(&regions, "eu-west", AUSTRALIA, &email, password).await?;
    assert_eq!(
        other, 200,
        "throttled as the forwarding router, not as the client"
    );
    Ok(())
}

#[tokio::test]
async fn with_no_hop_secret_a_client_posing_as_a_region_is_rate_limited_like_any_client()
-> Result<()> {
    // The quick start: one region, hop_secret left empty.
    let app = platform_tests::TestApp::start(&[("rate_limit_requests", "3")]).await?;
    for _ in 0..3 {
        assert_eq!(app.get("/api/categories").await?.status(), 200);
    }
    for _ in 0..2 {
        let forged = app
            .http
            .get(app.url("/api/categories"))
            .header("x-cp-hop", "elsewhere")
            .header("x-cp-hop-client", "192.0.2.77")
            .send()
            .await?;
        assert_eq!(forged.status(), 429, "a hop header buys nothing");
        assert_eq!(header(&forged, "x-served-by"), "local");
    }
    Ok(())
}
