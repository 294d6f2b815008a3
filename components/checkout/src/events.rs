//! Getting a paid order's event to the enrollment worker: publish on Redis, or enroll
//! directly in `enrollment_mode = "direct"`; and the Redis lease that rate-limits the
//! opportunistic relay.

use commerce_core::event::{ORDER_PAID_CHANNEL, OrderPaid};
use commerce_core::relay::EnrollmentMode;
use commerce_runtime::enrollment::{self, Outcome};
use platform::ApiError;
use platform::log::{Event, Logger};
use spin_sdk::pg::Connection;
use spin_sdk::redis::{self, RedisParameter, RedisResult};

/// What delivering an event did.
pub enum Delivery {
    Published,
    EnrolledDirectly,
}

/// Delivers one event; an error message (never a panic) when Redis or the database fails.
pub async fn deliver(
    db: &Connection,
    mode: EnrollmentMode,
    redis: Option<&redis::Connection>,
    event: &OrderPaid,
) -> Result<Delivery, String> {
    match mode {
        EnrollmentMode::Direct => match enrollment::apply(db, event).await {
            Ok(Outcome::Applied | Outcome::Duplicate) => Ok(Delivery::EnrolledDirectly),
            Ok(Outcome::UnknownOrder) => Err("order is not paid".into()),
            Err(error) => Err(error.to_string()),
        },
        EnrollmentMode::Redis => {
            let redis = redis.ok_or("redis unavailable")?;
            redis
                .publish(ORDER_PAID_CHANNEL, event.to_json())
                .await
                .map(|()| Delivery::Published)
                .map_err(|error| format!("publish failed: {error:?}"))
        }
    }
}

pub async fn connect(logger: &Logger, redis_url: &str) -> Option<redis::Connection> {
    match redis::Connection::open(redis_url).await {
        Ok(connection) => Some(connection),
        Err(error) => {
            logger.error(
                Event::DependencyUnavailable,
                format_args!("redis: {error:?}"),
            );
            None
        }
    }
}

/// `SET <key> 1 NX PX <ms>`: true for the one caller per interval that gets the lease.
pub async fn acquire_lease(
    logger: &Logger,
    redis: &redis::Connection,
    key: &str,
    millis: i64,
) -> bool {
    let arguments = [
        RedisParameter::Binary(key.as_bytes().to_vec()),
        RedisParameter::Binary(b"1".to_vec()),
        RedisParameter::Binary(b"NX".to_vec()),
        RedisParameter::Binary(b"PX".to_vec()),
        RedisParameter::Int64(millis),
    ];
    match redis.execute("SET", arguments).await {
        Ok(results) => results
            .iter()
            .any(|result| matches!(result, RedisResult::Status(status) if status == "OK")),
        Err(error) => {
            logger.error(
                Event::RelayRan,
                format_args!("lease unavailable: {error:?}"),
            );
            false
        }
    }
}

/// Marks the outbox row after a delivery attempt made `attempts` publications in all.
pub async fn record_attempt(
    db: &Connection,
    event: &OrderPaid,
    result: &Result<Delivery, String>,
    retry_in_secs: i64,
) -> Result<(), ApiError> {
    let error = result.as_ref().err().cloned();
    db.execute(
        "UPDATE outbox SET attempts = attempts + 1,
             published_at = CASE WHEN $2::text IS NULL THEN (now() AT TIME ZONE 'utc') ELSE published_at END,
             last_error = $2::text,
             next_attempt_at = (now() AT TIME ZONE 'utc') + $3::bigint * interval '1 second'
         WHERE event_id = $1::text::uuid",
        &[
            commerce_runtime::rows::id(event.event_id),
            error.into(),
            retry_in_secs.into(),
        ],
    )
    .await
    .map(drop)
    .map_err(runtime::db::query_error)
}

/// Records that checkout's own delivery failed: the payment statement counted and stamped
/// it, and the relay re-drives the event when it is due.
pub async fn record_failure(
    db: &Connection,
    event: &OrderPaid,
    error: &str,
) -> Result<(), ApiError> {
    db.execute(
        "UPDATE outbox SET published_at = NULL, last_error = $2::text
         WHERE event_id = $1::text::uuid",
        &[
            commerce_runtime::rows::id(event.event_id),
            commerce_runtime::rows::text(error),
        ],
    )
    .await
    .map(drop)
    .map_err(runtime::db::query_error)
}
