//! The outbox relay: re-delivers `order.paid` events whose order is still `paid` (no
//! enrollment recorded) once they are due, with exponential backoff, and dead-letters
//! them after the maximum number of attempts. Runs from `POST /api/admin/outbox/relay`
//! (for a cron) and opportunistically from checkout traffic.

use commerce_core::event::OrderPaid;
use commerce_core::relay::RelayDecision;
use commerce_core::views::RelayReport;
use commerce_runtime::rows;
use platform::ApiError;
use platform::log::{Event, Fields, Logger};
use spin_sdk::pg::Connection;
use spin_sdk::redis;

use crate::config::Config;
use crate::events::{self, Delivery};

/// Events handled per run; a backlog drains over successive runs.
const BATCH: i64 = 100;
/// While one run works on an event, concurrent runs skip it for this long.
const CLAIM_SECS: i64 = 60;

/// Claims due events in one statement (`SKIP LOCKED` keeps concurrent runs apart).
const CLAIM_DUE: &str = "
UPDATE outbox ob
SET next_attempt_at = (now() AT TIME ZONE 'utc') + $2::bigint * interval '1 second'
WHERE ob.event_id IN (
    SELECT o.event_id FROM outbox o JOIN orders ord ON ord.id = o.order_id
    WHERE ord.status = 'paid'
      AND o.dead_lettered_at IS NULL
      AND o.next_attempt_at <= (now() AT TIME ZONE 'utc')
      AND NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = o.event_id)
    ORDER BY o.next_attempt_at
    LIMIT $1::bigint
    FOR UPDATE OF o SKIP LOCKED
)
RETURNING ob.event_id::text AS event_id, ob.payload::text AS payload, ob.attempts";

const DEAD_LETTER: &str = "
WITH given_up AS (
    UPDATE outbox SET dead_lettered_at = (now() AT TIME ZONE 'utc'), last_error = $2::text
    WHERE event_id = $1::text::uuid AND dead_lettered_at IS NULL
    RETURNING payload::text AS payload
)
INSERT INTO dead_letters (source, payload, reason)
SELECT 'outbox', payload, $2::text FROM given_up";

/// Runs the relay once, publishing on `redis` or, without it, on a connection opened only
/// if some event is due.
pub async fn run(
    logger: &Logger,
    db: &Connection,
    config: &Config,
    redis: Option<&redis::Connection>,
) -> Result<RelayReport, ApiError> {
    let due = db
        .query(CLAIM_DUE, &[BATCH.into(), CLAIM_SECS.into()])
        .await
        .map_err(runtime::db::query_error)?
        .collect()
        .await
        .map_err(runtime::db::query_error)?;
    let mut report = RelayReport::default();
    if due.is_empty() {
        return Ok(report);
    }
    let opened;
    let redis = match redis {
        Some(redis) => Some(redis),
        None => {
            opened = events::connect(logger, &config.redis_url).await;
            opened.as_ref()
        }
    };
    for row in &due {
        let attempts: i32 = runtime::db::column(row, "attempts")?;
        let payload: String = runtime::db::column(row, "payload")?;
        let event_id: String = runtime::db::column(row, "event_id")?;
        let event = match OrderPaid::parse(payload.as_bytes()) {
            Ok(event) => event,
            Err(error) => {
                dead_letter(
                    db,
                    &event_id,
                    &format!("outbox payload unreadable: {error}"),
                )
                .await?;
                report.dead_lettered += 1;
                continue;
            }
        };
        match config.relay.decide(attempts) {
            RelayDecision::DeadLetter => {
                let reason = format!("not processed after {attempts} publications");
                dead_letter(db, &event_id, &reason).await?;
                report.dead_lettered += 1;
            }
            RelayDecision::Republish { retry_in_secs } => {
                let result = events::deliver(db, config.enrollment_mode, redis, &event).await;
                match &result {
                    Ok(Delivery::Published) => report.republished += 1,
                    Ok(Delivery::EnrolledDirectly) => report.enrolled_directly += 1,
                    Err(error) => logger.log(
                        Event::DeliveryDeferred,
                        Fields::new().text("event_id", &event_id).error(error),
                    ),
                }
                events::record_attempt(db, &event, &result, retry_in_secs).await?;
            }
        }
    }
    Ok(report)
}

async fn dead_letter(db: &Connection, event_id: &str, reason: &str) -> Result<(), ApiError> {
    db.execute(DEAD_LETTER, &[rows::text(event_id), rows::text(reason)])
        .await
        .map(drop)
        .map_err(runtime::db::query_error)
}

/// Takes this region's relay lease if it is free: true at most once per
/// `outbox_relay_interval_seconds`, whatever the traffic. `redis` is the region's own
/// Redis (`regional_redis_url`): the lease is the region's, and every checkout asks for it.
pub async fn lease(logger: &Logger, config: &Config, redis: Option<&redis::Connection>) -> bool {
    let Some(redis) = redis else {
        return false;
    };
    let key = format!("outbox-relay-lease:{}", config.region);
    let millis = config.relay_interval_secs.max(1).saturating_mul(1000);
    events::acquire_lease(logger, redis, &key, millis).await
}

/// Runs the relay for checkout traffic, once [`lease`] is taken. Failures are only
/// logged: they must not fail the caller's request.
pub async fn opportunistic(
    logger: &Logger,
    db: &Connection,
    config: &Config,
    redis: Option<&redis::Connection>,
) {
    match run(logger, db, config, redis).await {
        Ok(report) if report != RelayReport::default() => logger.log(
            Event::RelayRan,
            Fields::new()
                .count("republished", report.republished.into())
                .count("enrolled_directly", report.enrolled_directly.into())
                .count("dead_lettered", report.dead_lettered.into()),
        ),
        Ok(_) => {}
        // Only the database fails a run: the 503's or 500's cause says why.
        Err(error) => logger.failure(&error),
    }
}
