//! Checkout and asynchronous enrollment, on the test host with real PostgreSQL
//! and Redis: the journey, idempotency, concurrency, declines, and that every paid order
//! ends enrolled exactly once when Redis, the worker or the network misbehave.

use anyhow::{Context, Result};
use commerce_core::views::{CheckoutResponse, RelayReport};
use commerce_core::{Money, OrderStatus};
use platform_tests::fixtures::course_id;
use platform_tests::{
    DECLINED_CARD, GuestLog, PROVIDER_ERROR_CARD, Problem, SUCCESS_CARD, TestApp, Worker, events,
    header, json_of,
};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

const ENROLLMENTS_OF_ORDER: &str =
    "SELECT count(*) FROM enrollments WHERE order_id = $1::text::uuid";
const PROCESSED_EVENTS_OF_ORDER: &str =
    "SELECT count(*) FROM processed_events WHERE order_id = $1::text::uuid";
const PAYMENTS_OF_ORDER: &str = "SELECT count(*) FROM payments WHERE order_id = $1::text::uuid";

async fn no_op() -> Result<()> {
    Ok(())
}

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

#[tokio::test]
async fn a_paid_order_is_enrolled_once_after_redis_was_down_during_checkout() -> Result<()> {
    let shop = TestApp::builder()
        .variables(&[
            ("outbox_redrive_after_seconds", "0"),
            ("outbox_max_attempts", "1000"),
        ])
        .start()
        .await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    user.add_to_cart(course_id("rust-ownership")).await?;

    shop.redis.stop().await?;
    let answer = user
        .checkout(&Uuid::now_v7().to_string(), SUCCESS_CARD)
        .await?;
    let order_id = answer.order.id;
    let unpublished = shop
        .db
        .client
        .query_one("SELECT published_at IS NULL, last_error IS NOT NULL FROM outbox WHERE order_id = $1::text::uuid", &[&order_id.to_string()])
        .await?;
    assert!(
        unpublished.get::<_, bool>(0) && unpublished.get::<_, bool>(1),
        "publish failed and was recorded"
    );
    shop.redis.start().await?;

    // A cron calling the relay: it re-publishes until the (re-subscribed) worker has applied it.
    user.wait_until_enrolled(order_id, || async {
        admin.relay().await?;
        Ok(())
    })
    .await?;
    assert_eq!(shop.db.count(ENROLLMENTS_OF_ORDER, order_id).await?, 1);
    assert_eq!(shop.db.count(PROCESSED_EVENTS_OF_ORDER, order_id).await?, 1);
    Ok(())
}

#[tokio::test]
async fn paid_orders_are_enrolled_once_the_worker_is_back_or_by_the_direct_relay() -> Result<()> {
    let redrive_now = [
        ("outbox_redrive_after_seconds", "0"),
        ("outbox_max_attempts", "1000"),
    ];
    let shop = TestApp::builder()
        .worker(Worker::Absent)
        .variables(&redrive_now)
        .start()
        .await?;
    let user = shop.student().await?;

    // Published into the void: nobody subscribes to orders.paid.
    let first_id = user.buy(&["rust-ownership"]).await?.order.id;
    assert_eq!(user.order(first_id).await?.status, OrderStatus::Paid);

    // The worker comes back (an app with the trigger on the same database and Redis);
    // the relay re-publishes the event for it.
    let with_worker = TestApp::builder()
        .variables(&redrive_now)
        .start_beside(&shop)
        .await?;
    let admin = shop
        .user_on(&with_worker, accounts_core::Role::Admin)
        .await?;
    user.wait_until_enrolled(first_id, || async {
        admin
            .relay()
            .await
            .context("relay on the app with the worker")?;
        Ok(())
    })
    .await?;
    with_worker.stop().await;

    // A host without the Redis trigger: the relay in direct mode enrolls in PostgreSQL.
    let second_id = user.buy(&["async-rust"]).await?.order.id;
    let direct = TestApp::builder()
        .worker(Worker::Absent)
        .variables(&[
            ("enrollment_mode", "direct"),
            ("outbox_redrive_after_seconds", "0"),
        ])
        .start_beside(&shop)
        .await?;
    let admin = shop.user_on(&direct, accounts_core::Role::Admin).await?;
    let report = admin.relay().await.context("relay in direct mode")?;
    assert_eq!(report.enrolled_directly, 1, "{report:?}");
    user.wait_until_enrolled(second_id, no_op).await?;

    for order_id in [first_id, second_id] {
        assert_eq!(shop.db.count(ENROLLMENTS_OF_ORDER, order_id).await?, 1);
        assert_eq!(shop.db.count(PROCESSED_EVENTS_OF_ORDER, order_id).await?, 1);
    }
    Ok(())
}

#[tokio::test]
async fn direct_mode_enrolls_at_checkout() -> Result<()> {
    let shop = TestApp::builder()
        .worker(Worker::Absent)
        .variable("enrollment_mode", "direct")
        .start()
        .await?;
    let user = shop.student().await?;
    let answer = user.buy(&["typography"]).await?;
    let order = user.order(answer.order.id).await?;
    assert_eq!(order.status, OrderStatus::Enrolled);
    Ok(())
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing_and_poison_is_dead_lettered() -> Result<()> {
    let shop = TestApp::start().await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    let answer = user.buy(&["rust-ownership", "python-data"]).await?;
    let order_id = answer.order.id;
    user.wait_until_enrolled(order_id, no_op).await?;
    let enrolled_before = user.enrollments().await?;

    let payload: String = shop
        .db
        .client
        .query_one(
            "SELECT payload::text FROM outbox WHERE order_id = $1::text::uuid",
            &[&order_id.to_string()],
        )
        .await?
        .get(0);
    let unknown_order = payload.replace(&order_id.to_string(), &Uuid::now_v7().to_string());
    for message in [payload.as_bytes(), payload.as_bytes()] {
        assert_eq!(
            shop.publish("orders.paid", message).await?,
            1,
            "the worker is subscribed"
        );
    }
    let poison: [&[u8]; 3] = [
        b"\xffnot json",
        br#"{"type":"order.refunded","order_id":"x"}"#,
        unknown_order.as_bytes(),
    ];
    for message in poison {
        shop.publish("orders.paid", message).await?;
    }

    // The three poison messages show up for admins; the duplicates do not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let letters = loop {
        let letters = admin.dead_letters().await?;
        if letters.items.len() >= 3 || std::time::Instant::now() > deadline {
            break letters;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let items = &letters.items;
    assert_eq!(items.len(), 3, "{letters:?}");
    assert!(items.iter().all(|item| item.source == "enrollment-worker"));
    let reasons: Vec<&str> = items.iter().map(|item| item.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|reason| reason.contains("unknown event type")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|reason| reason.contains("no paid order")),
        "{reasons:?}"
    );

    assert_eq!(user.enrollments().await?, enrolled_before);
    assert_eq!(shop.db.count(ENROLLMENTS_OF_ORDER, order_id).await?, 2);
    assert_eq!(shop.db.count(PROCESSED_EVENTS_OF_ORDER, order_id).await?, 1);

    let forbidden = user.dead_letters().send().await?;
    assert_eq!(forbidden.status(), 403);
    Ok(())
}

#[tokio::test]
async fn the_relay_dead_letters_an_event_after_the_maximum_attempts() -> Result<()> {
    let shop = TestApp::builder()
        .worker(Worker::Absent)
        .variables(&[
            ("outbox_redrive_after_seconds", "0"),
            ("outbox_max_attempts", "2"),
        ])
        .start()
        .await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    user.buy(&["figma-basics"]).await?;

    assert_eq!(admin.relay().await?.republished, 1);
    assert_eq!(admin.relay().await?.dead_lettered, 1);
    assert_eq!(admin.relay().await?, RelayReport::default());
    let letters = admin.dead_letters().await?;
    assert_eq!(letters.items[0].source, "outbox");
    Ok(())
}

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
