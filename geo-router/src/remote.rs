//! Serving a request whose plan starts in another region: the body is buffered (so the
//! request can be sent again to the next region), sent over HTTP as a hop, and the answer
//! passed back with its body untouched. The attempt state machine is
//! `geo_router_core::attempts`; this module performs its steps.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::{Either, select};
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::Full;
use platform::ApiError;
use platform::log::{Event, Logger};
use spin_sdk::http::{FromRequest, IntoRequest};
use spin_sdk::key_value::Store;
use spin_sdk::wasip3::http::types::{ErrorCode, Request, Response};

use crate::config::Config;
use crate::outcome::{Outcome, Reply};
use crate::{Incoming, local, millis, now_ms, open_store};
use geo_router_core::attempts::{Attempts, Step, is_gateway_failure};
use geo_router_core::client;
use geo_router_core::gateway::{REQUEST_ID, Timing};
use geo_router_core::health::{HEALTH_KEY, HealthTable};
use geo_router_core::hop;
use geo_router_core::routing::{Delivery, RouteClass, is_internal_header};

/// Requests are buffered so a failed attempt can be retried elsewhere; API bodies are small.
const MAX_BODY: usize = 1024 * 1024;
/// Probes of a region coming out of its cool-down must be quick.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// Tries the regions of the plan in order (re-made with the stored health table): the
/// first, and the next only when a retry is safe.
pub async fn serve(
    config: &Config,
    incoming: &Incoming,
    request: Request,
    class: RouteClass,
) -> Outcome {
    let head = &incoming.head;
    let body = match buffer(request, &head.headers).await {
        Ok(body) => body,
        Err(error) => return Outcome::problem(error, class),
    };
    let now = now_ms();
    let store = open_store(&incoming.logger).await;
    let table = match &store {
        Some(store) => {
            HealthTable::from_stored(store.get(HEALTH_KEY).await.ok().flatten().as_deref())
        }
        None => HealthTable::default(),
    };
    let plan = crate::plan(config, incoming, class, |name| table.status(name, now));
    let mut attempts = Attempts::new(
        plan,
        config.local(),
        table,
        (&head.method, &head.headers),
        now,
        config.settings.health_cooldown_ms,
    );
    let mut timings = Vec::new();
    let outcome = loop {
        match attempts.next_step() {
            Step::ServeHere => {
                let mut outcome = match rebuild(incoming, body.clone()) {
                    Ok(request) => local::serve(config, incoming, request, class).await,
                    Err(error) => Outcome::problem(
                        ApiError::bad_request(format!("request could not be rebuilt: {error:?}")),
                        class,
                    ),
                };
                outcome.timings.splice(0..0, timings);
                outcome.error = join(attempts.errors(), outcome.error);
                break outcome;
            }
            Step::Probe(region) => {
                let started = Instant::now();
                let alive = send(
                    config,
                    incoming,
                    &region.origin,
                    Method::GET,
                    "/alive",
                    Bytes::new(),
                    PROBE_TIMEOUT,
                )
                .await
                .is_ok_and(|response| (200..300).contains(&response.get_status_code()));
                timings.push(Timing {
                    name: "probe",
                    millis: millis(started.elapsed()),
                    description: Some(region.name.clone()),
                });
                attempts.probed(region, alive);
            }
            Step::Forward(region) => {
                let started = Instant::now();
                let timeout = Duration::from_millis(config.settings.upstream_timeout_ms);
                let result = send(
                    config,
                    incoming,
                    &region.origin,
                    head.method.clone(),
                    &head.path_with_query,
                    body.clone(),
                    timeout,
                )
                .await;
                timings.push(Timing {
                    name: "upstream",
                    millis: millis(started.elapsed()),
                    description: Some(region.name.clone()),
                });
                match result {
                    Ok(response) if !is_gateway_failure(response.get_status_code()) => {
                        attempts.answered(region);
                        break Outcome {
                            reply: Reply::Passed(response),
                            class,
                            reason: attempts.reason(),
                            served_by: Some(region.name.clone()),
                            read_from: None,
                            attempts: 0,
                            timings: std::mem::take(&mut timings),
                            error: attempts.errors(),
                            set_cookies: Vec::new(),
                        };
                    }
                    Ok(response) => {
                        let status = response.get_status_code();
                        attempts.failed(region, Delivery::MaybeDelivered, status.to_string());
                    }
                    Err(failure) => attempts.failed(region, failure.delivery, failure.message),
                }
            }
            Step::GiveUp => {
                let errors = attempts.errors();
                let mut outcome = Outcome::problem(
                    ApiError::service_unavailable(
                        "the region serving this request did not answer; try again",
                        1,
                        errors.as_deref().unwrap_or_default(),
                    ),
                    class,
                );
                outcome.timings = std::mem::take(&mut timings);
                outcome.error = errors;
                break outcome;
            }
        }
    };
    save_health(&incoming.logger, store.as_ref(), attempts.changed_health()).await;
    Outcome {
        reason: attempts.reason(),
        attempts: attempts.sent(),
        ..outcome
    }
}

fn join(first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(first), Some(last)) => Some(format!("{first}; {last}")),
        (first, last) => first.or(last),
    }
}

/// The whole body, refused with 413 when larger than `MAX_BODY`.
async fn buffer(request: Request, headers: &HeaderMap) -> Result<Bytes, ApiError> {
    let request = spin_sdk::http::Request::from_request(request)
        .map_err(|error| ApiError::bad_request(format!("unreadable request: {error:?}")))?;
    platform::request::read_body(headers, request.into_body(), MAX_BODY).await
}

/// The client's request again, from its buffered body, for this region's component
/// (which gets its headers from `local::serve`, as any request served here).
fn rebuild(incoming: &Incoming, body: Bytes) -> Result<Request, ErrorCode> {
    let head = &incoming.head;
    http::Request::builder()
        .method(head.method.clone())
        .uri(head.path_with_query.as_str())
        .body(Full::new(body))
        .map_err(|error| ErrorCode::InternalError(Some(error.to_string())))?
        .into_request()
}

async fn save_health(logger: &Logger, store: Option<&Store>, changed: Option<&HealthTable>) {
    if let (Some(store), Some(table)) = (store, changed)
        && let Err(error) = store.set(HEALTH_KEY, table.to_bytes()).await
    {
        logger.error(
            Event::Degraded,
            format_args!("health table not stored: {error:?}"),
        );
    }
}

/// Why a request got no response, and whether it may have arrived.
struct Failure {
    delivery: Delivery,
    message: String,
}

/// Sends the request to another region's router as a hop: the client's headers without
/// internal ones, plus the hop headers; `Err` on transport failure or timeout.
async fn send(
    config: &Config,
    incoming: &Incoming,
    origin: &str,
    method: Method,
    path_with_query: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<Response, Failure> {
    let not_sent = |message: String| Failure {
        delivery: Delivery::NotSent,
        message,
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{origin}{path_with_query}"));
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in &incoming.head.headers {
            if !is_internal_header(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        for (name, value) in hop_headers(config, incoming) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|error| not_sent(format!("building request: {error}")))?
        .into_request()
        .map_err(|error| not_sent(format!("building request: {error:?}")))?;
    let sending = Box::pin(spin_sdk::wasip3::http::client::send(request));
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

/// The hop headers, the request id, and the client appended to `x-forwarded-for`.
fn hop_headers(config: &Config, incoming: &Incoming) -> Vec<(&'static str, String)> {
    let mut headers = hop::forward_headers(
        config.local(),
        config.hop_secret.as_ref(),
        incoming.client_ip,
    );
    headers.push((REQUEST_ID, incoming.request_id.clone()));
    if let Some(client) = incoming.client_ip {
        let previous = incoming
            .head
            .headers
            .get_all(client::X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let value = if previous.is_empty() {
            client.to_string()
        } else {
            format!("{previous}, {client}")
        };
        headers.push((client::X_FORWARDED_FOR, value));
    }
    headers
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
