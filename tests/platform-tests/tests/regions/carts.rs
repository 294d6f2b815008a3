//! Carts live in their home region's key-value store.

use anyhow::{Context, Result, ensure};
use platform_tests::{fixtures, with_cookie};
use uuid::Uuid;

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
    let cart = regions
        .get_with(
            "eu-west",
            "/api/cart",
            NETHERLANDS,
            &format!("{session}; {home}"),
        )
        .await?;
    assert_eq!(served_by(&cart), "ap-south");
    let body: serde_json::Value = cart.json().await?;
    assert_eq!(body["count"], 1, "{body}");
    // Without the cookie, Europe serves an (empty) cart of its own.
    let fresh = regions
        .get_with("eu-west", "/api/cart", NETHERLANDS, &session)
        .await?;
    assert_eq!(served_by(&fresh), "eu-west");
    Ok(())
}

/// The cookies a browser holds after `response`: `jar`'s, replaced or added by its answer.
fn browser_cookies(jar: &str, response: &reqwest::Response) -> String {
    let mut cookies: Vec<String> = jar.split("; ").map(str::to_owned).collect();
    for pair in platform_tests::cookies_set(response) {
        let name = pair.split('=').next().unwrap_or_default().to_owned();
        cookies.retain(|cookie| !cookie.starts_with(&format!("{name}=")));
        cookies.push(pair);
    }
    cookies.join("; ")
}

#[tokio::test]
async fn a_cart_outlives_its_home_region() -> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let (user_id, session) = regions.user(accounts_core::Role::Student).await?;
    let first = fixtures::course("async-rust").id;
    let put = regions.add_to_cart("eu-west", first, &session).await?;
    assert_eq!(
        (put.status().as_u16(), served_by(&put)),
        (200, "ap-south".into())
    );
    let cookies = browser_cookies(&session, &put);
    assert!(cookies.contains("cp_cart_copy="), "{cookies}");

    regions.stop("ap-south").await;

    // The cart's home is gone: eu-west takes the cart over from the browser's copy.
    let read = regions
        .get_with("eu-west", "/api/cart", AUSTRALIA, &cookies)
        .await?;
    assert_eq!(served_by(&read), "eu-west");
    assert_eq!(
        set_cookie(&read, "cp_cart_region").as_deref(),
        Some("cp_cart_region=eu-west")
    );
    let cookies = browser_cookies(&cookies, &read);
    let cart: serde_json::Value = read.json().await?;
    assert_eq!(cart["items"][0]["course_id"], first.to_string(), "{cart}");

    let second = fixtures::course("typography").id;
    let add = regions.add_to_cart("eu-west", second, &cookies).await?;
    assert_eq!(
        (add.status().as_u16(), served_by(&add)),
        (200, "eu-west".into())
    );
    let cookies = browser_cookies(&cookies, &add);
    let cart: serde_json::Value = add.json().await?;
    assert_eq!(cart["count"], 2, "{cart}");

    // The same checkout twice (the first answer lost, say): one order, both courses.
    let key = Uuid::now_v7().to_string();
    let mut orders = Vec::new();
    for _ in 0..2 {
        let paid = with_cookie(
            regions.request(reqwest::Method::POST, "eu-west", "/api/checkout", AUSTRALIA),
            &cookies,
        )
        .header("idempotency-key", &key)
        .json(&serde_json::json!({ "card_number": SUCCESS_CARD }))
        .send()
        .await?;
        let status = paid.status();
        let body: serde_json::Value = paid.json().await?;
        ensure!(status == 201, "checkout: {status} {body}");
        orders.push(body["order"]["id"].clone());
    }
    assert_eq!(orders[0], orders[1], "the retry replays the same order");
    let (placed, lines) = regions.orders_of(user_id).await?;
    assert_eq!(
        (placed, lines),
        (1, 2),
        "exactly one order, with both courses"
    );
    Ok(())
}

#[tokio::test]
async fn a_cart_whose_home_is_down_and_left_no_copy_is_unavailable_not_empty() -> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let (_, session) = regions.user(accounts_core::Role::Student).await?;
    let course = fixtures::course("async-rust").id;
    let put = regions.add_to_cart("eu-west", course, &session).await?;
    assert_eq!(put.status(), 200);
    regions.stop("ap-south").await;
    // A browser that kept the cart's home but not its copy.
    let cookies = format!("{session}; cp_cart_region=ap-south");
    let read = regions
        .get_with("eu-west", "/api/cart", AUSTRALIA, &cookies)
        .await?;
    assert_eq!(read.status(), 503);
    assert!(read.headers().contains_key("retry-after"));
    let problem: serde_json::Value = read.json().await?;
    assert_eq!(problem["type"], "/problems/cart-unavailable", "{problem}");
    let checkout = with_cookie(
        regions.request(reqwest::Method::POST, "eu-west", "/api/checkout", AUSTRALIA),
        &cookies,
    )
    .header("idempotency-key", Uuid::now_v7().to_string())
    .json(&serde_json::json!({ "card_number": SUCCESS_CARD }))
    .send()
    .await?;
    assert_eq!(checkout.status(), 503);
    let problem: serde_json::Value = checkout.json().await?;
    assert_eq!(problem["type"], "/problems/cart-unavailable", "{problem}");
    let orders: i64 = regions
        .db
        .client
        .query_one("SELECT count(*) FROM orders", &[])
        .await?
        .get(0);
    assert_eq!(orders, 0, "nothing was half-written");
    Ok(())
}
