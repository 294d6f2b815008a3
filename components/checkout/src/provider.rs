//! The payment provider, imported as `course-platform:payments/provider` (`wit/payments.wit`).
//!
//! `spin.toml` composes the component that exports it into this one, so a charge is an
//! in-process component call; this module only converts between the interface's records
//! and `commerce_core::payment`.

use commerce_core::payment::{ChargeError, ChargeOutcome, ChargeRequest};

mod bindings {
    spin_sdk::wit_bindgen::generate!({
        // The file, not the folder: the package needs nothing else from `wit/`.
        path: "../../wit/payments.wit",
        world: "course-platform:payments/payment-client",
        // One async runtime in the component: spin-sdk's.
        runtime_path: "::spin_sdk::wit_bindgen::rt",
    });
}

use bindings::course_platform::payments::provider as wit;

/// Charges the order's total once (the provider is idempotent per order id).
pub async fn charge(request: &ChargeRequest) -> Result<ChargeOutcome, ChargeError> {
    let answer = wit::charge(wit::ChargeRequest {
        order_id: request.order_id.to_string(),
        amount_cents: request.amount_cents,
        currency: request.currency.clone(),
        card_number: request.card_number.expose().to_owned(),
    })
    .await;
    match answer {
        Ok(wit::ChargeOutcome::Succeeded(charge)) => Ok(ChargeOutcome::Succeeded {
            reference: charge.reference,
        }),
        Ok(wit::ChargeOutcome::Declined(charge)) => Ok(ChargeOutcome::Declined {
            reference: charge.reference,
            decline_code: charge.decline_code,
        }),
        Err(wit::ChargeError::Unavailable(reason)) => Err(ChargeError::Unavailable(reason)),
        Err(wit::ChargeError::Rejected(reason)) => Err(ChargeError::Rejected(reason)),
    }
}
