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
    // An Australian client's cart is born beside the primary, in us-east, and checked out
    // there.
    let australian = regions
        .entering("eu-west", AUSTRALIA)
        .with_cookies(user.cookies());
    let course = fixtures::course("async-rust").id;
    australian.add_to_cart(course).await?;
    let key = Uuid::now_v7().to_string();
    let australian =
        australian.with_cookies(&format!("{}; cp_cart_region=us-east", user.cookies()));
    let first = australian.checkout(&key, SUCCESS_CARD).send().await?;
    assert_eq!(served_by(&first), "us-east");
    let order: CheckoutResponse = json_of(first, StatusCode::CREATED).await?;

    regions.stop("us-east").await;

    // The client retries the same checkout (say it never saw the answer): the router tries
    // us-east, fails, and, the request being idempotent, retries on the client's nearest.
    let retried = australian.checkout(&key, SUCCESS_CARD).send().await?;
    let status = retried.status();
    assert_eq!(served_by(&retried), "ap-south");
    let again: CheckoutResponse = json_of(retried, status).await?;
    assert!(status.is_success(), "{status}: {again:?}");
    assert_eq!(again.order.id, order.order.id, "same order, not a new one");
    let (orders, _) = regions.orders_of(user.id).await?;
    assert_eq!(orders, 1, "exactly one order");

    // Reads move too, within two requests, and stay moved (us-east is marked down): a
    // Brazilian's nearest is us-east, the next eu-west.
    let brazilian = regions.entering("eu-west", BRAZIL);
    let mut served = Vec::new();
    for _ in 0..2 {
        served.push(served_by(&brazilian.get("/api/courses").await?));
    }
    assert!(served.contains(&"eu-west".to_owned()), "{served:?}");
    let later = brazilian.get("/api/courses").await?;
    assert_eq!(later.status(), 200);
    assert_eq!(served_by(&later), "eu-west");
    Ok(())
}

#[tokio::test]
async fn a_write_meeting_a_refused_connection_goes_to_the_next_region_at_once() -> Result<()> {
    let mut regions = Regions::start(&[]).await?;
    let user = regions.user(accounts_core::Role::Student).await?;
    regions.stop("us-east").await;
    // An Australian's first cart write goes to the primary's region, us-east, which refuses
    // the connection. The request never reached it, so it may go on to the client's nearest
    // though PUT has no key.
    let course = fixtures::course("async-rust").id;
    let put = regions
        .entering("eu-west", AUSTRALIA)
        .with_cookies(user.cookies())
        .add_to_cart(course)
        .send()
        .await?;
    let status = put.status();
    let home = set_cookie(&put, "cp_cart_region");
    assert_eq!(served_by(&put), "ap-south");
    assert_eq!(status, 200, "{}", put.text().await?);
    assert_eq!(home.as_deref(), Some("cp_cart_region=ap-south"));
    Ok(())
}
