//! The geo-router: every request enters here, is attributed to a client location, and is
//! served by the right region (nearest healthy, primary for writes, cart home for carts)
//! and the right local component, with gateway duties on the way out.
//!
//! Decisions live in `geo-router-core`; this crate only performs the I/O they need.

mod config;
mod db;
mod forward;
mod rate_limit;
mod status;

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::Either;
use platform::ApiError;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::key_value::Store;
use spin_sdk::wasip3::http_compat::IncomingResponseBody;

use config::Config;
use forward::Outgoing;
use geo_router_core::client::{self, ClientAddress, Location, LocationSource};
use geo_router_core::consistency::{self, Check, READ_FROM_HEADER, ReadFrom};
use geo_router_core::gateway::{self, Cors, LogLine, REQUEST_ID, SERVED_BY, SERVER_TIMING, Timing};
use geo_router_core::health::{HEALTH_KEY, HealthTable, Status};
use geo_router_core::hop::{self, Hop};
use geo_router_core::iptable::IpTable;
use geo_router_core::rate_limit::Verdict;
use geo_router_core::routing::{
    self, CART_HOME_COOKIE, Delivery, MAX_ATTEMPTS, Reason, RouteClass,
};

/// Key-value store for the health table (key `geo-router:health`), written only when a
/// region's health changes; `default` needs no runtime config. Give each region its own,
/// or share one across regions to share what routers learn about region health.
const STORE: &str = "default";
/// Requests are buffered so a failed attempt can be retried elsewhere; API bodies are small.
const MAX_BODY: usize = 1024 * 1024;
/// Probes of a region coming out of its cool-down must be quick.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);
const CART_HOME_MAX_AGE_SECS: u32 = 30 * 24 * 3600;

type Body = Either<platform::Body, IncomingResponseBody>;
type Reply = http::Response<Body>;

fn local_reply(response: platform::HttpResponse) -> Reply {
    response.map(Either::Left)
}

fn upstream_reply(response: spin_sdk::http::Response) -> Reply {
    response.map(Either::Right)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Everything the log line and response headers report about how a request was served.
struct Outcome {
    reply: Reply,
    class: RouteClass,
    reason: Reason,
    served_by: Option<String>,
    read_from: Option<ReadFrom>,
    attempts: u32,
    timings: Vec<Timing>,
    error: Option<String>,
    set_cookies: Vec<String>,
}

impl Outcome {
    fn local(reply: Reply, class: RouteClass) -> Self {
        Self {
            reply,
            class,
            reason: Reason::Local,
            served_by: None,
            read_from: None,
            attempts: 0,
            timings: Vec::new(),
            error: None,
            set_cookies: Vec::new(),
        }
    }

    fn problem(error: ApiError, class: RouteClass) -> Self {
        let message = error.to_string();
        let mut outcome = Self::local(local_reply(error.into_response()), class);
        outcome.error = Some(message);
        outcome
    }
}

/// The request as seen by the router, once.
struct Incoming {
    parts: http::request::Parts,
    request_id: String,
    hop: Hop,
    client_ip: Option<IpAddr>,
    location: Location,
}

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let request_id = gateway::request_id(&parts.headers);
    let config = match Config::load().await {
        Ok(config) => config,
        Err(error) => {
            eprintln!(
                "{{\"request_id\":\"{request_id}\",\"error\":{:?}}}",
                error.to_string()
            );
            return local_reply(error.into_response());
        }
    };
    let hop = hop::hop(
        &parts.headers,
        &config.topology.local().name,
        config.hop_secret.as_ref(),
    );
    // A hop's own peer is the forwarding router: the client is who that router says it is,
    // believed only because the hop carried the secret.
    let address = match &hop {
        Hop::From { client, .. } => ClientAddress {
            ip: *client,
            via_trusted_edge: false,
        },
        _ => client::client_address(&parts.headers, &config.client_policy),
    };
    let location = match IpTable::embedded() {
        Ok(table) => client::locate(&parts.headers, &config.client_policy, address, &table),
        Err(error) => {
            eprintln!("geo-router: {error}");
            Location {
                country: None,
                coordinates: None,
                source: LocationSource::Unknown,
            }
        }
    };
    let incoming = Incoming {
        parts,
        request_id,
        hop,
        client_ip: address.ip,
        location,
    };
    let outcome = route(&config, &incoming, body).await;
    finish(&config, &incoming, outcome, started)
}

/// The key-value store, opened only by the requests that need it.
async fn open_store() -> Option<Store> {
    match Store::open(STORE).await {
        Ok(store) => Some(store),
        Err(error) => {
            eprintln!("geo-router: key-value store {STORE} unavailable: {error:?}");
            None
        }
    }
}

async fn route(
    config: &Config,
    incoming: &Incoming,
    body: spin_sdk::wasip3::http_compat::IncomingRequestBody,
) -> Outcome {
    let parts = &incoming.parts;
    let class = routing::classify(&parts.method, parts.uri.path());
    if Cors::is_preflight(&parts.method, &parts.headers) {
        let reply = local_reply(platform::response::empty(StatusCode::NO_CONTENT));
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
        let reply = if parts.uri.path() == "/alive" {
            status::alive(config)
        } else {
            status::health(config, open_store().await.as_ref(), now_ms()).await
        };
        return Outcome::local(local_reply(reply), class);
    }
    if platform_length_exceeded(&parts.headers) {
        return Outcome::problem(ApiError::PayloadTooLarge { limit: MAX_BODY }, class);
    }
    let body = match body.bytes().await {
        Ok(body) if body.len() > MAX_BODY => {
            return Outcome::problem(ApiError::PayloadTooLarge { limit: MAX_BODY }, class);
        }
        Ok(body) => body,
        Err(error) => {
            return Outcome::problem(
                ApiError::bad_request(format!("could not read request body: {error:?}")),
                class,
            );
        }
    };
    let outgoing = Outgoing::from_client(parts.method.clone(), &parts.uri, &parts.headers, body);
    if let Hop::From { .. } = incoming.hop {
        let mut outcome = serve_locally(config, incoming, &outgoing, class).await;
        outcome.reason = Reason::Hop;
        return outcome;
    }
    serve_planned(config, incoming, &outgoing, class).await
}

fn platform_length_exceeded(headers: &HeaderMap) -> bool {
    platform::request::check_length(headers, MAX_BODY).is_err()
}

/// Counts the request against its client's window; `Some` is the 429 to answer.
async fn rate_limited(config: &Config, incoming: &Incoming, class: RouteClass) -> Option<Outcome> {
    let verdict = rate_limit::count(
        &config.redis_url,
        incoming.client_ip,
        config.rate_limit,
        now_ms(),
    )
    .await;
    match verdict {
        Ok(Verdict::Allowed { .. }) => None,
        Ok(Verdict::Limited { retry_after_secs }) => Some(Outcome::problem(
            ApiError::TooManyRequests { retry_after_secs },
            class,
        )),
        Err(error) => {
            eprintln!("geo-router: {error}; request let through");
            None
        }
    }
}

/// Tries the planned regions in order: the first, and the next one only when a retry is safe.
async fn serve_planned(
    config: &Config,
    incoming: &Incoming,
    outgoing: &Outgoing,
    class: RouteClass,
) -> Outcome {
    let parts = &incoming.parts;
    let now = now_ms();
    let cart_home = gateway::cookie(&parts.headers, CART_HOME_COOKIE);
    let plan_with = |table: &HealthTable| {
        routing::plan(
            &config.topology,
            class,
            incoming.location.coordinates,
            cart_home.as_deref(),
            |name| table.status(name, now),
        )
    };
    let local = config.topology.local().name.clone();
    // Health only decides among other regions, and this region is always tried when it
    // comes first: most requests are served without reading the health table.
    let mut table = HealthTable::default();
    let mut plan = plan_with(&table);
    let mut store = None;
    if plan.regions.first().is_none_or(|first| first.name != local) {
        store = open_store().await;
        if let Some(store) = &store {
            table = HealthTable::from_stored(store.get(HEALTH_KEY).await.ok().flatten().as_deref());
            plan = plan_with(&table);
        }
    }
    let store = store.as_ref();
    let mut attempts: u32 = 0;
    let mut failures = Vec::new();
    let mut timings = Vec::new();
    let mut table_changed = false;
    for region in &plan.regions {
        if attempts >= MAX_ATTEMPTS {
            break;
        }
        if region.name == local {
            let mut outcome = serve_locally(config, incoming, outgoing, class).await;
            outcome.attempts += attempts;
            outcome.reason = plan.reason;
            outcome.timings.splice(0..0, timings);
            outcome.error = join_errors(failures, outcome.error);
            save_health(store, &table, table_changed).await;
            return outcome;
        }
        if table.status(&region.name, now) == Status::Probe {
            let started = Instant::now();
            let probe = Outgoing {
                method: http::Method::GET,
                path_and_query: "/alive".into(),
                headers: HeaderMap::new(),
                body: Bytes::new(),
            };
            let alive = probe
                .send(
                    &region.origin,
                    &hop_headers(config, incoming),
                    PROBE_TIMEOUT,
                )
                .await
                .is_ok_and(|response| response.status().is_success());
            timings.push(Timing {
                name: "probe",
                millis: millis(started.elapsed()),
                description: Some(region.name.clone()),
            });
            if !alive {
                table.mark_down(&region.name, now, config.health_cooldown_ms);
                table_changed = true;
                failures.push(format!("{}: probe failed", region.name));
                continue;
            }
        }
        attempts += 1;
        let started = Instant::now();
        let result = outgoing
            .send(
                &region.origin,
                &hop_headers(config, incoming),
                Duration::from_millis(config.upstream_timeout_ms),
            )
            .await;
        timings.push(Timing {
            name: "upstream",
            millis: millis(started.elapsed()),
            description: Some(region.name.clone()),
        });
        let delivery = match result {
            Ok(response) if !is_gateway_failure(response.status()) => {
                table_changed |= table.mark_up(&region.name);
                save_health(store, &table, table_changed).await;
                return Outcome {
                    reply: upstream_reply(response),
                    class,
                    reason: if attempts > 1 {
                        Reason::Nearest
                    } else {
                        plan.reason
                    },
                    served_by: Some(region.name.clone()),
                    read_from: None,
                    attempts,
                    timings,
                    error: join_errors(failures, None),
                    set_cookies: Vec::new(),
                };
            }
            Ok(response) => {
                failures.push(format!("{}: {}", region.name, response.status()));
                Delivery::MaybeDelivered
            }
            Err(failure) => {
                failures.push(format!("{}: {failure}", region.name));
                failure.delivery
            }
        };
        table.mark_down(&region.name, now, config.health_cooldown_ms);
        table_changed = true;
        if !routing::may_try_next(&parts.method, &parts.headers, delivery) {
            break;
        }
    }
    save_health(store, &table, table_changed).await;
    let mut outcome = Outcome::problem(
        ApiError::ServiceUnavailable {
            detail: "the region serving this request did not answer; try again".into(),
            retry_after_secs: 1,
        },
        class,
    );
    outcome.attempts = attempts;
    outcome.reason = plan.reason;
    outcome.timings = timings;
    outcome.error = join_errors(failures, None);
    outcome
}

/// A remote router's own 502/504 means the region could not serve; 503 is an answer
/// (its dependencies said so) and is passed on like any other.
fn is_gateway_failure(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
    )
}

fn join_errors(failures: Vec<String>, last: Option<String>) -> Option<String> {
    let all: Vec<String> = failures.into_iter().chain(last).collect();
    (!all.is_empty()).then(|| all.join("; "))
}

async fn save_health(store: Option<&Store>, table: &HealthTable, changed: bool) {
    if let (Some(store), true) = (store, changed)
        && let Err(error) = store.set(HEALTH_KEY, table.to_bytes()).await
    {
        eprintln!("geo-router: health table not stored: {error:?}");
    }
}

fn forwarded_for(incoming: &Incoming) -> Option<(&'static str, String)> {
    let client = incoming.client_ip?;
    let previous = incoming
        .parts
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
    Some((client::X_FORWARDED_FOR, value))
}

fn hop_headers(config: &Config, incoming: &Incoming) -> Vec<(&'static str, String)> {
    let mut headers = hop::forward_headers(
        &config.topology.local().name,
        config.hop_secret.as_ref(),
        incoming.client_ip,
    );
    headers.push((REQUEST_ID, incoming.request_id.clone()));
    headers.extend(forwarded_for(incoming));
    headers
}

/// Serves the request with this region's components, choosing primary or replica.
async fn serve_locally(
    config: &Config,
    incoming: &Incoming,
    outgoing: &Outgoing,
    class: RouteClass,
) -> Outcome {
    let parts = &incoming.parts;
    let Some(component) = config.components.component(parts.uri.path()) else {
        let error = ApiError::not_found(format!("no resource at {}", parts.uri.path()));
        return Outcome::problem(error, class);
    };
    let mut timings = Vec::new();
    let mut set_cookies = Vec::new();
    let writes_primary = routing::writes_primary(&parts.method, parts.uri.path());
    let read_from = if writes_primary {
        ReadFrom::Primary
    } else if !consistency::covers(&parts.method, parts.uri.path()) {
        ReadFrom::Replica
    } else {
        let token = consistency::token(&parts.headers);
        let has_replica = !config.replica_database_url.is_empty();
        match consistency::check(token.as_ref(), &config.topology.local().name, has_replica) {
            Check::AnyCopy => ReadFrom::Replica,
            Check::Primary => ReadFrom::Primary,
            Check::ReplicaPosition(written) => {
                let started = Instant::now();
                let replayed = db::replica_position(&config.replica_database_url)
                    .await
                    .unwrap_or_else(|error| {
                        eprintln!("geo-router: replica position unknown: {error}");
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
    };
    let mut extra = vec![
        (READ_FROM_HEADER, read_from.as_str().to_owned()),
        (REQUEST_ID, incoming.request_id.clone()),
    ];
    // Components see the router as their peer: tell them who the client is (per-client
    // sign-in throttling needs it).
    if let Some(client) = incoming.client_ip {
        extra.push((platform::request::CLIENT_IP_HEADER, client.to_string()));
    }
    // Served here although the cart lives elsewhere: its home did not answer. The cart
    // component then recovers the cart from the browser's copy, or says it cannot.
    let cart_home = gateway::cookie(&parts.headers, CART_HOME_COOKIE);
    if class == RouteClass::Cart
        && let Some(home) = cart_home
            .as_deref()
            .filter(|home| *home != config.topology.local().name)
            .and_then(|home| config.topology.region(home))
    {
        extra.push((platform::request::CART_HOME_HEADER, home.name.clone()));
    }
    extra.extend(forwarded_for(incoming));
    let started = Instant::now();
    let result = outgoing
        .send(
            &format!("http://{component}.spin.internal"),
            &extra,
            Duration::from_millis(config.upstream_timeout_ms),
        )
        .await;
    timings.push(Timing {
        name: "component",
        millis: millis(started.elapsed()),
        description: Some(component.to_owned()),
    });
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            let mut outcome = Outcome::problem(
                ApiError::ServiceUnavailable {
                    detail: format!("the {component} service did not answer; try again"),
                    retry_after_secs: 1,
                },
                class,
            );
            outcome.error = Some(format!("{component}: {error}"));
            outcome.timings = timings;
            return outcome;
        }
    };
    let succeeded = response.status().is_success();
    let local = &config.topology.local().name;
    if succeeded && consistency::sets_token(&parts.method, parts.uri.path()) {
        let started = Instant::now();
        match db::primary_position(&config.database_url).await {
            Ok(position) => set_cookies.push(consistency::token_cookie(position, local)),
            Err(error) => eprintln!("geo-router: primary WAL position unknown: {error}"),
        }
        timings.push(Timing {
            name: "wal-position",
            millis: millis(started.elapsed()),
            description: None,
        });
    }
    if class == RouteClass::Cart && succeeded && cart_home.as_deref() != Some(local) {
        set_cookies.push(cart_home_cookie(local));
    }
    Outcome {
        reply: upstream_reply(response),
        class,
        reason: Reason::Local,
        served_by: Some(local.clone()),
        read_from: Some(read_from),
        attempts: 1,
        timings,
        error: None,
        set_cookies,
    }
}

fn cart_home_cookie(region: &str) -> String {
    format!(
        "{CART_HOME_COOKIE}={region}; Path=/; Max-Age={CART_HOME_MAX_AGE_SECS}; HttpOnly; SameSite=Lax"
    )
}

/// Gateway headers on every response, and the log line.
fn finish(config: &Config, incoming: &Incoming, outcome: Outcome, started: Instant) -> Reply {
    let Outcome {
        mut reply,
        class,
        reason,
        served_by,
        read_from,
        attempts,
        mut timings,
        error,
        set_cookies,
    } = outcome;
    let parts = &incoming.parts;
    let local = &config.topology.local().name;
    let total = started.elapsed();
    let waited: f64 = timings.iter().map(|timing| timing.millis).sum();
    timings.insert(
        0,
        Timing {
            name: "router",
            millis: (millis(total) - waited).max(0.0),
            description: Some(local.clone()),
        },
    );
    let headers = reply.headers_mut();
    // Connection-level headers of an upstream answer are not ours to pass on.
    let hop_by_hop: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| routing::is_hop_by_hop(name))
        .cloned()
        .collect();
    for name in hop_by_hop {
        headers.remove(name);
    }
    // A remote region's router already named itself; keep what it said.
    let served_by = headers
        .get(SERVED_BY)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or(served_by)
        .unwrap_or_else(|| local.clone());
    insert(headers, SERVED_BY, &served_by);
    // Which database served a read: lets clients and tests see read-your-writes at work.
    if let Some(read_from) = read_from {
        insert(headers, READ_FROM_HEADER, read_from.as_str());
    }
    insert(headers, REQUEST_ID, &incoming.request_id);
    gateway::merge_list_header(
        headers,
        http::HeaderName::from_static(SERVER_TIMING),
        &gateway::server_timing(&timings),
    );
    for cookie in &set_cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    gateway::add_security_headers(headers);
    let preflight = Cors::is_preflight(&parts.method, &parts.headers);
    config.cors.apply(&parts.headers, preflight, headers);
    let line = LogLine {
        request_id: &incoming.request_id,
        region: local,
        method: parts.method.as_str(),
        path: parts.uri.path(),
        status: reply.status().as_u16(),
        served_by: &served_by,
        route: class.as_str(),
        reason: reason.as_str(),
        read_from: read_from.map(ReadFrom::as_str),
        country: incoming.location.country.as_deref(),
        location_source: incoming.location.source.as_str(),
        attempts,
        duration_ms: millis(total),
        error: error.as_deref(),
    };
    eprintln!("{}", line.to_json());
    reply
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
