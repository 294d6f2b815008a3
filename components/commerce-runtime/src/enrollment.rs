//! Applying an `order.paid` event: the one statement shared by the Redis-triggered worker
//! and by checkout/relay in `enrollment_mode = "direct"`.

use commerce_core::event::OrderPaid;
use platform::ApiError;
use spin_sdk::pg::Connection;

use crate::rows;

/// One statement, hence one transaction: record the event id; only if it is new, enroll
/// the order's courses (from its lines, not from the message) and move it `paid -> enrolled`.
/// A concurrent duplicate blocks on the `processed_events` key, then changes nothing.
const APPLY_ORDER_PAID: &str = "
WITH target AS (
    SELECT id, user_id FROM orders
    WHERE id = $2::text::uuid AND user_id = $3::text::uuid AND status IN ('paid', 'enrolled')
), new_event AS (
    INSERT INTO processed_events (event_id, order_id, processed_at)
    SELECT $1::text::uuid, id, (now() AT TIME ZONE 'utc') FROM target
    ON CONFLICT (event_id) DO NOTHING
    RETURNING order_id
), enrolled AS (
    INSERT INTO enrollments (user_id, course_id, order_id, enrolled_at)
    SELECT t.user_id, l.course_id, t.id, (now() AT TIME ZONE 'utc')
    FROM new_event e JOIN target t ON t.id = e.order_id JOIN order_lines l ON l.order_id = t.id
    ON CONFLICT (user_id, course_id) DO NOTHING
    RETURNING course_id
), moved AS (
    UPDATE orders SET status = 'enrolled', updated_at = (now() AT TIME ZONE 'utc')
    FROM new_event e
    WHERE orders.id = e.order_id AND orders.status = 'paid'
    RETURNING orders.id
)
SELECT (SELECT count(*) FROM target) AS known_orders,
       (SELECT count(*) FROM new_event) AS new_events,
       (SELECT count(*) FROM enrolled) AS enrollments,
       (SELECT count(*) FROM moved) AS moved";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Enrollments written and the order is `enrolled`.
    Applied,
    /// This event id was applied before; nothing changed.
    Duplicate,
    /// No paid order matches the event's order and user: the message is a dead letter.
    UnknownOrder,
}

pub async fn apply(db: &Connection, event: &OrderPaid) -> Result<Outcome, ApiError> {
    let result = db
        .query(
            APPLY_ORDER_PAID,
            &[
                rows::id(event.event_id),
                rows::id(event.order_id),
                rows::id(event.user_id),
            ],
        )
        .await
        .map_err(runtime::db::query_error)?;
    let found = result.collect().await.map_err(runtime::db::query_error)?;
    let row = found
        .first()
        .ok_or_else(|| ApiError::internal("enrollment statement returned no row"))?;
    let known_orders: i64 = runtime::db::column(row, "known_orders")?;
    let new_events: i64 = runtime::db::column(row, "new_events")?;
    Ok(match (known_orders, new_events) {
        (0, _) => Outcome::UnknownOrder,
        (_, 0) => Outcome::Duplicate,
        _ => Outcome::Applied,
    })
}

/// Where a dead letter came from (the `dead_letters.source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterSource {
    Worker,
    Outbox,
}

impl DeadLetterSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Worker => "enrollment-worker",
            Self::Outbox => "outbox",
        }
    }
}

/// Records a message that cannot be applied, for an admin to inspect.
pub async fn dead_letter(
    db: &Connection,
    source: DeadLetterSource,
    payload: &str,
    reason: &str,
) -> Result<(), ApiError> {
    db.execute(
        "INSERT INTO dead_letters (source, payload, reason) VALUES ($1, $2, $3)",
        &[
            rows::text(source.as_str()),
            rows::text(payload),
            rows::text(reason),
        ],
    )
    .await
    .map(drop)
    .map_err(runtime::db::query_error)
}
