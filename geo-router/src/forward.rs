//! Sending a buffered request to a local component or to another region, with a timeout.

use std::time::Duration;

use bytes::Bytes;
use futures::future::{Either, select};
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body_util::Full;
use spin_sdk::http::Response;
use spin_sdk::wasip3::http::types::ErrorCode;

use geo_router_core::routing::{Delivery, is_internal_header};

/// A request the router can send more than once (the body is buffered).
pub struct Outgoing {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Outgoing {
    /// Copies the client's request, dropping headers only a router may set.
    pub fn from_client(method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Self {
        let mut kept = HeaderMap::new();
        for (name, value) in headers {
            if !is_internal_header(name) {
                kept.append(name.clone(), value.clone());
            }
        }
        Self {
            method,
            path_and_query: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
            headers: kept,
            body,
        }
    }

    /// Sends to `base` (`http://catalog.spin.internal`, `https://eu.example.com`) with
    /// `extra` headers; `Err` on transport failure or timeout.
    pub async fn send(
        &self,
        base: &str,
        extra: &[(&'static str, String)],
        timeout: Duration,
    ) -> Result<Response, Failure> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(format!("{base}{}", self.path_and_query));
        if let Some(headers) = builder.headers_mut() {
            headers.extend(self.headers.clone());
            for (name, value) in extra {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.insert(*name, value);
                }
            }
        }
        let request = builder
            .body(Full::new(self.body.clone()))
            .map_err(|error| Failure {
                delivery: Delivery::NotSent,
                message: format!("building request: {error}"),
            })?;
        let sending = Box::pin(spin_sdk::http::send(request));
        let deadline = Box::pin(spin_sdk::time::sleep(timeout));
        match select(sending, deadline).await {
            Either::Left((Ok(response), _)) => Ok(response),
            Either::Left((Err(error), _)) => Err(Failure {
                delivery: delivery(&error),
                message: format!("{error:?}"),
            }),
            Either::Right(_) => Err(Failure {
                delivery: Delivery::MaybeDelivered,
                message: format!("no answer within {} ms", timeout.as_millis()),
            }),
        }
    }
}

/// Why a request got no response, and whether it may have arrived.
#[derive(Debug)]
pub struct Failure {
    pub delivery: Delivery,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// Errors raised before a connection could carry the request: name resolution, the
/// connection itself, the TLS handshake, or the runtime refusing the destination.
fn delivery(error: &ErrorCode) -> Delivery {
    match error {
        ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_)
        | ErrorCode::HttpRequestDenied => Delivery::NotSent,
        _ => Delivery::MaybeDelivered,
    }
}
