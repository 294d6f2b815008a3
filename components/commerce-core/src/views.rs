//! Request and response bodies of the commerce API, and its problem types.

use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Money, OrderStatus};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub course_id: Uuid,
    pub slug: String,
    pub title: String,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartView {
    pub items: Vec<CartLine>,
    pub total: Money,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub card_number: platform::Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub course_id: Uuid,
    pub title: String,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: Uuid,
    pub status: OrderStatus,
    pub items: Vec<OrderLineView>,
    pub total: Money,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutResponse {
    pub order: OrderView,
    /// Where the client polls until the order is `enrolled`.
    pub poll: String,
}

impl CheckoutResponse {
    pub fn new(order: OrderView) -> Self {
        let poll = order_path(order.id);
        Self { order, poll }
    }
}

pub fn order_path(order_id: Uuid) -> String {
    format!("/api/orders/{order_id}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentView {
    pub course_id: Uuid,
    pub slug: String,
    pub title: String,
    pub enrolled_at: String,
    pub order_id: Uuid,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayReport {
    pub republished: u32,
    pub dead_lettered: u32,
    pub enrolled_directly: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    /// `enrollment-worker` (a message it could not apply) or `outbox` (given up re-driving).
    pub source: String,
    pub payload: String,
    pub reason: String,
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// Problem types of the commerce API (each documented in `openapi.json`).
pub mod problems {
    use super::*;

    pub fn cart_full() -> ApiError {
        ApiError::Unprocessable {
            kind: "cart-full",
            detail: crate::cart::CartError::Full.to_string(),
        }
    }

    pub fn course_unavailable(course_id: Uuid) -> ApiError {
        ApiError::Unprocessable {
            kind: "course-unavailable",
            detail: format!("course {course_id} is not on sale"),
        }
    }

    pub fn course_already_owned(course_id: Uuid) -> ApiError {
        ApiError::Conflict {
            kind: "course-already-owned",
            detail: format!("you are already enrolled in course {course_id}"),
        }
    }

    /// The cart's home region is down and the browser holds no copy of the cart: saying
    /// "empty" would be wrong, and the cart comes back with its region.
    pub fn cart_unavailable(home: &str) -> ApiError {
        ApiError::Unavailable {
            kind: "cart-unavailable",
            detail: format!(
                "your cart is kept in region {home}, which is not answering; try again shortly"
            ),
            retry_after_secs: 5,
        }
    }

    pub fn cart_empty() -> ApiError {
        ApiError::Unprocessable {
            kind: "cart-empty",
            detail: "the cart is empty".into(),
        }
    }

    pub fn mixed_currencies() -> ApiError {
        ApiError::Unprocessable {
            kind: "mixed-currencies",
            detail: "a cart can only be checked out in one currency".into(),
        }
    }

    pub fn idempotency_key_reused() -> ApiError {
        ApiError::Unprocessable {
            kind: "idempotency-key-reused",
            detail: "this Idempotency-Key was used with a different request body".into(),
        }
    }

    pub fn payment_declined(order_id: Uuid) -> ApiError {
        ApiError::PaymentRequired {
            kind: "payment-declined",
            detail: format!("the card was declined; order {order_id} is payment_failed"),
        }
    }

    pub fn checkout_in_progress() -> ApiError {
        ApiError::Conflict {
            kind: "checkout-in-progress",
            detail: "a checkout with this Idempotency-Key is still running; retry shortly".into(),
        }
    }

    pub fn payment_provider_unavailable(cause: impl std::fmt::Display) -> ApiError {
        ApiError::service_unavailable(
            "the payment provider is unavailable; retry with the same Idempotency-Key",
            5,
            cause,
        )
    }

    pub fn invalid_card() -> ApiError {
        ApiError::invalid("card_number", "must be 12 to 19 digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_answer_tells_where_to_poll() {
        let id = Uuid::now_v7();
        let response = CheckoutResponse::new(OrderView {
            id,
            status: OrderStatus::Paid,
            items: vec![],
            total: Money::zero("USD"),
            created_at: "2026-01-01T00:00:00Z".into(),
        });
        assert_eq!(response.poll, format!("/api/orders/{id}"));
        let json = serde_json::to_value(&response).expect("json");
        assert_eq!(json["order"]["status"], "paid");
        assert_eq!(json["order"]["total"]["amount_cents"], 0);
    }

    #[test]
    fn declined_payment_is_a_402_with_its_own_type() {
        let error = problems::payment_declined(Uuid::now_v7());
        assert_eq!(error.status(), 402);
        assert_eq!(error.problem_type(), "/problems/payment-declined");
        assert_eq!(
            problems::idempotency_key_reused().problem_type(),
            "/problems/idempotency-key-reused"
        );
    }

    #[test]
    fn checkout_body_refuses_unknown_fields() {
        assert!(serde_json::from_str::<CheckoutRequest>(r#"{"card_number":"1","x":1}"#).is_err());
    }
}
