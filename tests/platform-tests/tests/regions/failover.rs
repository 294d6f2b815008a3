//! A region that stops answering: its traffic moves, nothing is lost or repeated.

use anyhow::Result;
use commerce_core::views::CheckoutResponse;
use platform_tests::regions::*;
use platform_tests::{SUCCESS_CARD, fixtures, json_of, set_cookie};
use reqwest::StatusCode;
use uuid::Uuid;

#[tokio::test]
async fn a_stopped_region_loses_its_traffic_to_the_next_nearest_without_losing_or_repeating_orders()
-> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let user = regions.user(accounts_core::Role::Student).await?;
    // An Australian client's cart lives in ap-south.
    let australian = regions
        .entering("us-east", AUSTRALIA)
        .with_cookies(user.cookies());
    let course = fixtures::course("async-rust").id;
    australian.add_to_cart(course).await?;
    let key = Uuid::now_v7().to_string();
    let australian =
        australian.with_cookies(&format!("{}; cp_cart_region=ap-south", user.cookies()));
    let first = australian.checkout(&key, SUCCESS_CARD).send().await?;
    assert_eq!(served_by(&first), "ap-south");
    let order: CheckoutResponse = json_of(first, StatusCode::CREATED).await?;

    regions.stop("ap-south").await;

    // The client retries the same checkout (say it never saw the answer): the router tries
    // ap-south, fails, and, the request being idempotent, retries on the next-nearest.
    let retried = australian.checkout(&key, SUCCESS_CARD).send().await?;
    let status = retried.status();
    assert_eq!(served_by(&retried), "eu-west");
    let again: CheckoutResponse = json_of(retried, status).await?;
    assert!(status.is_success(), "{status}: {again:?}");
    assert_eq!(again.order.id, order.order.id, "same order, not a new one");
    let (orders, _) = regions.orders_of(user.id).await?;
    assert_eq!(orders, 1, "exactly one order");

    // Reads move too, within two requests, and stay moved (ap-south is marked down).
    let mut served = Vec::new();
    for _ in 0..2 {
        served.push(served_by(&australian.get("/api/courses").await?));
    }
    assert!(served.contains(&"eu-west".to_owned()), "{served:?}");
    let later = australian.get("/api/courses").await?;
    assert_eq!(later.status(), 200);
    assert_eq!(served_by(&later), "eu-west");
    Ok(())
}

#[tokio::test]
async fn a_write_meeting_a_refused_connection_goes_to_the_next_region_at_once() -> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let user = regions.user(accounts_core::Role::Student).await?;
    regions.stop("ap-south").await;
    // An Australian's first cart write: nearest is ap-south, which refuses the connection.
    // The request never reached it, so it may go on to eu-west though PUT has no key.
    let course = fixtures::course("async-rust").id;
    let put = regions
        .entering("eu-west", AUSTRALIA)
        .with_cookies(user.cookies())
        .add_to_cart(course)
        .send()
        .await?;
    let status = put.status();
    let home = set_cookie(&put, "cp_cart_region");
    assert_eq!(served_by(&put), "eu-west");
    assert_eq!(status, 200, "{}", put.text().await?);
    assert_eq!(home.as_deref(), Some("cp_cart_region=eu-west"));
    Ok(())
}
