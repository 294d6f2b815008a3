//! The routing decision: what kind of request this is, which region serves it, in which
//! order to try regions, and which headers a router sets (and so never takes from a client).
//!
//! Which local component serves a path is Spin's route table (`spin.toml`): the router is
//! composed in front of each public component and only decides where the request is served.

use http::{HeaderMap, HeaderName, Method, header};

use crate::geo::Coordinates;
use crate::health::Status;
use crate::topology::{Region, Topology};

/// Cookie remembering the cart's home region (carts live in a region's key-value store).
pub const CART_HOME_COOKIE: &str = "cp_cart_region";
/// How many regions one request may try: the chosen one and the next-nearest.
pub const MAX_ATTEMPTS: u32 = 2;

/// What kind of request this is, for data affinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// `/health` and `/alive`: about this region, answered here.
    Gateway,
    /// Requests whose data only the PostgreSQL primary holds: every change but a cart's,
    /// and reads of accounts, orders, enrollments and admin data (never read from a
    /// replica). Served next to the primary, where their statements do not cross an ocean.
    Primary,
    /// Cart operations and checkout (which reads the cart): served by the cart's home region.
    Cart,
    /// Everything else: nearest region, replica unless the client must see its writes.
    Read,
}

impl RouteClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Primary => "primary",
            Self::Cart => "cart",
            Self::Read => "read",
        }
    }
}

/// Path prefixes whose non-safe methods change primary data.
const WRITE_PREFIXES: [&str; 6] = [
    "/api/accounts",
    "/api/session",
    "/api/checkout",
    "/api/admin",
    "/api/courses",
    "/api/orders",
];

/// Path prefixes whose reads are served from the primary alone (the accounts and checkout
/// components have no replica and no cache): the signed-in user (`/api/me`, with their
/// enrollments), orders, admin views.
const PRIMARY_READ_PREFIXES: [&str; 3] = ["/api/me", "/api/orders", "/api/admin"];

/// Carts live in their home region's key-value store, so checkout, which turns the cart
/// into an order, runs there too (it reaches the PostgreSQL primary from any region).
const CART_PREFIXES: [&str; 2] = ["/api/cart", "/api/checkout"];

/// The session cookie (see `accounts-core`): a request carrying it is a signed-in user's.
pub const SESSION_COOKIE: &str = "cp_session";

/// What ties a request to a region besides its class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ties {
    /// It carries a session cookie.
    pub signed_in: bool,
    /// Sessions live in one region's key-value store (see [`placement`]).
    pub sessions_regional: bool,
    /// It names a cart home region the topology knows.
    pub cart_homed: bool,
}

/// Where a request is placed.
///
/// A cart is born beside the PostgreSQL primary: every cart answer is priced from the
/// primary and a checkout writes there statement by statement, so a cart homed across an
/// ocean from the primary pays that distance many times per request, where the router's
/// forward to the primary's region pays it once. The first change of a cart with no home
/// is therefore placed like a write, and that region becomes its home; reading a cart with
/// no home (an empty one) stays in the nearest region, which it does not home.
///
/// With sessions in one region's key-value store (a host whose store is per region, e.g.
/// Akamai Functions, where no store can be shared), a signed-in user's session, and the
/// carts and checkouts tied to it, are only readable where they were written: the primary
/// region, which serves sign-ins. Those requests are then placed like writes; anonymous
/// reads stay in the nearest region.
pub fn placement(class: RouteClass, method: &Method, ties: Ties) -> RouteClass {
    let tied_to_session = ties.signed_in || class == RouteClass::Cart;
    let regional_session = ties.sessions_regional && tied_to_session;
    let new_cart = class == RouteClass::Cart && !ties.cart_homed && !is_safe(method);
    if class != RouteClass::Gateway && (regional_session || new_cart) {
        RouteClass::Primary
    } else {
        class
    }
}

/// Whether a successful cart answer from `local` makes it the cart's home (the router then
/// sets `cp_cart_region`): a change to a cart homed elsewhere or nowhere, or any request for
/// a cart whose home was elsewhere (the home is down, and this region took the cart over).
pub fn homes_cart(
    class: RouteClass,
    method: &Method,
    cart_home: Option<&str>,
    local: &str,
) -> bool {
    class == RouteClass::Cart
        && cart_home != Some(local)
        && (cart_home.is_some() || !is_safe(method))
}

/// Whether `path` is `prefix` or below it, by whole segments (`/api/cartx` is not `/api/cart`).
pub(crate) fn has_prefix(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

pub fn classify(method: &Method, path: &str) -> RouteClass {
    if path == "/health" || path == "/alive" {
        return RouteClass::Gateway;
    }
    if CART_PREFIXES.iter().any(|prefix| has_prefix(path, prefix)) {
        return RouteClass::Cart;
    }
    let reads_primary = || {
        PRIMARY_READ_PREFIXES
            .iter()
            .any(|prefix| has_prefix(path, prefix))
    };
    if writes_primary(method, path) || reads_primary() {
        return RouteClass::Primary;
    }
    RouteClass::Read
}

/// Whether the request changes PostgreSQL data: it must read from the primary, and its
/// response carries the client's new consistency token.
pub fn writes_primary(method: &Method, path: &str) -> bool {
    !is_safe(method) && WRITE_PREFIXES.iter().any(|prefix| has_prefix(path, prefix))
}

/// Methods that change nothing.
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why the first region was chosen; logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Local,
    Nearest,
    Primary,
    CartHome,
    Hop,
    /// Served by a later region of the plan: an earlier one failed.
    Failover,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Nearest => "nearest",
            Self::Primary => "primary",
            Self::CartHome => "cart-home",
            Self::Hop => "hop",
            Self::Failover => "failover",
        }
    }
}

/// Regions to try in order (the first is the choice, the rest are fallbacks).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'t> {
    pub regions: Vec<&'t Region>,
    pub reason: Reason,
}

/// Chooses regions for a request. `status` reports each region's health; this region is
/// always usable (it is running this code). Unknown client locations count as local.
pub fn plan<'t>(
    topology: &'t Topology,
    class: RouteClass,
    client: Option<Coordinates>,
    cart_home: Option<&str>,
    status: impl Fn(&str) -> Status,
) -> Plan<'t> {
    let local = topology.local();
    if class == RouteClass::Gateway {
        return Plan {
            regions: vec![local],
            reason: Reason::Local,
        };
    }
    let usable =
        |region: &Region| region.name == local.name || status(&region.name) != Status::Down;
    let by_distance = topology.by_distance(client.unwrap_or_else(|| local.coordinates()));
    let preferred = match class {
        RouteClass::Primary => Some((topology.primary(), Reason::Primary)),
        RouteClass::Cart => cart_home
            .and_then(|name| topology.region(name))
            .map(|region| (region, Reason::CartHome)),
        RouteClass::Read | RouteClass::Gateway => None,
    }
    .filter(|(region, _)| usable(region));
    let mut regions: Vec<&Region> = preferred.iter().map(|(region, _)| *region).collect();
    for region in by_distance {
        if usable(region) && !regions.iter().any(|chosen| chosen.name == region.name) {
            regions.push(region);
        }
    }
    let reason = match preferred {
        Some((_, reason)) => reason,
        None if regions.first().is_some_and(|r| r.name == local.name) => Reason::Local,
        None => Reason::Nearest,
    };
    Plan { regions, reason }
}

/// A second region may only be tried when repeating the request cannot do anything twice.
pub fn retry_is_safe(method: &Method, headers: &HeaderMap) -> bool {
    matches!(*method, Method::GET | Method::HEAD) || headers.contains_key("idempotency-key")
}

/// How far a failed attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// It failed before the request left (refused connection, DNS, TLS handshake): the
    /// other region never saw it.
    NotSent,
    /// The other region may have received it, and may have acted on it.
    MaybeDelivered,
}

/// Whether the next region may be tried after an attempt failed this way: always when the
/// request was never sent, otherwise only when repeating it cannot do anything twice.
pub fn may_try_next(method: &Method, headers: &HeaderMap, failure: Delivery) -> bool {
    failure == Delivery::NotSent || retry_is_safe(method, headers)
}

/// Request headers only a router sets: the components behind it (and other regions'
/// routers) believe them, so a client's copy is removed before the request goes on.
pub fn is_router_header(name: &HeaderName) -> bool {
    let text = name.as_str();
    text.starts_with("x-cp-")
        || text == crate::consistency::READ_FROM_HEADER
        || text == crate::gateway::REQUEST_ID
}

/// Request headers not handed to the component the router wraps: the router's own (set
/// afresh) and the connection's, which WASI HTTP refuses in a request a component builds.
pub fn is_withheld_from_component(name: &HeaderName) -> bool {
    is_router_header(name) || is_connection_header(name)
}

/// Request headers never sent to another region: the router's own, the platform's
/// `spin-*` headers (the receiving host sets its own), and the connection's.
pub fn is_internal_header(name: &HeaderName) -> bool {
    is_router_header(name) || name.as_str().starts_with("spin-") || is_connection_header(name)
}

/// The target host and the hop-by-hop headers: about this connection, not the request.
fn is_connection_header(name: &HeaderName) -> bool {
    name == header::HOST || name.as_str() == "http2-settings" || is_hop_by_hop(name)
}

/// Headers about one connection (RFC 9110 §7.6.1), never forwarded in either direction.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION.as_str(),
        "keep-alive",
        header::TRANSFER_ENCODING.as_str(),
        header::TE.as_str(),
        header::TRAILER.as_str(),
        header::UPGRADE.as_str(),
        header::PROXY_AUTHORIZATION.as_str(),
        header::PROXY_AUTHENTICATE.as_str(),
        "proxy-connection",
    ]
    .contains(&name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::tests::topology;

    const MUMBAI: Coordinates = Coordinates::new(19.0, 72.8);
    const PARIS: Coordinates = Coordinates::new(48.9, 2.35);

    fn names(plan: &Plan<'_>) -> Vec<String> {
        plan.regions
            .iter()
            .map(|region| region.name.clone())
            .collect()
    }

    fn all_up(_: &str) -> Status {
        Status::Up
    }

    #[test]
    fn classifies_by_method_and_path() {
        assert_eq!(classify(&Method::GET, "/health"), RouteClass::Gateway);
        assert_eq!(classify(&Method::POST, "/api/checkout"), RouteClass::Cart);
        assert!(writes_primary(&Method::POST, "/api/checkout"));
        assert!(!writes_primary(&Method::PUT, "/api/cart/items/x"));
        assert_eq!(
            classify(&Method::DELETE, "/api/session"),
            RouteClass::Primary
        );
        assert_eq!(
            classify(&Method::PATCH, "/api/courses/x"),
            RouteClass::Primary
        );
        assert_eq!(
            classify(&Method::POST, "/api/admin/outbox/relay"),
            RouteClass::Primary
        );
        assert_eq!(
            classify(&Method::PUT, "/api/cart/items/x"),
            RouteClass::Cart
        );
        assert_eq!(classify(&Method::GET, "/api/cart"), RouteClass::Cart);
        assert_eq!(classify(&Method::GET, "/api/courses"), RouteClass::Read);
        assert_eq!(classify(&Method::GET, "/api/session"), RouteClass::Read);
        for primary_only in ["/api/me", "/api/me/enrollments", "/api/orders/o1"] {
            assert_eq!(
                classify(&Method::GET, primary_only),
                RouteClass::Primary,
                "{primary_only}"
            );
        }
        assert_eq!(classify(&Method::GET, "/api/media"), RouteClass::Read);
        assert_eq!(
            classify(&Method::POST, "/api/cartography"),
            RouteClass::Read
        );
    }

    #[test]
    fn reads_go_to_the_nearest_region_with_the_rest_as_fallbacks() {
        let topology = topology("us-east");
        let plan = plan(&topology, RouteClass::Read, Some(MUMBAI), None, all_up);
        assert_eq!(names(&plan), ["ap-south", "eu-west", "us-east"]);
        assert_eq!(plan.reason, Reason::Nearest);
    }

    #[test]
    fn unknown_locations_are_served_locally() {
        let topology = topology("eu-west");
        let plan = plan(&topology, RouteClass::Read, None, None, all_up);
        assert_eq!(plan.regions[0].name, "eu-west");
        assert_eq!(plan.reason, Reason::Local);
    }

    #[test]
    fn down_regions_are_skipped_but_probed_ones_are_tried() {
        let topology = topology("us-east");
        let down = |name: &str| {
            if name == "ap-south" {
                Status::Down
            } else {
                Status::Up
            }
        };
        let plan = plan(&topology, RouteClass::Read, Some(MUMBAI), None, down);
        assert_eq!(names(&plan), ["eu-west", "us-east"]);
        let probe = |name: &str| {
            if name == "ap-south" {
                Status::Probe
            } else {
                Status::Up
            }
        };
        let plan = super::plan(&topology, RouteClass::Read, Some(MUMBAI), None, probe);
        assert_eq!(plan.regions[0].name, "ap-south");
    }

    #[test]
    fn this_region_is_never_skipped() {
        let topology = topology("ap-south");
        let plan = plan(&topology, RouteClass::Read, Some(MUMBAI), None, |_| {
            Status::Down
        });
        assert_eq!(names(&plan), ["ap-south"]);
    }

    #[test]
    fn writes_go_to_the_primary_region_or_the_nearest_when_it_is_down() {
        let topology = topology("ap-south");
        let plan = plan(&topology, RouteClass::Primary, Some(MUMBAI), None, all_up);
        assert_eq!(names(&plan), ["us-east", "ap-south", "eu-west"]);
        assert_eq!(plan.reason, Reason::Primary);
        let primary_down = |name: &str| {
            if name == "us-east" {
                Status::Down
            } else {
                Status::Up
            }
        };
        let plan = super::plan(
            &topology,
            RouteClass::Primary,
            Some(MUMBAI),
            None,
            primary_down,
        );
        assert_eq!(names(&plan), ["ap-south", "eu-west"]);
    }

    #[test]
    fn cart_operations_stick_to_the_cart_home() {
        let topology = topology("us-east");
        let plan = plan(
            &topology,
            RouteClass::Cart,
            Some(PARIS),
            Some("ap-south"),
            all_up,
        );
        assert_eq!(plan.regions[0].name, "ap-south");
        assert_eq!(plan.reason, Reason::CartHome);
        let unknown_home = super::plan(
            &topology,
            RouteClass::Cart,
            Some(PARIS),
            Some("mars"),
            all_up,
        );
        assert_eq!(unknown_home.regions[0].name, "eu-west");
    }

    #[test]
    fn only_safe_or_idempotent_requests_are_retried() {
        let mut headers = HeaderMap::new();
        assert!(retry_is_safe(&Method::GET, &headers));
        assert!(!retry_is_safe(&Method::POST, &headers));
        headers.insert("idempotency-key", http::HeaderValue::from_static("k1"));
        assert!(retry_is_safe(&Method::POST, &headers));
    }

    #[test]
    fn a_request_that_was_never_sent_may_go_to_the_next_region_whatever_its_method() {
        let headers = HeaderMap::new();
        assert!(may_try_next(&Method::PUT, &headers, Delivery::NotSent));
        assert!(!may_try_next(
            &Method::PUT,
            &headers,
            Delivery::MaybeDelivered
        ));
        assert!(may_try_next(
            &Method::GET,
            &headers,
            Delivery::MaybeDelivered
        ));
    }

    #[test]
    fn internal_headers_are_not_forwarded() {
        for name in [
            "spin-client-addr",
            "x-read-from",
            "x-cp-hop",
            "connection",
            "host",
        ] {
            assert!(is_internal_header(&HeaderName::from_static(name)), "{name}");
        }
        assert!(!is_internal_header(&header::COOKIE));
        assert!(is_hop_by_hop(&header::TRANSFER_ENCODING));
        assert!(!is_hop_by_hop(&header::SET_COOKIE));
    }

    #[test]
    fn headers_components_trust_are_the_routers_and_spin_headers_reach_them() {
        for name in [
            "x-cp-client-ip",
            "x-cp-cart-home",
            "x-cp-hop-secret",
            "x-read-from",
            "x-request-id",
        ] {
            assert!(is_router_header(&HeaderName::from_static(name)), "{name}");
        }
        for name in [
            "spin-client-addr",
            "spin-path-info",
            "cookie",
            "x-forwarded-for",
        ] {
            assert!(!is_router_header(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn with_regional_sessions_signed_in_and_cart_requests_are_placed_at_the_primary() {
        use RouteClass::*;
        let get = &Method::GET;
        let homed = |signed_in, sessions_regional| Ties {
            signed_in,
            sessions_regional,
            cart_homed: true,
        };
        for class in [Read, Cart, Primary] {
            assert_eq!(
                placement(class, get, homed(true, true)),
                Primary,
                "{class:?}"
            );
            assert_eq!(placement(class, get, homed(true, false)), class, "shared");
        }
        assert_eq!(
            placement(Read, get, homed(false, true)),
            Read,
            "anonymous reads stay nearest"
        );
        assert_eq!(
            placement(Cart, get, homed(false, true)),
            Primary,
            "a visitor's cart too"
        );
        assert_eq!(placement(Gateway, get, homed(true, true)), Gateway);
    }

    #[test]
    fn a_cart_is_born_beside_the_primary_and_then_stays_home() {
        use RouteClass::*;
        let no_home = Ties::default();
        let put = &Method::PUT;
        assert_eq!(placement(Cart, put, no_home), Primary, "the first change");
        assert_eq!(placement(Cart, &Method::POST, no_home), Primary, "checkout");
        assert_eq!(
            placement(Cart, &Method::GET, no_home),
            Cart,
            "an empty cart"
        );
        let homed = Ties {
            cart_homed: true,
            ..no_home
        };
        assert_eq!(placement(Cart, put, homed), Cart, "then its home");
        assert_eq!(placement(Read, put, no_home), Read, "not other requests");
    }

    #[test]
    fn a_region_becomes_a_carts_home_by_changing_it_or_taking_it_over() {
        use RouteClass::*;
        let (get, put) = (&Method::GET, &Method::PUT);
        assert!(homes_cart(Cart, put, None, "us-east"), "born here");
        assert!(
            !homes_cart(Cart, get, None, "eu-west"),
            "an empty cart read"
        );
        assert!(
            homes_cart(Cart, get, Some("ap-south"), "eu-west"),
            "taken over"
        );
        assert!(
            homes_cart(Cart, put, Some("ap-south"), "eu-west"),
            "taken over"
        );
        assert!(
            !homes_cart(Cart, put, Some("eu-west"), "eu-west"),
            "home already"
        );
        assert!(!homes_cart(Read, put, None, "eu-west"));
    }
}
