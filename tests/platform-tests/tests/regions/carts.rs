//! Carts live in their home region's key-value store: born beside the primary (us-east),
//! taken over by another region when their home does not answer.

use anyhow::{Context, Result};
use commerce_core::views::{CartView, CheckoutResponse};
use platform_tests::regions::*;
use platform_tests::{Problem, SUCCESS_CARD, cookies_set, fixtures, json_of, set_cookie};
use reqwest::StatusCode;
use uuid::Uuid;

#[tokio::test]
async fn cart_operations_follow_the_cart_home_cookie() -> Result<()> {
    let regions = Regions::start(&[]).await?;
    let user = regions.user(accounts_core::Role::Student).await?;
    let session = user.cookies();
    let australian = regions.entering("eu-west", AUSTRALIA).with_cookies(session);
    // Reading a cart that has none yet is answered nearby, and homes nothing.
    let empty = australian.cart().send().await?;
    assert_eq!(served_by(&empty), "ap-south");
    assert_eq!(set_cookie(&empty, "cp_cart_region"), None);

    // Its first change goes to the primary's region, which becomes its home: pricing and
    // checkout talk to the primary, so that is where the cart is served fastest from afar.
    let course = fixtures::course("typography").id;
    let put = australian.add_to_cart(course).send().await?;
    assert_eq!(served_by(&put), "us-east");
    let home = set_cookie(&put, "cp_cart_region").context("cart home cookie")?;
    assert_eq!(home, "cp_cart_region=us-east");

    // The same client, now travelling in Europe, still reaches its cart.
    let in_europe = regions.entering("eu-west", NETHERLANDS);
    let cart = in_europe
        .with_cookies(&format!("{session}; {home}"))
        .cart()
        .send()
        .await?;
    assert_eq!(served_by(&cart), "us-east");
    let body: CartView = json_of(cart, StatusCode::OK).await?;
    assert_eq!(body.count, 1, "{body:?}");
    // Without the cookie, Europe serves an (empty) cart of its own.
    let fresh = in_europe.with_cookies(session).cart().send().await?;
    assert_eq!(served_by(&fresh), "eu-west");
    Ok(())
}

/// The cookies a browser holds after `response`: `jar`'s, replaced or added by its answer.
fn browser_cookies(jar: &str, response: &reqwest::Response) -> String {
    let mut cookies: Vec<String> = jar.split("; ").map(str::to_owned).collect();
    for pair in cookies_set(response) {
        let name = pair.split('=').next().unwrap_or_default().to_owned();
        cookies.retain(|cookie| !cookie.starts_with(&format!("{name}=")));
        cookies.push(pair);
    }
    cookies.join("; ")
}

#[tokio::test]
async fn a_cart_outlives_its_home_region() -> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let user = regions.user(accounts_core::Role::Student).await?;
    let australian = regions
        .entering("eu-west", AUSTRALIA)
        .with_cookies(user.cookies());
    let first = fixtures::course("async-rust").id;
    let put = australian.add_to_cart(first).send().await?;
    assert_eq!(
        (put.status().as_u16(), served_by(&put)),
        (200, "us-east".into())
    );
    let cookies = browser_cookies(user.cookies(), &put);
    assert!(cookies.contains("cp_cart_copy="), "{cookies}");

    regions.stop("us-east").await;

    // The cart's home is gone: the client's nearest region takes the cart over from the
    // browser's copy (the PostgreSQL primary itself still answers).
    let read = australian.with_cookies(&cookies).cart().send().await?;
    assert_eq!(served_by(&read), "ap-south");
    assert_eq!(
        set_cookie(&read, "cp_cart_region").as_deref(),
        Some("cp_cart_region=ap-south")
    );
    let cookies = browser_cookies(&cookies, &read);
    let cart: CartView = json_of(read, StatusCode::OK).await?;
    assert_eq!(cart.items[0].course_id.to_string(), first, "{cart:?}");

    let second = fixtures::course("typography").id;
    let add = australian
        .with_cookies(&cookies)
        .add_to_cart(second)
        .send()
        .await?;
    assert_eq!(
        (add.status().as_u16(), served_by(&add)),
        (200, "ap-south".into())
    );
    let cookies = browser_cookies(&cookies, &add);
    let cart: CartView = json_of(add, StatusCode::OK).await?;
    assert_eq!(cart.count, 2, "{cart:?}");

    // The same checkout twice (the first answer lost, say): one order, both courses.
    let key = Uuid::now_v7().to_string();
    let mut orders = Vec::new();
    for _ in 0..2 {
        let paid: CheckoutResponse = australian
            .with_cookies(&cookies)
            .checkout(&key, SUCCESS_CARD)
            .await
            .context("checkout")?;
        orders.push(paid.order.id);
    }
    assert_eq!(orders[0], orders[1], "the retry replays the same order");
    let (placed, lines) = regions.orders_of(user.id).await?;
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
    let user = regions.user(accounts_core::Role::Student).await?;
    let australian = regions
        .entering("eu-west", AUSTRALIA)
        .with_cookies(user.cookies());
    let course = fixtures::course("async-rust").id;
    australian.add_to_cart(course).await?;
    regions.stop("us-east").await;
    // A browser that kept the cart's home but not its copy.
    let australian =
        australian.with_cookies(&format!("{}; cp_cart_region=us-east", user.cookies()));
    let read = australian.cart().send().await?;
    assert!(read.headers().contains_key("retry-after"));
    let problem: Problem = json_of(read, StatusCode::SERVICE_UNAVAILABLE).await?;
    assert_eq!(problem.kind, "/problems/cart-unavailable", "{problem:?}");
    let problem = australian
        .checkout(&Uuid::now_v7().to_string(), SUCCESS_CARD)
        .problem(StatusCode::SERVICE_UNAVAILABLE)
        .await?;
    assert_eq!(problem.kind, "/problems/cart-unavailable", "{problem:?}");
    let orders: i64 = regions
        .db
        .client
        .query_one("SELECT count(*) FROM orders", &[])
        .await?
        .get(0);
    assert_eq!(orders, 0, "nothing was half-written");
    Ok(())
}
