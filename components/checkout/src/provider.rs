//! The payment-provider client (protocol in `commerce_core::payment`).

use bytes::Bytes;
use commerce_core::payment::{CHARGES_PATH, ChargeRequest, ChargeResponse};
use commerce_core::views::problems;
use http::header;
use platform::ApiError;
use spin_sdk::http::body::IncomingBodyExt;

/// Charges the order's total; any transport failure, non-200 answer or unreadable body is
/// "provider unavailable" (the order stays `pending_payment`, the client may retry).
pub async fn charge(base_url: &str, request: &ChargeRequest) -> Result<ChargeResponse, ApiError> {
    let body = serde_json::to_vec(request).map_err(ApiError::internal)?;
    let outgoing = http::Request::post(format!("{}{CHARGES_PATH}", base_url.trim_end_matches('/')))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", request.order_id.to_string())
        .body(http_body_util::Full::new(Bytes::from(body)))
        .map_err(ApiError::internal)?;
    let response = spin_sdk::http::send(outgoing).await.map_err(|error| {
        eprintln!("payment provider unreachable: {error:?}");
        problems::payment_provider_unavailable()
    })?;
    let status = response.status();
    let bytes = response.into_body().bytes().await.map_err(|error| {
        eprintln!("payment provider answer unreadable: {error:?}");
        problems::payment_provider_unavailable()
    })?;
    if status != http::StatusCode::OK {
        eprintln!("payment provider answered {status}");
        return Err(problems::payment_provider_unavailable());
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        eprintln!("payment provider answer is not a charge: {error}");
        problems::payment_provider_unavailable()
    })
}
