//! A finished checkout's answer: stored with the key, sent, and replayed byte for byte.

use commerce_core::views::{CheckoutResponse, OrderView, problems};
use http::{HeaderValue, StatusCode, header};
use platform::{ApiError, HttpResponse, response};
use uuid::Uuid;

/// A finished checkout's answer, stored with the key and replayed byte for byte.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn respond(self, replayed: bool) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = if status.is_success() {
            response::JSON
        } else {
            platform::problem::PROBLEM_JSON
        };
        let location = serde_json::from_str::<CheckoutResponse>(&self.body)
            .ok()
            .map(|answer| answer.poll);
        let mut response = response::bytes(status, content_type, self.body);
        let headers = response.headers_mut();
        if let Some(location) = location.and_then(|value| HeaderValue::from_str(&value).ok()) {
            headers.insert(header::LOCATION, location);
        }
        if replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

pub fn success(order: OrderView) -> Result<Answer, ApiError> {
    let body = serde_json::to_string(&CheckoutResponse::new(order)).map_err(ApiError::internal)?;
    Ok(Answer { status: 201, body })
}

pub fn declined(order_id: Uuid) -> Result<Answer, ApiError> {
    let error = problems::payment_declined(order_id);
    let status = error.status().as_u16();
    let body = platform::response::body_bytes(error.into_response());
    let body = String::from_utf8(body.to_vec()).map_err(ApiError::internal)?;
    Ok(Answer { status, body })
}
