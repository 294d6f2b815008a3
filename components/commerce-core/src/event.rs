//! The `order.paid` event: published on Redis after payment, kept in the outbox until an
//! enrollment has been recorded for its `event_id`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Redis channel the enrollment worker subscribes to.
pub const ORDER_PAID_CHANNEL: &str = "orders.paid";
pub const ORDER_PAID_TYPE: &str = "order.paid";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPaid {
    /// Always [`ORDER_PAID_TYPE`]; lets one channel carry more event types later.
    #[serde(rename = "type")]
    pub kind: String,
    /// UUIDv7: unique per event, and the deduplication key of the worker.
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub course_ids: Vec<Uuid>,
    /// RFC 3339 UTC time of the payment.
    pub occurred_at: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("payload is not an order.paid event: {0}")]
    Malformed(String),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
}

impl OrderPaid {
    pub fn new(
        event_id: Uuid,
        order_id: Uuid,
        user_id: Uuid,
        course_ids: Vec<Uuid>,
        occurred_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            kind: ORDER_PAID_TYPE.to_owned(),
            event_id,
            order_id,
            user_id,
            course_ids,
            occurred_at: occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }

    /// Parses a message from the channel; anything else is reported, never panicked on.
    pub fn parse(payload: &[u8]) -> Result<Self, EventError> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "type")]
            kind: String,
        }
        let envelope: Envelope = serde_json::from_slice(payload)
            .map_err(|error| EventError::Malformed(error.to_string()))?;
        if envelope.kind != ORDER_PAID_TYPE {
            return Err(EventError::UnknownType(envelope.kind));
        }
        let event: OrderPaid = serde_json::from_slice(payload)
            .map_err(|error| EventError::Malformed(error.to_string()))?;
        chrono::DateTime::parse_from_rfc3339(&event.occurred_at)
            .map_err(|error| EventError::Malformed(format!("occurred_at: {error}")))?;
        Ok(event)
    }

    pub fn to_json(&self) -> String {
        // Ids, strings and a list of ids always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> OrderPaid {
        OrderPaid::new(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            vec![Uuid::now_v7()],
            chrono::Utc::now(),
        )
    }

    #[test]
    fn round_trips_through_json() {
        let event = event();
        assert_eq!(OrderPaid::parse(event.to_json().as_bytes()), Ok(event));
    }

    #[test]
    fn event_ids_are_uuid_v7() {
        assert_eq!(event().event_id.get_version_num(), 7);
    }

    #[test]
    fn reports_garbage_and_foreign_types() {
        assert!(matches!(
            OrderPaid::parse(b"\xff\x00"),
            Err(EventError::Malformed(_))
        ));
        assert!(matches!(
            OrderPaid::parse(br#"{"type":"order.refunded"}"#),
            Err(EventError::UnknownType(kind)) if kind == "order.refunded"
        ));
        assert!(matches!(
            OrderPaid::parse(br#"{"type":"order.paid","event_id":"nope"}"#),
            Err(EventError::Malformed(_))
        ));
    }

    #[test]
    fn refuses_a_bad_timestamp() {
        let mut event = event();
        event.occurred_at = "yesterday".into();
        assert!(matches!(
            OrderPaid::parse(event.to_json().as_bytes()),
            Err(EventError::Malformed(_))
        ));
    }
}
