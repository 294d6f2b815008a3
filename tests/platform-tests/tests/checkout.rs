//! Checkout and asynchronous enrollment (issue 4), on the test host with real PostgreSQL
//! and Redis: the journey, idempotency, concurrency, declines, and that every paid order
//! ends enrolled exactly once when Redis, the worker or the network misbehave.

mod commerce;

use anyhow::{Context, Result};
use commerce::{
    DECLINED_CARD, PROVIDER_ERROR_CARD, SUCCESS_CARD, Shop, Worker, course_id, json_of,
};
use platform_tests::with_cookie;
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
    let shop = Shop::start(Worker::Running, &[]).await?;
    let email = format!("{}@example.com", Uuid::now_v7().simple());
    let registered = shop
        .http
        .post(shop.url("/api/accounts"))
        .json(&json!({ "email": email, "password": "correct horse battery staple", "name": "Ada" }))
        .send()
        .await?;
    json_of(registered, 201).await?;
    let cookie = platform_tests::sign_in(
        &shop.http,
        &shop.app,
        &email,
        "correct horse battery staple",
    )
    .await?;
    let user = commerce::User {
        id: Uuid::nil(),
        cookie,
    };

    shop.add_to_cart(&user.cookie, &course_id("rust-ownership"))
        .await?;
    let cart = shop
        .add_to_cart(&user.cookie, &course_id("async-rust"))
        .await?;
    assert_eq!(cart["count"], 2);
    assert_eq!(
        cart["total"],
        json!({ "amount_cents": 1999 + 4999, "currency": "USD" })
    );

    let key = Uuid::now_v7().to_string();
    let answer = json_of(shop.checkout(&user.cookie, &key, SUCCESS_CARD).await?, 201).await?;
    let order_id = answer["order"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(answer["poll"], format!("/api/orders/{order_id}"));
    assert_eq!(answer["order"]["status"], "paid");
    assert_eq!(answer["order"]["total"]["amount_cents"], 1999 + 4999);

    let order = shop.wait_until_enrolled(&user, &order_id, no_op).await?;
    assert_eq!(order["items"].as_array().map(Vec::len), Some(2));
    let enrollments = shop.get_json(&user.cookie, "/api/me/enrollments").await?;
    let mut slugs: Vec<&str> = enrollments["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["slug"].as_str())
        .collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["async-rust", "rust-ownership"]);
    assert_eq!(
        shop.get_json(&user.cookie, "/api/cart").await?["count"],
        0,
        "cart empties after success"
    );
    let orders = shop.get_json(&user.cookie, "/api/orders").await?;
    assert_eq!(orders["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(shop.count(ENROLLMENTS_OF_ORDER, &order_id).await?, 2);

    // An owned course cannot be bought again.
    let again = shop
        .put_item(&user.cookie, &course_id("async-rust"))
        .await?;
    assert_eq!(
        json_of(again, 409).await?["type"],
        "/problems/course-already-owned"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_key_replays_the_first_answer_and_refuses_another_body() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[]).await?;
    let user = shop.student().await?;
    shop.add_to_cart(&user.cookie, &course_id("python-data"))
        .await?;

    let missing_key = with_cookie(shop.http.post(shop.url("/api/checkout")), &user.cookie)
        .json(&json!({ "card_number": SUCCESS_CARD }))
        .send()
        .await?;
    assert_eq!(
        json_of(missing_key, 400).await?["type"],
        "/problems/invalid-request"
    );

    let key = Uuid::now_v7().to_string();
    let first = json_of(shop.checkout(&user.cookie, &key, SUCCESS_CARD).await?, 201).await?;
    let replay = shop.checkout(&user.cookie, &key, SUCCESS_CARD).await?;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay = json_of(replay, 201).await?;
    assert_eq!(replay, first, "same order, same status");

    let reused = shop.checkout(&user.cookie, &key, DECLINED_CARD).await?;
    assert_eq!(
        json_of(reused, 422).await?["type"],
        "/problems/idempotency-key-reused"
    );

    let orders = shop.get_json(&user.cookie, "/api/orders").await?;
    assert_eq!(orders["items"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn twenty_concurrent_duplicates_make_one_order_and_one_charge() -> Result<()> {
    // A slow provider keeps the first request in flight while the others arrive.
    let shop = Shop::start(Worker::Running, &[("payments_test_latency_ms", "300")]).await?;
    let user = shop.student().await?;
    shop.add_to_cart(&user.cookie, &course_id("typography"))
        .await?;
    let key = Uuid::now_v7().to_string();

    let attempts = (0..20).map(|_| shop.checkout(&user.cookie, &key, SUCCESS_CARD));
    let answers = futures::future::join_all(attempts).await;
    let mut order_ids = Vec::new();
    for answer in answers {
        let body = json_of(answer?, 201).await?;
        order_ids.push(body["order"]["id"].as_str().unwrap_or_default().to_owned());
    }
    order_ids.dedup();
    assert_eq!(
        order_ids.len(),
        1,
        "every duplicate answers with the one order"
    );
    let order_id = &order_ids[0];

    let orders = shop
        .db
        .client
        .query_one("SELECT count(*) FROM orders", &[])
        .await?;
    assert_eq!(orders.get::<_, i64>(0), 1);
    assert_eq!(shop.count(PAYMENTS_OF_ORDER, order_id).await?, 1);
    shop.wait_until_enrolled(&user, order_id, no_op).await?;
    assert_eq!(shop.count(ENROLLMENTS_OF_ORDER, order_id).await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_declined_card_fails_the_order_and_enrolls_nothing() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[("outbox_redrive_after_seconds", "0")]).await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    shop.add_to_cart(&user.cookie, &course_id("figma-basics"))
        .await?;
    shop.add_to_cart(&user.cookie, &course_id("async-rust"))
        .await?;

    let key = Uuid::now_v7().to_string();
    let declined = json_of(shop.checkout(&user.cookie, &key, DECLINED_CARD).await?, 402).await?;
    assert_eq!(declined["type"], "/problems/payment-declined");

    let orders = shop.get_json(&user.cookie, "/api/orders").await?;
    assert_eq!(orders["items"][0]["status"], "payment_failed");
    assert_eq!(
        shop.relay(&admin).await?,
        json!({ "republished": 0, "dead_lettered": 0, "enrolled_directly": 0 })
    );
    let enrollments = shop.get_json(&user.cookie, "/api/me/enrollments").await?;
    assert_eq!(enrollments["items"], json!([]));
    assert_eq!(
        shop.get_json(&user.cookie, "/api/cart").await?["count"],
        2,
        "the cart is kept for another try"
    );

    // The replay of a declined attempt is the same 402.
    let replay = shop.checkout(&user.cookie, &key, DECLINED_CARD).await?;
    assert_eq!(json_of(replay, 402).await?, declined);
    Ok(())
}

#[tokio::test]
async fn a_provider_error_is_retryable_with_the_same_key() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[]).await?;
    let user = shop.student().await?;
    shop.add_to_cart(&user.cookie, &course_id("python-data"))
        .await?;
    let key = Uuid::now_v7().to_string();
    let failed = shop
        .checkout(&user.cookie, &key, PROVIDER_ERROR_CARD)
        .await?;
    assert_eq!(
        json_of(failed, 503).await?["type"],
        "/problems/service-unavailable"
    );
    let orders = shop.get_json(&user.cookie, "/api/orders").await?;
    assert_eq!(orders["items"][0]["status"], "pending_payment");
    assert_eq!(
        shop.count(
            PAYMENTS_OF_ORDER,
            orders["items"][0]["id"].as_str().unwrap_or_default()
        )
        .await?,
        0
    );

    // The retry resumes the same order: no second order, nothing charged while the provider fails.
    let retried = shop
        .checkout(&user.cookie, &key, PROVIDER_ERROR_CARD)
        .await?;
    assert_eq!(
        json_of(retried, 503).await?["type"],
        "/problems/service-unavailable"
    );
    let after_retry = shop.get_json(&user.cookie, "/api/orders").await?;
    assert_eq!(
        after_retry["items"], orders["items"],
        "still the one pending order"
    );
    Ok(())
}

#[tokio::test]
async fn a_paid_order_is_enrolled_once_after_redis_was_down_during_checkout() -> Result<()> {
    let shop = Shop::start(
        Worker::Running,
        &[
            ("outbox_redrive_after_seconds", "0"),
            ("outbox_max_attempts", "1000"),
        ],
    )
    .await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    shop.add_to_cart(&user.cookie, &course_id("rust-ownership"))
        .await?;

    shop.redis.stop().await?;
    let answer = json_of(
        shop.checkout(&user.cookie, &Uuid::now_v7().to_string(), SUCCESS_CARD)
            .await?,
        201,
    )
    .await?;
    let order_id = answer["order"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let unpublished = shop
        .db
        .client
        .query_one("SELECT published_at IS NULL, last_error IS NOT NULL FROM outbox WHERE order_id = $1::text::uuid", &[&order_id])
        .await?;
    assert!(
        unpublished.get::<_, bool>(0) && unpublished.get::<_, bool>(1),
        "publish failed and was recorded"
    );
    shop.redis.start().await?;

    // A cron calling the relay: it re-publishes until the (re-subscribed) worker has applied it.
    shop.wait_until_enrolled(&user, &order_id, || async {
        shop.relay(&admin).await?;
        Ok(())
    })
    .await?;
    assert_eq!(shop.count(ENROLLMENTS_OF_ORDER, &order_id).await?, 1);
    assert_eq!(shop.count(PROCESSED_EVENTS_OF_ORDER, &order_id).await?, 1);
    Ok(())
}

#[tokio::test]
async fn paid_orders_are_enrolled_once_the_worker_is_back_or_by_the_direct_relay() -> Result<()> {
    let redrive_now = [
        ("outbox_redrive_after_seconds", "0"),
        ("outbox_max_attempts", "1000"),
    ];
    let shop = Shop::start(Worker::Absent, &redrive_now).await?;
    let user = shop.student().await?;

    // Published into the void: nobody subscribes to orders.paid.
    let first = shop.buy(&user, &["rust-ownership"]).await?;
    let first_id = first["order"]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        shop.get_json(&user.cookie, &format!("/api/orders/{first_id}"))
            .await?["status"],
        "paid"
    );

    // The worker comes back (an app with the trigger on the same database and Redis);
    // the relay re-publishes the event for it.
    let with_worker = shop.start_another(Worker::Running, &redrive_now).await?;
    let admin = shop.admin_on(&with_worker).await?;
    shop.wait_until_enrolled(&user, &first_id, || async {
        let relay = with_cookie(
            shop.http.post(with_worker.url("/api/admin/outbox/relay")),
            &admin.cookie,
        );
        json_of(relay.send().await?, 200)
            .await
            .context("relay on the app with the worker")?;
        Ok(())
    })
    .await?;
    with_worker.stop().await;

    // A host without the Redis trigger: the relay in direct mode enrolls in PostgreSQL.
    let second = shop.buy(&user, &["async-rust"]).await?;
    let second_id = second["order"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let direct = shop
        .start_another(
            Worker::Absent,
            &[
                ("enrollment_mode", "direct"),
                ("outbox_redrive_after_seconds", "0"),
            ],
        )
        .await?;
    let admin = shop.admin_on(&direct).await?;
    let relay = with_cookie(
        shop.http.post(direct.url("/api/admin/outbox/relay")),
        &admin.cookie,
    );
    let report = json_of(relay.send().await?, 200)
        .await
        .context("relay in direct mode")?;
    assert_eq!(report["enrolled_directly"], 1, "{report}");
    shop.wait_until_enrolled(&user, &second_id, no_op).await?;

    for order_id in [&first_id, &second_id] {
        assert_eq!(shop.count(ENROLLMENTS_OF_ORDER, order_id).await?, 1);
        assert_eq!(shop.count(PROCESSED_EVENTS_OF_ORDER, order_id).await?, 1);
    }
    Ok(())
}

#[tokio::test]
async fn direct_mode_enrolls_at_checkout() -> Result<()> {
    let shop = Shop::start(Worker::Absent, &[("enrollment_mode", "direct")]).await?;
    let user = shop.student().await?;
    let answer = shop.buy(&user, &["typography"]).await?;
    let order_id = answer["order"]["id"].as_str().unwrap_or_default();
    let order = shop
        .get_json(&user.cookie, &format!("/api/orders/{order_id}"))
        .await?;
    assert_eq!(order["status"], "enrolled");
    Ok(())
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing_and_poison_is_dead_lettered() -> Result<()> {
    let shop = Shop::start(Worker::Running, &[]).await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    let answer = shop.buy(&user, &["rust-ownership", "python-data"]).await?;
    let order_id = answer["order"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    shop.wait_until_enrolled(&user, &order_id, no_op).await?;
    let enrolled_before = shop.get_json(&user.cookie, "/api/me/enrollments").await?;

    let payload: String = shop
        .db
        .client
        .query_one(
            "SELECT payload::text FROM outbox WHERE order_id = $1::text::uuid",
            &[&order_id],
        )
        .await?
        .get(0);
    let unknown_order = payload.replace(&order_id, &Uuid::now_v7().to_string());
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
        let letters = shop
            .get_json(&admin.cookie, "/api/admin/dead-letters")
            .await?;
        if letters["items"].as_array().map_or(0, Vec::len) >= 3
            || std::time::Instant::now() > deadline
        {
            break letters;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let items = letters["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3, "{letters}");
    assert!(
        items
            .iter()
            .all(|item| item["source"] == "enrollment-worker")
    );
    let reasons: Vec<&str> = items
        .iter()
        .filter_map(|item| item["reason"].as_str())
        .collect();
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

    assert_eq!(
        shop.get_json(&user.cookie, "/api/me/enrollments").await?,
        enrolled_before
    );
    assert_eq!(shop.count(ENROLLMENTS_OF_ORDER, &order_id).await?, 2);
    assert_eq!(shop.count(PROCESSED_EVENTS_OF_ORDER, &order_id).await?, 1);

    let forbidden = shop.get(&user.cookie, "/api/admin/dead-letters").await?;
    assert_eq!(forbidden.status(), 403);
    Ok(())
}

#[tokio::test]
async fn the_relay_dead_letters_an_event_after_the_maximum_attempts() -> Result<()> {
    let shop = Shop::start(
        Worker::Absent,
        &[
            ("outbox_redrive_after_seconds", "0"),
            ("outbox_max_attempts", "2"),
        ],
    )
    .await?;
    let user = shop.student().await?;
    let admin = shop.admin().await?;
    shop.buy(&user, &["figma-basics"]).await?;

    assert_eq!(shop.relay(&admin).await?["republished"], 1);
    assert_eq!(shop.relay(&admin).await?["dead_lettered"], 1);
    assert_eq!(
        shop.relay(&admin).await?,
        json!({ "republished": 0, "dead_lettered": 0, "enrolled_directly": 0 })
    );
    let letters = shop
        .get_json(&admin.cookie, "/api/admin/dead-letters")
        .await?;
    assert_eq!(letters["items"][0]["source"], "outbox");
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
    let shop = Shop::start(Worker::Running, &[("payments_test_latency_ms", "1500")]).await?;
    let user = shop.student().await?;
    shop.add_to_cart(&user.cookie, &course_id("rust-ownership"))
        .await?;
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
    let (answer, restarted) =
        tokio::join!(shop.checkout(&user.cookie, &key, SUCCESS_CARD), restart);
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
        let retried = shop.checkout(&user.cookie, &key, SUCCESS_CARD).await?;
        match retried.status().as_u16() {
            201 => break retried.json::<serde_json::Value>().await?,
            409 | 503 => {}
            other => anyhow::bail!("retry: {other} {}", retried.text().await?),
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "the retry never paid");
    };
    let order_id = order["order"]["id"]
        .as_str()
        .context("order id")?
        .to_owned();
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
    use platform_tests::spin_test_host::{App, TestRedis};
    let db = platform_tests::Database::migrated().await?;
    platform_tests::fixtures::catalog(&db.client).await?;
    let redis = TestRedis::spawn().await?;
    let log_path = std::env::temp_dir().join(format!("checkout-log-{}.jsonl", Uuid::now_v7()));
    let app = App::builder("spin.toml")
        .runtime_config("runtime-config/local.toml")
        .variable("database_url", db.url())
        .variable("redis_url", redis.url())
        .stderr_to(&log_path)
        .start()
        .await?;
    let shop = Shop {
        app,
        redis,
        db,
        http: platform_tests::http_client()?,
    };
    let user = shop.student().await?;
    shop.add_to_cart(&user.cookie, &course_id("python-data"))
        .await?;
    let failed = shop
        .checkout(
            &user.cookie,
            &Uuid::now_v7().to_string(),
            PROVIDER_ERROR_CARD,
        )
        .await?;
    let request_id = platform_tests::header(&failed, "x-request-id");
    assert_eq!(failed.status(), 503);
    let log = std::fs::read_to_string(&log_path)?;
    std::fs::remove_file(&log_path)?;

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("one JSON object per line: {log}"))?;
    let of_request: Vec<(&str, &str)> = lines
        .iter()
        .filter(|line| line["request_id"] == request_id.as_str())
        .map(|line| {
            let text = |name: &str| line[name].as_str().unwrap_or_default();
            (text("component"), text("event"))
        })
        .collect();
    assert_eq!(
        of_request,
        [
            ("checkout", "payment-failed"),
            ("checkout", "dependency-unavailable"),
            ("geo-router", "request"),
        ],
        "{log}"
    );
    let session = user.cookie.split(';').next().unwrap_or_default();
    for secret in [PROVIDER_ERROR_CARD, session] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
    Ok(())
}
