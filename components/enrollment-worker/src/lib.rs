//! Subscribes to `orders.paid` and enrolls the buyer.
//!
//! Redis pub/sub delivers at most once and never retries, so this handler must not rely
//! on being called again: it applies the event in one statement keyed by `event_id`
//! (duplicates change nothing), writes anything it cannot apply to `dead_letters`, and
//! only returns an error when the database itself is unreachable (the outbox relay
//! re-delivers the event later).

use commerce_core::event::OrderPaid;
use commerce_runtime::enrollment::{self, DeadLetterSource, Outcome};

#[spin_sdk::redis_subscriber]
async fn on_message(message: bytes::Bytes) -> anyhow::Result<()> {
    let db = runtime::db::connect().await?;
    let reason = match OrderPaid::parse(&message) {
        Ok(event) => match enrollment::apply(&db, &event).await? {
            Outcome::Applied | Outcome::Duplicate => return Ok(()),
            Outcome::UnknownOrder => {
                format!("no paid order {} of user {}", event.order_id, event.user_id)
            }
        },
        Err(error) => error.to_string(),
    };
    let payload = String::from_utf8_lossy(&message);
    eprintln!("enrollment-worker: dead-lettering a message: {reason}");
    enrollment::dead_letter(&db, DeadLetterSource::Worker, &payload, &reason).await?;
    Ok(())
}
