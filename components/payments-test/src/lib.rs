//! A test payment provider: exports `course-platform:payments/provider` (`wit/payments.wit`)
//! and is composed into `checkout` as a component dependency (`spin.toml`). It has no
//! trigger: nothing reaches it but checkout's calls.
//!
//! Cards: `4242424242424242` succeeds, `4000000000000002` is declined, `4000000000000119`
//! is a provider error (`unavailable`); any other number is declined. Outcomes are stored
//! per order id in the key-value store `payments_test`, so a repeated charge returns the
//! first outcome and never charges twice; errors are not stored, so a retry is a new
//! attempt. Checkout never charges one order concurrently (its idempotency claim), so a
//! read then a write is enough. `payments_test_latency_ms` delays every charge, to exercise
//! slow providers. Being composed with `inherit_configuration = true`, it reads checkout's
//! variables and stores.

use std::time::Duration;

use bindings::exports::course_platform::payments::provider as wit;
use commerce_core::payment::{ChargeError, ChargeOutcome, TestCardBehaviour};
use uuid::Uuid;

// The generated export glue (canonical-ABI entry points) is `unsafe`; nothing else is.
#[allow(unsafe_code)]
mod bindings {
    spin_sdk::wit_bindgen::generate!({
        // The file, not the folder: the package needs nothing else from `wit/`.
        path: "../../wit/payments.wit",
        world: "course-platform:payments/payment-provider",
        // One async runtime in the component: spin-sdk's.
        runtime_path: "::spin_sdk::wit_bindgen::rt",
    });

    use super::PaymentsTest;
    export!(PaymentsTest with_types_in self);
}

const STORE: &str = "payments_test";

struct PaymentsTest;

impl wit::Guest for PaymentsTest {
    async fn charge(request: wit::ChargeRequest) -> Result<wit::ChargeOutcome, wit::ChargeError> {
        charge(&request.order_id, &request.card_number)
            .await
            .map(into_wit_outcome)
            .map_err(into_wit_error)
    }
}

async fn charge(order_id: &str, card_number: &str) -> Result<ChargeOutcome, ChargeError> {
    let latency_ms: u64 = runtime::vars::parsed_or("payments_test_latency_ms", 0).await;
    if latency_ms > 0 {
        spin_sdk::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let store = runtime::kv::open(STORE).await.map_err(unavailable)?;
    let key = format!("charge:{order_id}");
    if let Some(first) = runtime::kv::get_json::<ChargeOutcome>(&store, &key)
        .await
        .map_err(unavailable)?
    {
        return Ok(first);
    }
    let reference = format!("pt_{}", Uuid::now_v7().simple());
    let outcome = TestCardBehaviour::of(card_number).charge(reference)?;
    runtime::kv::set_json(&store, &key, &outcome)
        .await
        .map_err(unavailable)?;
    Ok(outcome)
}

/// The store failing is an outage of this provider: nothing was charged, retrying is safe.
fn unavailable(error: platform::ApiError) -> ChargeError {
    ChargeError::Unavailable(format!("payments-test store: {error}"))
}

fn into_wit_outcome(outcome: ChargeOutcome) -> wit::ChargeOutcome {
    match outcome {
        ChargeOutcome::Succeeded { reference } => {
            wit::ChargeOutcome::Succeeded(wit::SettledCharge { reference })
        }
        ChargeOutcome::Declined {
            reference,
            decline_code,
        } => wit::ChargeOutcome::Declined(wit::DeclinedCharge {
            reference,
            decline_code,
        }),
    }
}

fn into_wit_error(error: ChargeError) -> wit::ChargeError {
    match error {
        ChargeError::Unavailable(reason) => wit::ChargeError::Unavailable(reason),
        ChargeError::Rejected(reason) => wit::ChargeError::Rejected(reason),
    }
}
