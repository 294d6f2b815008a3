//! The geo-router, Spin HTTP middleware composed in front of every public component: each
//! request is attributed to a client location and served by the right region (nearest
//! healthy, primary for writes, cart home for carts), with gateway duties on the way out.
//! A request served here reaches the component with its body untouched; only a request
//! for another region is buffered and forwarded there over HTTP.
//!
//! Decisions live in `geo-router-core`; this crate only performs the I/O they need.

mod config;
mod db;
mod local;
mod next;
mod outcome;
mod rate_limit;
mod remote;
mod reply;
mod status;

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use platform::ApiError;
use platform::log::{Event, Fields, Logger};
use spin_sdk::http::IntoResponse;
use spin_sdk::key_value::Store;
use spin_sdk::wasip3::http::types::{ErrorCode, Request, Response};

use config::Config;
use geo_router_core::client::{self, ClientAddress, Location, LocationSource};
use geo_router_core::gateway::{self, Cors};
use geo_router_core::health::Status;
use geo_router_core::hop::{self, Hop};
use geo_router_core::iptable::IpTable;
use geo_router_core::rate_limit::Verdict;
use geo_router_core::routing::{self, CART_HOME_COOKIE, Plan, Reason, RouteClass, SESSION_COOKIE};
use next::Head;
use outcome::Outcome;

/// Key-value store for the health table (key `geo-router:health`), written only when a
/// region's health changes; `default` needs no runtime config. Each component the router
/// is composed in front of lists it (middleware uses its component's stores).
const STORE: &str = "default";

/// The name of the router's lines in the one log format.
const COMPONENT: &str = "geo-router";

struct Router;

spin_sdk::wasip3::http::service::export!(Router);

impl spin_sdk::wasip3::exports::http::handler::Guest for Router {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let started = Instant::now();
        let head = Head::of(&request)?;
        let request_id = gateway::request_id(&head.headers);
        let config = match config::get().await {
            Ok(config) => config,
            Err(error) => {
                let fields = Fields::new()
                    .text("method", &head.method)
                    .text("path", head.path())
                    .count("status", error.status().as_u16().into())
                    .error(&error);
                Logger::with_request_id(COMPONENT, Some(&request_id)).log(Event::Request, fields);
                return error.into_response().into_response();
            }
        };
        let incoming = Incoming::new(config, head, request_id, started);
        let outcome = route(config, &incoming, request).await;
        reply::finish(config, &incoming, outcome)
    }
}

/// The request as seen by the router, once.
pub struct Incoming {
    head: Head,
    request_id: String,
    /// Every line about this request, the `request` line among them.
    logger: Logger,
    hop: Hop,
    client_ip: Option<IpAddr>,
    location: Location,
    /// When the router got the request: its `server-timing` and log line durations.
    started: Instant,
}

impl Incoming {
    fn new(config: &Config, head: Head, request_id: String, started: Instant) -> Self {
        let logger = Logger::with_request_id(COMPONENT, Some(&request_id));
        let hop = hop::hop(&head.headers, config.local(), config.hop_secret.as_ref());
        let policy = &config.settings.client_policy;
        // A hop's own peer is the forwarding router: the client is who that router says it
        // is, believed only because the hop carried the secret.
        let address = match &hop {
            Hop::From { client, .. } => ClientAddress {
                ip: *client,
                via_trusted_edge: false,
            },
            _ => client::client_address(&head.headers, policy),
        };
        let location = match IpTable::embedded() {
            Ok(table) => client::locate(&head.headers, policy, address, &table),
            Err(error) => {
                logger.error(Event::Degraded, format_args!("IP table: {error}"));
                Location {
                    country: None,
                    coordinates: None,
                    source: LocationSource::Unknown,
                }
            }
        };
        Self {
            head,
            request_id,
            logger,
            hop,
            client_ip: address.ip,
            location,
            started,
        }
    }
}

async fn route(config: &Config, incoming: &Incoming, request: Request) -> Outcome {
    let head = &incoming.head;
    let class = routing::classify(&head.method, head.path());
    if Cors::is_preflight(&head.method, &head.headers) {
        let reply = platform::response::empty(StatusCode::NO_CONTENT);
        return Outcome::local(reply, class);
    }
    match &incoming.hop {
        Hop::Loop(path) => {
            let error = ApiError::LoopDetected(format!(
                "request already routed through {path}; a request may cross at most one region"
            ));
            return Outcome::problem(error, class);
        }
        Hop::Forged => {
            let error = ApiError::Forbidden("forwarded request without a valid hop secret".into());
            return Outcome::problem(error, class);
        }
        // The entry region counted it.
        Hop::From { .. } => {}
        Hop::Edge if class != RouteClass::Gateway => {
            if let Some(outcome) = rate_limited(config, incoming, class).await {
                return outcome;
            }
        }
        Hop::Edge => {}
    }
    if class == RouteClass::Gateway {
        let reply = if head.path() == "/alive" {
            status::alive(config)
        } else {
            let store = open_store(&incoming.logger).await;
            status::health(config, store.as_ref(), now_ms()).await
        };
        return Outcome::local(reply, class);
    }
    if let Hop::From { .. } = incoming.hop {
        let mut outcome = local::serve(config, incoming, request, class).await;
        outcome.reason = Reason::Hop;
        return outcome;
    }
    // Health only decides among other regions, and this region is always tried when it
    // comes first: most requests are served here without reading the health table.
    let plan = plan(config, incoming, class, |_| Status::Up);
    if plan
        .regions
        .first()
        .is_some_and(|first| first.name == config.local())
    {
        let mut outcome = local::serve(config, incoming, request, class).await;
        outcome.reason = plan.reason;
        return outcome;
    }
    remote::serve(config, incoming, request, class).await
}

/// The regions to try, in order, given each region's health.
fn plan<'c>(
    config: &'c Config,
    incoming: &Incoming,
    class: RouteClass,
    status: impl Fn(&str) -> Status,
) -> Plan<'c> {
    let headers = &incoming.head.headers;
    let cart_home = gateway::cookie(headers, CART_HOME_COOKIE);
    // Read only where it can change the placement: most regions share their sessions.
    let sessions_regional = config.settings.sessions_regional;
    let ties = routing::Ties {
        signed_in: sessions_regional && gateway::cookie(headers, SESSION_COOKIE).is_some(),
        sessions_regional,
        cart_homed: cart_home
            .as_deref()
            .is_some_and(|home| config.topology.region(home).is_some()),
    };
    routing::plan(
        &config.topology,
        routing::placement(class, &incoming.head.method, ties),
        incoming.location.coordinates,
        cart_home.as_deref(),
        status,
    )
}

/// Counts the request against its client's limit; `Some` is the 429 to answer.
async fn rate_limited(config: &Config, incoming: &Incoming, class: RouteClass) -> Option<Outcome> {
    let verdict = rate_limit::count(
        &config.regional_redis_url,
        incoming.client_ip,
        config.settings.rate_limit,
        now_ms(),
    )
    .await;
    match verdict {
        Ok(Verdict::Allowed) => None,
        Ok(Verdict::Limited { retry_after_secs }) => Some(Outcome::problem(
            ApiError::TooManyRequests { retry_after_secs },
            class,
        )),
        Err(error) => {
            let cause = format_args!("rate limit not counted, request let through: {error}");
            incoming.logger.error(Event::Degraded, cause);
            None
        }
    }
}

/// The key-value store, opened only by the requests that need it.
async fn open_store(logger: &Logger) -> Option<Store> {
    match Store::open(STORE).await {
        Ok(store) => Some(store),
        Err(error) => {
            let cause = format_args!("key-value store {STORE} unavailable: {error:?}");
            logger.error(Event::Degraded, cause);
            None
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
