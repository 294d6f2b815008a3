//! Carts live in their home region's key-value store.

use anyhow::{Context, Result};
use platform_tests::{fixtures, with_cookie};

use crate::harness::*;

#[tokio::test]
async fn cart_operations_follow_the_cart_home_cookie() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let (_, session) = regions.user(accounts_core::Role::Student).await?;
    let course = fixtures::course("typography").id;
    let put = regions.add_to_cart("eu-west", course, &session).await?;
    assert_eq!(served_by(&put), "ap-south");
    let home = set_cookie(&put, "cp_cart_region").context("cart home cookie")?;
    assert_eq!(home, "cp_cart_region=ap-south");

    // The same client, now travelling in Europe, still reaches its cart.
    let cart = with_cookie(
        regions.request(reqwest::Method::GET, "eu-west", "/api/cart", NETHERLANDS),
        &format!("{session}; {home}"),
    )
    .send()
    .await?;
    assert_eq!(served_by(&cart), "ap-south");
    let body: serde_json::Value = cart.json().await?;
    assert_eq!(body["count"], 1, "{body}");
    // Without the cookie, Europe serves an (empty) cart of its own.
    let fresh = with_cookie(
        regions.request(reqwest::Method::GET, "eu-west", "/api/cart", NETHERLANDS),
        &session,
    )
    .send()
    .await?;
    assert_eq!(served_by(&fresh), "eu-west");
    Ok(())
}
