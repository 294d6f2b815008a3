//! Subscribes to `orders.paid` and enrolls the buyer.
//!
//! Redis pub/sub delivers at most once and never retries, so this handler must not rely
//! on being called again: it applies the event in one statement keyed by `event_id`
//! (duplicates change nothing), writes anything it cannot apply to `dead_letters`, and
//! only returns an error when the database itself is unreachable (the outbox relay
//! re-delivers the event later).

use commerce_core::event::{EventError, OrderPaid};
use commerce_runtime::enrollment::{self, DeadLetterSource, Outcome};
use platform::ApiError;
use platform::log::{Event, Fields, Logger};

const COMPONENT: &str = "enrollment-worker";

#[spin_sdk::redis_subscriber]
async fn on_message(message: bytes::Bytes) -> anyhow::Result<()> {
    let event = OrderPaid::parse(&message);
    // No HTTP request started this work: the event id is what the checkout's and the
    // relay's lines about the same event name too.
    let logger = match &event {
        Ok(event) => Logger::for_event(COMPONENT, event.event_id),
        Err(_) => Logger::uncorrelated(COMPONENT),
    };
    enroll(&logger, event, &message).await.map_err(|error| {
        logger.failure(&error);
        anyhow::Error::new(error)
    })
}

async fn enroll(
    logger: &Logger,
    event: Result<OrderPaid, EventError>,
    message: &[u8],
) -> Result<(), ApiError> {
    let db = runtime::db::connect().await?;
    let reason = match event {
        Ok(event) => match enrollment::apply(&db, &event).await? {
            Outcome::Applied | Outcome::Duplicate => return Ok(()),
            Outcome::UnknownOrder => {
                format!("no paid order {} of user {}", event.order_id, event.user_id)
            }
        },
        Err(error) => error.to_string(),
    };
    logger.log(Event::DeadLettered, Fields::new().text("reason", &reason));
    let payload = String::from_utf8_lossy(message);
    enrollment::dead_letter(&db, DeadLetterSource::Worker, &payload, &reason).await
}
