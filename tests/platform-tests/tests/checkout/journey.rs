//! The checkout a student makes: the whole journey, replayed and conflicting keys, twenty
//! concurrent duplicates, a declined card and a retryable provider error.

use anyhow::Result;
use commerce_core::views::{CheckoutResponse, RelayReport};
use commerce_core::{Money, OrderStatus};
use platform_tests::fixtures::course_id;
use platform_tests::{DECLINED_CARD, PROVIDER_ERROR_CARD, Problem, SUCCESS_CARD, TestApp, json_of};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::{ENROLLMENTS_OF_ORDER, PAYMENTS_OF_ORDER, no_op};

#[tokio::test]
async fn register_fill_the_cart_check_out_and_get_enrolled() -> Result<()> {
    let shop = TestApp::start().await?;
    let user = shop.register_and_sign_in().await?;

    user.add_to_cart(course_id("rust-ownership")).await?;
    let cart = user.add_to_cart(course_id("async-rust")).await?;
    assert_eq!(cart.count, 2);
    assert_eq!(cart.total, Money::new(1999 + 4999, "USD"));

    let key = Uuid::now_v7().to_string();
    let answer = user.checkout(&key, SUCCESS_CARD).await?;
    let order_id = answer.order.id;
    assert_eq!(answer.poll, format!("/api/orders/{order_id}"));
    assert_eq!(answer.order.status, OrderStatus::Paid);
    assert_eq!(answer.order.total.amount_cents, 1999 + 4999);

    let order = user.wait_until_enrolled(order_id, no_op).await?;
    assert_eq!(order.items.len(), 2);
    let enrollments = user.enrollments().await?;
    let mut slugs: Vec<&str> = enrollments
        .items
        .iter()
        .map(|item| item.slug.as_str())
        .collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["async-rust", "rust-ownership"]);
    assert_eq!(user.cart().await?.count, 0, "cart empties after success");
    assert_eq!(user.orders().await?.items.len(), 1);
    assert_eq!(shop.db.count(ENROLLMENTS_OF_ORDER, order_id).await?, 2);

    // An owned course cannot be bought again.
    let again = user
        .add_to_cart(course_id("async-rust"))
        .problem(StatusCode::CONFLICT)
        .await?;
    assert_eq!(again.kind, "/problems/course-already-owned");
    Ok(())
}

#[tokio::test]
async fn the_same_key_replays_the_first_answer_and_refuses_another_body() -> Result<()> {
    let shop = TestApp::start().await?;
    let user = shop.student().await?;
    user.add_to_cart(course_id("python-data")).await?;

    let missing_key = user
        .request(Method::POST, "/api/checkout")
        .json(&json!({ "card_number": SUCCESS_CARD }))
        .send()
        .await?;
    assert_eq!(
        json_of::<Problem>(missing_key, StatusCode::BAD_REQUEST)
            .await?
            .kind,
        "/problems/invalid-request"
    );

    let key = Uuid::now_v7().to_string();
    let first = user.checkout(&key, SUCCESS_CARD).await?;
    let replay = user.checkout(&key, SUCCESS_CARD).send().await?;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: CheckoutResponse = json_of(replay, StatusCode::CREATED).await?;
    assert_eq!(replay, first, "same order, same status");

    let reused = user
        .checkout(&key, DECLINED_CARD)
        .problem(StatusCode::UNPROCESSABLE_ENTITY)
        .await?;
    assert_eq!(reused.kind, "/problems/idempotency-key-reused");

    assert_eq!(user.orders().await?.items.len(), 1);
    Ok(())
}

#[tokio::test]
async fn twenty_concurrent_duplicates_make_one_order_and_one_charge() -> Result<()> {
    // A slow provider keeps the first request in flight while the others arrive.
    let shop = TestApp::builder()
        .variable("payments_test_latency_ms", "300")
        .start()
        .await?;
    let user = shop.student().await?;
    user.add_to_cart(course_id("typography")).await?;
    let key = Uuid::now_v7().to_string();

    let attempts = (0..20).map(|_| user.checkout(&key, SUCCESS_CARD).into_future());
    let answers = futures::future::join_all(attempts).await;
    let mut order_ids = Vec::new();
    for answer in answers {
        order_ids.push(answer?.order.id);
    }
    order_ids.dedup();
    assert_eq!(
        order_ids.len(),
        1,
        "every duplicate answers with the one order"
    );
    let order_id = order_ids[0];

    let orders = shop
        .db
        .client
        .query_one("SELECT count(*) FROM orders", &[])
        .await?;
    assert_eq!(orders.get::<_, i64>(0), 1);
    assert_eq!(shop.db.count(PAYMENTS_OF_ORDER, order_id).await?, 1);
    user.wait_until_enrolled(order_id, no_op).await?;
    assert_eq!(shop.db.count(ENROLLMENTS_OF_ORDER, order_id).await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_declined_card_fails_the_order_and_enrolls_nothing() -> Result<()> {
    let shop = TestApp::builder()
        .variable("outbox_redrive_after_seconds", "0")
        .start()
        .await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    user.add_to_cart(course_id("figma-basics")).await?;
    user.add_to_cart(course_id("async-rust")).await?;

    let key = Uuid::now_v7().to_string();
    let declined = user
        .checkout(&key, DECLINED_CARD)
        .problem(StatusCode::PAYMENT_REQUIRED)
        .await?;
    assert_eq!(declined.kind, "/problems/payment-declined");

    let orders = user.orders().await?;
    assert_eq!(orders.items[0].status, OrderStatus::PaymentFailed);
    assert_eq!(admin.relay().await?, RelayReport::default());
    assert!(user.enrollments().await?.items.is_empty());
    assert_eq!(
        user.cart().await?.count,
        2,
        "the cart is kept for another try"
    );

    // The replay of a declined attempt is the same 402.
    let replay = user
        .checkout(&key, DECLINED_CARD)
        .problem(StatusCode::PAYMENT_REQUIRED)
        .await?;
    assert_eq!(replay, declined);
    Ok(())
}

#[tokio::test]
async fn a_provider_error_is_retryable_with_the_same_key() -> Result<()> {
    let shop = TestApp::start().await?;
    let user = shop.student().await?;
    user.add_to_cart(course_id("python-data")).await?;
    let key = Uuid::now_v7().to_string();
    let failed = user
        .checkout(&key, PROVIDER_ERROR_CARD)
        .problem(StatusCode::SERVICE_UNAVAILABLE)
        .await?;
    assert_eq!(failed.kind, "/problems/service-unavailable");
    let orders = user.orders().await?;
    assert_eq!(orders.items[0].status, OrderStatus::PendingPayment);
    assert_eq!(
        shop.db.count(PAYMENTS_OF_ORDER, orders.items[0].id).await?,
        0
    );

    // The retry resumes the same order: no second order, nothing charged while the provider fails.
    let retried = user
        .checkout(&key, PROVIDER_ERROR_CARD)
        .problem(StatusCode::SERVICE_UNAVAILABLE)
        .await?;
    assert_eq!(retried.kind, "/problems/service-unavailable");
    let after_retry = user.orders().await?;
    assert_eq!(
        after_retry.items, orders.items,
        "still the one pending order"
    );
    Ok(())
}
