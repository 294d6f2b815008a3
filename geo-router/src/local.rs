//! Serving a request in this region: the component the router is composed in front of
//! gets the client's request, body stream untouched, with the router's headers instead of
//! any the client sent.

use std::time::Instant;

use http::{HeaderMap, HeaderValue};
use platform::ApiError;
use platform::log::Event;
use spin_sdk::wasip3::http::types::{Request, Response};

use crate::config::Config;
use crate::db;
use crate::next;
use crate::outcome::{Outcome, Reply};
use crate::{Incoming, millis, reply};
use geo_router_core::consistency::{self, Check, READ_FROM_HEADER, ReadFrom};
use geo_router_core::gateway::{self, REQUEST_ID, Timing};
use geo_router_core::routing::{self, CART_HOME_COOKIE, RouteClass};

const CART_HOME_MAX_AGE_SECS: u32 = 30 * 24 * 3600;

/// Hands `request` to the component and reports how it went.
pub async fn serve(
    config: &Config,
    incoming: &Incoming,
    request: Request,
    class: RouteClass,
) -> Outcome {
    let head = &incoming.head;
    let mut timings = Vec::new();
    let mut set_cookies = Vec::new();
    let read_from = read_from(config, incoming, &mut timings, &mut set_cookies).await;
    let cart_home = gateway::cookie(&head.headers, CART_HOME_COOKIE);
    let cart_home = cart_home.as_deref();
    let mut headers = component_headers(config, incoming, class, read_from, cart_home);
    // Only an answer may add a cookie (a cart's new home, a write's consistency token): the
    // component sets the router's headers on any other, which then passes back untouched.
    let homes_cart = routing::homes_cart(class, &head.method, cart_home, config.local());
    let hands_over = set_cookies.is_empty()
        && !homes_cart
        && !consistency::sets_token(&head.method, head.path());
    if hands_over
        && let Some(value) =
            gateway::encode(&reply::handed_over(config, incoming, read_from, &timings))
    {
        headers.insert(gateway::RESPONSE_HEADERS, value);
    }
    let started = Instant::now();
    let result = match next::with_headers(request, head, &headers) {
        Ok(request) => next::handle(request).await,
        Err(error) => Err(error),
    };
    timings.push(Timing {
        name: "component",
        millis: millis(started.elapsed()),
        description: None,
    });
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            let cause = format!("component: {error:?}");
            let mut outcome = Outcome::problem(
                ApiError::service_unavailable(
                    "this region's service did not answer; try again",
                    1,
                    &cause,
                ),
                class,
            );
            outcome.error = Some(cause);
            outcome.timings = timings;
            return outcome;
        }
    };
    let local = config.local();
    let reply = if hands_over && carries_gateway_headers(&response) {
        Reply::Complete(response)
    } else {
        let succeeded = (200..300).contains(&response.get_status_code());
        if succeeded && consistency::sets_token(&head.method, head.path()) {
            let started = Instant::now();
            match db::primary_position(&config.database_url).await {
                Ok(position) => set_cookies.push(consistency::token_cookie(position, local)),
                Err(error) => incoming.logger.error(
                    Event::Degraded,
                    format_args!("no consistency token: primary WAL position unknown: {error}"),
                ),
            }
            timings.push(Timing {
                name: "wal-position",
                millis: millis(started.elapsed()),
                description: None,
            });
        }
        if homes_cart && succeeded {
            set_cookies.push(format!(
                "{CART_HOME_COOKIE}={local}; Path=/; Max-Age={CART_HOME_MAX_AGE_SECS}; HttpOnly; SameSite=Lax"
            ));
        }
        Reply::Passed(response)
    };
    Outcome {
        reply,
        class,
        reason: routing::Reason::Local,
        served_by: Some(local.to_owned()),
        read_from: Some(read_from),
        attempts: 1,
        timings,
        error: None,
        set_cookies,
    }
}

/// Whether the component set the headers it was handed (`platform::response::finish` does;
/// an answer made otherwise, a static page say, gets them from the router).
fn carries_gateway_headers(response: &Response) -> bool {
    response.get_headers().has(gateway::SERVED_BY)
}

/// Primary or replica: writes and reads that must see the client's own catalog write go
/// to the primary; a read covered by a token asks the replica how far it has replayed.
async fn read_from(
    config: &Config,
    incoming: &Incoming,
    timings: &mut Vec<Timing>,
    set_cookies: &mut Vec<String>,
) -> ReadFrom {
    let head = &incoming.head;
    if routing::writes_primary(&head.method, head.path()) {
        return ReadFrom::Primary;
    }
    if !consistency::covers(&head.method, head.path()) {
        return ReadFrom::Replica;
    }
    let token = consistency::token(&head.headers);
    let has_replica = !config.replica_database_url.is_empty();
    match consistency::check(token.as_ref(), config.local(), has_replica) {
        Check::AnyCopy => ReadFrom::Replica,
        Check::Primary => ReadFrom::Primary,
        Check::ReplicaPosition(written) => {
            let started = Instant::now();
            let replayed = db::replica_position(&config.replica_database_url)
                .await
                .unwrap_or_else(|error| {
                    let cause = format_args!("replica position unknown: {error}");
                    incoming.logger.error(Event::ReplicaSkipped, cause);
                    None
                });
            timings.push(Timing {
                name: "replica-check",
                millis: millis(started.elapsed()),
                description: None,
            });
            let choice = consistency::choose_read(written, replayed);
            if choice == ReadFrom::Replica {
                set_cookies.push(consistency::clear_token_cookie());
            }
            choice
        }
    }
}

/// The client's headers without any the router alone may set (or the connection's),
/// then the router's own.
fn component_headers(
    config: &Config,
    incoming: &Incoming,
    class: RouteClass,
    read_from: ReadFrom,
    cart_home: Option<&str>,
) -> HeaderMap {
    let head = &incoming.head;
    let mut headers = HeaderMap::with_capacity(head.headers.len() + 4);
    for (name, value) in &head.headers {
        if !routing::is_withheld_from_component(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(READ_FROM_HEADER, read_from.as_str());
    set(REQUEST_ID, &incoming.request_id);
    // Who the client is, as the router determined it (per-client sign-in throttling needs it).
    if let Some(client) = incoming.client_ip {
        set(platform::request::CLIENT_IP_HEADER, &client.to_string());
    }
    // Served here although the cart lives elsewhere: its home did not answer. The cart
    // component then recovers the cart from the browser's copy, or says it cannot.
    if class == RouteClass::Cart
        && let Some(home) = cart_home
            .filter(|home| *home != config.local())
            .and_then(|home| config.topology.region(home))
    {
        set(platform::request::CART_HOME_HEADER, &home.name);
    }
    headers
}
