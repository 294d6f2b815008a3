//! A test payment provider, reachable only from inside the app
//! (`http://payments-test.spin.internal/charges`, `route = { private = true }`).
//!
//! Cards: `4242424242424242` succeeds, `4000000000000002` is declined, `4000000000000119`
//! fails with a 502 (provider error); any other number is declined. Results are stored
//! per order id in the key-value store `payments_test`, so a repeated charge returns the
//! first result and never charges twice. `payments_test_latency_ms` delays every answer,
//! to exercise slow providers.

use std::time::Duration;

use commerce_core::payment::{ChargeRequest, ChargeResponse, ChargeStatus, TestCardBehaviour};
use commerce_core::routes::{PAYMENTS_TEST_ROUTES, PaymentsTestEndpoint};
use platform::{ApiError, HttpResponse, response, routing};
use spin_sdk::http::Request;
use spin_sdk::http::body::IncomingBodyExt;
use uuid::Uuid;

const STORE: &str = "payments_test";

#[spin_sdk::http_service]
async fn handle(request: Request) -> HttpResponse {
    serve(request).await.unwrap_or_else(ApiError::into_response)
}

async fn serve(request: Request) -> Result<HttpResponse, ApiError> {
    let (parts, body) = request.into_parts();
    let (PaymentsTestEndpoint::Charge, _) =
        routing::resolve(PAYMENTS_TEST_ROUTES, &parts.method, parts.uri.path())?;
    let body = body
        .bytes()
        .await
        .map_err(|_| ApiError::bad_request("could not read the request body"))?;
    let charge: ChargeRequest =
        platform::request::json_body(&parts.headers, &body, platform::request::MAX_JSON_BODY)?;
    let latency_ms: u64 = runtime::vars::parsed_or("payments_test_latency_ms", 0).await;
    if latency_ms > 0 {
        spin_sdk::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let store = runtime::kv::open(STORE).await?;
    let key = format!("charge:{}", charge.order_id);
    if let Some(first) = runtime::kv::get_json::<ChargeResponse>(&store, &key).await? {
        return Ok(response::ok(&first));
    }
    let result = match TestCardBehaviour::of(charge.card_number.expose()) {
        TestCardBehaviour::ProviderError => {
            // Not stored: a provider error is transient, a retry may succeed.
            return Ok(response::json(
                http::StatusCode::BAD_GATEWAY,
                &serde_json::json!({ "error": "test provider error" }),
            ));
        }
        TestCardBehaviour::Succeed => ChargeResponse {
            status: ChargeStatus::Succeeded,
            reference: format!("pt_{}", Uuid::now_v7().simple()),
            decline_code: None,
        },
        TestCardBehaviour::Decline => ChargeResponse {
            status: ChargeStatus::Declined,
            reference: format!("pt_{}", Uuid::now_v7().simple()),
            decline_code: Some("card_declined".into()),
        },
    };
    runtime::kv::set_json(&store, &key, &result).await?;
    Ok(response::ok(&result))
}
