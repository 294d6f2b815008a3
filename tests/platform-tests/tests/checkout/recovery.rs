//! Every paid order ends enrolled exactly once: Redis down at checkout, the worker away,
//! direct mode, redelivered and poison messages, and the relay giving up.

use anyhow::{Context, Result};
use commerce_core::OrderStatus;
use commerce_core::views::RelayReport;
use platform_tests::fixtures::course_id;
use platform_tests::{SUCCESS_CARD, TestApp, Worker};
use uuid::Uuid;

use crate::{ENROLLMENTS_OF_ORDER, PROCESSED_EVENTS_OF_ORDER, no_op};

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
