//! The payment-provider interface: one JSON call, `POST {payment_provider_url}/charges`.
//!
//! The provider must be idempotent per `order_id` (sent also as `Idempotency-Key`): a
//! repeated call for an order returns the first result and never charges twice. Any
//! provider speaking this protocol can be configured by URL; `payments-test` ships
//! with the app for development and tests.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Path of the charge endpoint under the provider URL.
pub const CHARGES_PATH: &str = "/charges";

/// Test cards understood by `payments-test`.
pub const TEST_CARD_SUCCESS: &str = "4242424242424242";
pub const TEST_CARD_DECLINED: &str = "4000000000000002";
pub const TEST_CARD_PROVIDER_ERROR: &str = "4000000000000119";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRequest {
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    pub card_number: platform::Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Declined,
}

/// Body of a `200` from the provider. Provider failures are `5xx` answers instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeResponse {
    pub status: ChargeStatus,
    /// The provider's id of the charge, stored with the payment.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
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
    fn card_numbers_are_digits_only() {
        assert_eq!(
            normalise_card_number("4242 4242 4242 4242").as_deref(),
            Some(TEST_CARD_SUCCESS)
        );
        assert_eq!(normalise_card_number("4242-4242"), None);
        assert_eq!(normalise_card_number("12345"), None);
    }

    #[test]
    fn response_json_matches_the_protocol() {
        let response = ChargeResponse {
            status: ChargeStatus::Declined,
            reference: "pt_1".into(),
            decline_code: Some("card_declined".into()),
        };
        let json = serde_json::to_value(&response).expect("json");
        assert_eq!(json["status"], "declined");
        assert_eq!(json["decline_code"], "card_declined");
    }
}
