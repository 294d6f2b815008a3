//! A database restart mid-checkout, and what a provider error leaves in the log.

use anyhow::Result;
use commerce_core::views::CheckoutResponse;
use platform_tests::fixtures::course_id;
use platform_tests::{
    GuestLog, PROVIDER_ERROR_CARD, SUCCESS_CARD, TestApp, events, header, json_of,
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::PAYMENTS_OF_ORDER;

/// Polls (bounded) until the user's order exists and waits on the payment provider.
async fn order_awaiting_payment(db: &tokio_postgres::Client, user_id: Uuid) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let row = db
            .query_one(
                "SELECT count(*) FROM orders WHERE user_id = $1::text::uuid \
                 AND status = 'pending_payment'",
                &[&user_id.to_string()],
            )
            .await?;
        if row.get::<_, i64>(0) == 1 {
            return Ok(());
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "no order placed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_database_restart_mid_checkout_is_a_503_and_the_retry_pays_once() -> Result<()> {
    // The provider takes a while: long enough to end every session of the database meanwhile.
    let shop = TestApp::builder()
        .variable("payments_test_latency_ms", "1500")
        .start()
        .await?;
    let user = shop.student().await?;
    user.add_to_cart(course_id("rust-ownership")).await?;
    let key = Uuid::now_v7().to_string();
    let observer = db::connect(&shop.db.url()).await?;
    let restart = async {
        order_awaiting_payment(&observer, user.id).await?;
        // What a PostgreSQL restart does to every open session (57P01 admin_shutdown).
        observer
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await?;
        Ok::<(), anyhow::Error>(())
    };
    let (answer, restarted) = tokio::join!(user.checkout(&key, SUCCESS_CARD).send(), restart);
    restarted?;
    let answer = answer?;
    assert_eq!(
        answer.status(),
        503,
        "an outage, not a bug: {}",
        answer.status()
    );
    assert!(answer.headers().contains_key("retry-after"));

    // The client retries with the same key until the interrupted attempt's claim lapses.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let order = loop {
        let retried = user.checkout(&key, SUCCESS_CARD).send().await?;
        match retried.status().as_u16() {
            201 => break json_of::<CheckoutResponse>(retried, StatusCode::CREATED).await?,
            409 | 503 => {}
            other => anyhow::bail!("retry: {other} {}", retried.text().await?),
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "the retry never paid");
    };
    let order_id = order.order.id.to_string();
    let payments: i64 = observer
        .query_one(PAYMENTS_OF_ORDER, &[&order_id])
        .await?
        .get(0);
    assert_eq!(payments, 1, "charged once");
    let orders: i64 = observer
        .query_one(
            "SELECT count(*) FROM orders WHERE user_id = $1::text::uuid",
            &[&user.id.to_string()],
        )
        .await?
        .get(0);
    assert_eq!(orders, 1, "one order");
    Ok(())
}

#[tokio::test]
async fn a_provider_error_is_logged_with_the_request_id_and_never_the_card() -> Result<()> {
    let log = GuestLog::new();
    let shop = TestApp::builder().stderr_to(log.path()).start().await?;
    let user = shop.student().await?;
    user.add_to_cart(course_id("python-data")).await?;
    let failed = user
        .checkout(&Uuid::now_v7().to_string(), PROVIDER_ERROR_CARD)
        .send()
        .await?;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);

    let lines = log.of_request(&header(&failed, "x-request-id"))?;
    let text = log.text()?;
    assert_eq!(
        events(&lines),
        [
            ("checkout", "payment-failed"),
            ("checkout", "dependency-unavailable"),
            ("geo-router", "request"),
        ],
        "{text}"
    );
    let session = user.cookies().split(';').next().unwrap_or_default();
    for secret in [PROVIDER_ERROR_CARD, session] {
        assert!(!text.contains(secret), "{secret} in the log: {text}");
    }
    Ok(())
}
