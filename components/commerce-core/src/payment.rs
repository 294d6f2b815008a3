//! Charging an order: what checkout asks of the payment provider, what comes back, and what
//! the user sees of it.
//!
//! The provider is a component exporting `course-platform:payments/provider` (`wit/payments.wit`
//! at the repository root), composed into `checkout` as a Spin component dependency. These are
//! the native types both sides convert the interface's records to and from, so the rules live
//! here and are unit-tested natively. The provider must be idempotent per order: a repeated
//! charge for an order returns the first outcome and never charges twice.

use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Money;
use crate::views::problems;

/// Test cards understood by `payments-test`.
pub const TEST_CARD_SUCCESS: &str = "4242424242424242";
pub const TEST_CARD_DECLINED: &str = "4000000000000002";
pub const TEST_CARD_PROVIDER_ERROR: &str = "4000000000000119";

/// What `payments-test` answers every decline with.
pub const TEST_DECLINE_CODE: &str = "card_declined";

/// One charge of an order's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub order_id: Uuid,
    /// Minor units: the interface has no negative amounts.
    pub amount_cents: u64,
    pub currency: String,
    pub card_number: platform::Secret,
}

impl ChargeRequest {
    /// The charge of an order's total; a negative total is a bug, never charged.
    pub fn for_order(
        order_id: Uuid,
        total: &Money,
        card_number: platform::Secret,
    ) -> Result<Self, ApiError> {
        let amount_cents = u64::try_from(total.amount_cents).map_err(|_| {
            ApiError::internal(format!(
                "order {order_id} has a negative total {}",
                total.amount_cents
            ))
        })?;
        Ok(Self {
            order_id,
            amount_cents,
            currency: total.currency.clone(),
            card_number,
        })
    }
}

/// What the provider decided; final for the order. Providers that keep it to answer a
/// repeated charge (`payments-test` does, in key-value) store it as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChargeOutcome {
    Succeeded {
        /// The provider's id of the charge, recorded with the payment.
        reference: String,
    },
    Declined {
        reference: String,
        decline_code: String,
    },
}

/// The provider decided nothing and charged nothing; the order stays `pending_payment`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    /// Out of reach or failing for now: a retry may succeed.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (amount, currency, account): our bug or its
    /// configuration, which a retry does not fix.
    #[error("payment provider rejected the charge request: {0}")]
    Rejected(String),
}

impl From<ChargeError> for ApiError {
    /// `Unavailable` is the 503 users have always seen for a provider failure (retry with the
    /// same `Idempotency-Key`); `Rejected` is an internal error, logged and never shown.
    fn from(error: ChargeError) -> Self {
        match error {
            ChargeError::Unavailable(_) => problems::payment_provider_unavailable(error),
            ChargeError::Rejected(_) => ApiError::internal(error),
        }
    }
}

/// What `payments-test` does with a card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCardBehaviour {
    Succeed,
    Decline,
    ProviderError,
}

impl TestCardBehaviour {
    /// Documented cards behave as named; any other number is declined, like a real
    /// sandbox refuses unknown cards.
    pub fn of(card_number: &str) -> Self {
        match card_number {
            TEST_CARD_SUCCESS => Self::Succeed,
            TEST_CARD_PROVIDER_ERROR => Self::ProviderError,
            _ => Self::Decline,
        }
    }

    /// The answer to a charge with this card; `reference` names the attempt.
    pub fn charge(self, reference: String) -> Result<ChargeOutcome, ChargeError> {
        match self {
            Self::Succeed => Ok(ChargeOutcome::Succeeded { reference }),
            Self::Decline => Ok(ChargeOutcome::Declined {
                reference,
                decline_code: TEST_DECLINE_CODE.to_owned(),
            }),
            // Errors are logged: they name the behaviour, never the card number.
            Self::ProviderError => Err(ChargeError::Unavailable(
                "the provider-error test card always fails".into(),
            )),
        }
    }
}

/// Validates a card number's shape (12..=19 digits, spaces allowed) and returns the digits.
pub fn normalise_card_number(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| *c != ' ').collect();
    let valid = (12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_cards_behave_as_named() {
        assert_eq!(
            TestCardBehaviour::of(TEST_CARD_SUCCESS),
            TestCardBehaviour::Succeed
        );
        assert_eq!(
            TestCardBehaviour::of(TEST_CARD_DECLINED),
            TestCardBehaviour::Decline
        );
        assert_eq!(
            TestCardBehaviour::of(TEST_CARD_PROVIDER_ERROR),
            TestCardBehaviour::ProviderError
        );
        assert_eq!(
            TestCardBehaviour::of("5555555555554444"),
            TestCardBehaviour::Decline
        );
    }

    #[test]
    fn test_cards_pay_decline_or_fail_for_now() {
        assert_eq!(
            TestCardBehaviour::Succeed.charge("pt_1".into()),
            Ok(ChargeOutcome::Succeeded {
                reference: "pt_1".into()
            })
        );
        assert_eq!(
            TestCardBehaviour::Decline.charge("pt_2".into()),
            Ok(ChargeOutcome::Declined {
                reference: "pt_2".into(),
                decline_code: TEST_DECLINE_CODE.into()
            })
        );
        assert!(matches!(
            TestCardBehaviour::ProviderError.charge("pt_3".into()),
            Err(ChargeError::Unavailable(_))
        ));
    }

    #[test]
    fn card_numbers_are_digits_only() {
        assert_eq!(
            normalise_card_number("4242 4242 4242 4242").as_deref(),
            Some(TEST_CARD_SUCCESS)
        );
        assert_eq!(normalise_card_number("4242-4242"), None);
        assert_eq!(normalise_card_number("12345"), None);
    }

    #[test]
    fn an_order_is_charged_its_total() {
        let order_id = Uuid::now_v7();
        let card = platform::Secret::new(TEST_CARD_SUCCESS);
        let charge = ChargeRequest::for_order(order_id, &Money::new(6998, "USD"), card.clone())
            .expect("a positive total");
        assert_eq!(charge.amount_cents, 6998);
        assert_eq!(charge.currency, "USD");
        assert_eq!(charge.order_id, order_id);
        let negative = ChargeRequest::for_order(order_id, &Money::new(-1, "USD"), card);
        assert_eq!(negative.map_err(|error| error.status().as_u16()), Err(500));
    }

    #[test]
    fn an_unavailable_provider_is_a_retryable_503_and_a_rejected_request_a_500() {
        let unavailable = ApiError::from(ChargeError::Unavailable("timeout".into()));
        assert_eq!(unavailable.status(), 503);
        assert_eq!(unavailable.problem_type(), "/problems/service-unavailable");
        assert_eq!(
            unavailable.into_response().headers()["retry-after"],
            "5",
            "the client is told when to retry"
        );
        let rejected = ApiError::from(ChargeError::Rejected("currency XXX".into()));
        assert_eq!(rejected.status(), 500);
    }

    #[test]
    fn stored_outcomes_keep_the_json_payments_test_has_always_written() {
        let declined = ChargeOutcome::Declined {
            reference: "pt_1".into(),
            decline_code: TEST_DECLINE_CODE.into(),
        };
        let json = serde_json::to_value(&declined).expect("json");
        assert_eq!(
            json,
            serde_json::json!({ "status": "declined", "reference": "pt_1", "decline_code": "card_declined" })
        );
        let stored: ChargeOutcome =
            serde_json::from_str(r#"{"status":"succeeded","reference":"pt_2"}"#).expect("parse");
        assert_eq!(
            stored,
            ChargeOutcome::Succeeded {
                reference: "pt_2".into()
            }
        );
    }
}
