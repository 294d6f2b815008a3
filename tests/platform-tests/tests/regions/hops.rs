//! Requests forwarded between regions ("hops"), and clients trying to pose as a region.

use anyhow::{Result, ensure};
use platform_tests::regions::*;
use platform_tests::{Client, Problem, TestApp, header, json_of};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn forwarded_requests_are_not_forwarded_again() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let australian = regions.entering("eu-west", AUSTRALIA);
    // A request claiming to have come from this very region is a loop.
    let looped = australian
        .request(Method::GET, "/api/courses")
        .header("x-cp-hop", "eu-west")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    let problem: Problem = json_of(looped, StatusCode::LOOP_DETECTED).await?;
    assert_eq!(problem.kind, "/problems/routing-loop");
    // More than one hop is refused too.
    let two_hops = australian
        .request(Method::GET, "/api/courses")
        .header("x-cp-hop", "us-east, ap-south")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(two_hops.status(), 508);
    // A genuine hop is served where it lands, even if another region is nearer the client.
    let hop = australian
        .request(Method::GET, "/api/courses")
        .header("x-cp-hop", "us-east")
        .header("x-cp-hop-secret", "test-hop-secret")
        .send()
        .await?;
    assert_eq!(hop.status(), 200);
    assert_eq!(served_by(&hop), "eu-west");
    // Clients cannot forge a hop to skip routing.
    let forged = australian
        .request(Method::GET, "/api/courses")
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
        .entering("eu-west", AUSTRALIA)
        .request(Method::GET, "/api/courses")
        .header("x-cp-hop", "us-east")
        .header("x-cp-hop-secret", "test-hop-secreT")
        .send()
        .await?;
    let problem: Problem = json_of(wrong, StatusCode::FORBIDDEN).await?;
    assert_eq!(problem.kind, "/problems/forbidden");
    Ok(())
}

#[tokio::test]
async fn several_regions_without_a_hop_secret_refuse_to_route_and_name_the_variable() -> Result<()>
{
    let regions = Regions::start(&[("hop_secret", "")]).await?;
    for path in ["/api/courses", "/alive"] {
        let response = regions.entering("eu-west", NETHERLANDS).get(path).await?;
        let problem: Problem = json_of(response, StatusCode::SERVICE_UNAVAILABLE).await?;
        let detail = problem.detail.as_deref().unwrap_or_default();
        assert!(detail.contains("hop_secret"), "{path}: {problem:?}");
    }
    Ok(())
}

/// Signs in through `client`; returns the status.
async fn sign_in_status(client: &Client, email: &str, password: &str) -> Result<u16> {
    let response = client.sign_in(email, password).send().await?;
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
    let email = regions
        .db
        .create_user(accounts_core::Role::Student)
        .await?
        .email;
    let password = platform_tests::PASSWORD;
    // An attacker in the Netherlands guesses through eu-west, which forwards to us-east.
    let attacker = regions.entering("eu-west", NETHERLANDS);
    for _ in 0..3 {
        let status = sign_in_status(&attacker, &email, "guess").await?;
        assert_eq!(status, 401);
    }
    let blocked = sign_in_status(&attacker, &email, password).await?;
    assert_eq!(blocked, 429, "the attacker's own address is throttled");
    // Another client entering the same region is not locked out with the attacker.
    let other = sign_in_status(&regions.entering("eu-west", AUSTRALIA), &email, password).await?;
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
    let app = TestApp::builder()
        .variable("rate_limit_requests", "3")
        .variable("rate_limit_window_secs", "3600")
        .start()
        .await?;
    for _ in 0..3 {
        app.categories().await?;
    }
    for _ in 0..2 {
        let forged = app
            .request(Method::GET, "/api/categories")
            .header("x-cp-hop", "elsewhere")
            .header("x-cp-hop-client", "192.0.2.77")
            .send()
            .await?;
        assert_eq!(forged.status(), 429, "a hop header buys nothing");
        assert_eq!(header(&forged, "x-served-by"), "local");
    }
    Ok(())
}
