//! Who the client is and where: its address (without trusting spoofable headers) and location.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

use crate::geo::{Coordinates, country_coordinates};
use crate::iptable::IpTable;

/// Set by hosted Spin platforms at their edge; clients cannot forge it there.
pub const TRUE_CLIENT_IP: &str = "true-client-ip";
/// Set by local Spin (and our test host) to the TCP peer.
pub const SPIN_CLIENT_ADDR: &str = "spin-client-addr";
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";
/// Test-only: a country code (`IN`) or `lat,lon`; honoured only when enabled by a variable.
pub const LOCATION_OVERRIDE: &str = "x-geo-override";
/// Country headers CDNs add; honoured only when the request came through a trusted proxy.
pub const CDN_COUNTRY_HEADERS: [&str; 3] = [
    "cf-ipcountry",
    "cloudfront-viewer-country",
    "x-vercel-ip-country",
];

/// Which client-supplied hints to believe, from variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientPolicy {
    /// Peers whose `x-forwarded-for` and CDN country headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// True on hosted platforms that set `true-client-ip` themselves.
    pub trust_true_client_ip: bool,
    pub allow_location_override: bool,
}

impl ClientPolicy {
    /// Parses a comma-separated list of addresses or CIDR blocks (`10.0.0.0/8, 127.0.0.1`).
    pub fn parse_proxies(text: &str) -> Result<Vec<IpNet>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an address or CIDR block: {item}"))
            })
            .collect()
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&address))
    }
}

/// The client's address and whether an edge we trust vouched for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    pub ip: Option<IpAddr>,
    pub via_trusted_edge: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            text.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()
        })
}

/// The client's address: `true-client-ip` when the platform sets it, else the TCP peer,
/// replaced by the right-most untrusted `x-forwarded-for` hop when the peer is a trusted proxy.
pub fn client_address(headers: &HeaderMap, policy: &ClientPolicy) -> ClientAddress {
    if policy.trust_true_client_ip
        && let Some(ip) = header(headers, TRUE_CLIENT_IP).and_then(parse_address)
    {
        return ClientAddress {
            ip: Some(ip),
            via_trusted_edge: true,
        };
    }
    let peer = header(headers, SPIN_CLIENT_ADDR).and_then(parse_address);
    let Some(peer) = peer.filter(|&peer| policy.is_trusted(peer)) else {
        return ClientAddress {
            ip: peer,
            via_trusted_edge: false,
        };
    };
    let forwarded: Vec<IpAddr> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(parse_address)
        .collect();
    // Each proxy appends the address it saw; the first untrusted one from the right is
    // the client (anything left of it could have been written by the client).
    let client = forwarded
        .iter()
        .rev()
        .find(|&&hop| !policy.is_trusted(hop))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer);
    ClientAddress {
        ip: Some(client),
        via_trusted_edge: true,
    }
}

/// How the location was found; logged so surprising routing can be explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationSource {
    Override,
    CdnCountry,
    IpTable,
    Unknown,
}

impl LocationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Override => "override",
            Self::CdnCountry => "cdn-country",
            Self::IpTable => "ip-table",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub country: Option<String>,
    pub coordinates: Option<Coordinates>,
    pub source: LocationSource,
}

/// Locates the client: test override, then a trusted CDN's country, then the IP table.
pub fn locate(
    headers: &HeaderMap,
    policy: &ClientPolicy,
    address: ClientAddress,
    table: &IpTable<'_>,
) -> Location {
    if policy.allow_location_override
        && let Some(value) = header(headers, LOCATION_OVERRIDE)
    {
        if let Some(coordinates) = Coordinates::parse(value) {
            return Location {
                country: None,
                coordinates: Some(coordinates),
                source: LocationSource::Override,
            };
        }
        if let Some(location) = from_country(value, LocationSource::Override) {
            return location;
        }
    }
    if address.via_trusted_edge
        && let Some(location) = CDN_COUNTRY_HEADERS
            .iter()
            .filter_map(|name| header(headers, name))
            .find_map(|value| from_country(value, LocationSource::CdnCountry))
    {
        return location;
    }
    address
        .ip
        .and_then(|ip| table.country(ip))
        .and_then(|country| from_country(country, LocationSource::IpTable))
        .unwrap_or(Location {
            country: None,
            coordinates: None,
            source: LocationSource::Unknown,
        })
}

fn from_country(code: &str, source: LocationSource) -> Option<Location> {
    let coordinates = country_coordinates(code)?;
    Some(Location {
        country: Some(code.to_ascii_uppercase()),
        coordinates: Some(coordinates),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    fn behind_local_proxy() -> ClientPolicy {
        ClientPolicy {
            trusted_proxies: ClientPolicy::parse_proxies("127.0.0.1, 10.0.0.0/8").expect("valid"),
            ..ClientPolicy::default()
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn peer_address_is_the_client_without_trusted_proxies() {
        let request = headers(&[
            (SPIN_CLIENT_ADDR, "203.0.113.9:51000"),
            (X_FORWARDED_FOR, "193.0.0.1"),
            (TRUE_CLIENT_IP, "202.12.29.1"),
        ]);
        let address = client_address(&request, &ClientPolicy::default());
        assert_eq!(address.ip, ip("203.0.113.9"));
        assert!(!address.via_trusted_edge);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let request = headers(&[
            (SPIN_CLIENT_ADDR, "127.0.0.1:40000"),
            (X_FORWARDED_FOR, "1.1.1.1, 193.0.0.1"),
            (X_FORWARDED_FOR, "10.1.1.1"),
        ]);
        let address = client_address(&request, &behind_local_proxy());
        // 10.1.1.1 is our own proxy; 193.0.0.1 is the right-most untrusted hop. The
        // client could have written 1.1.1.1 itself.
        assert_eq!(address.ip, ip("193.0.0.1"));
        assert!(address.via_trusted_edge);
    }

    #[test]
    fn true_client_ip_is_believed_only_where_the_platform_sets_it() {
        let request = headers(&[
            (TRUE_CLIENT_IP, "202.12.29.1"),
            (SPIN_CLIENT_ADDR, "127.0.0.1:1"),
        ]);
        let hosted = ClientPolicy {
            trust_true_client_ip: true,
            ..ClientPolicy::default()
        };
        assert_eq!(client_address(&request, &hosted).ip, ip("202.12.29.1"));
        assert_eq!(
            client_address(&request, &ClientPolicy::default()).ip,
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bad_proxy_lists_are_refused() {
        assert!(ClientPolicy::parse_proxies("10.0.0.0/33").is_err());
        assert_eq!(
            ClientPolicy::parse_proxies(" ").map(|list| list.len()),
            Ok(0)
        );
        assert_eq!(
            ClientPolicy::parse_proxies("::1").map(|list| list.len()),
            Ok(1)
        );
    }

    fn locate_with(request: &HeaderMap, policy: &ClientPolicy) -> Location {
        let table = IpTable::embedded().expect("table");
        locate(request, policy, client_address(request, policy), &table)
    }

    #[test]
    fn ip_table_places_the_client_in_its_country() {
        let request = headers(&[(SPIN_CLIENT_ADDR, "202.12.29.1:1234")]);
        let location = locate_with(&request, &ClientPolicy::default());
        assert_eq!(location.country.as_deref(), Some("AU"));
        assert_eq!(location.source, LocationSource::IpTable);
    }

    #[test]
    fn cdn_country_wins_over_the_ip_only_through_a_trusted_proxy() {
        let request = headers(&[
            (SPIN_CLIENT_ADDR, "127.0.0.1:1"),
            (X_FORWARDED_FOR, "202.12.29.1"),
            ("cf-ipcountry", "de"),
        ]);
        let location = locate_with(&request, &behind_local_proxy());
        assert_eq!(location.country.as_deref(), Some("DE"));
        assert_eq!(location.source, LocationSource::CdnCountry);
        let direct = headers(&[(SPIN_CLIENT_ADDR, "202.12.29.1:1"), ("cf-ipcountry", "DE")]);
        assert_eq!(
            locate_with(&direct, &ClientPolicy::default())
                .country
                .as_deref(),
            Some("AU")
        );
    }

    #[test]
    fn override_header_needs_the_variable() {
        let request = headers(&[(SPIN_CLIENT_ADDR, "127.0.0.1:1"), (LOCATION_OVERRIDE, "IN")]);
        assert_eq!(
            locate_with(&request, &ClientPolicy::default()).source,
            LocationSource::Unknown
        );
        let testing = ClientPolicy {
            allow_location_override: true,
            ..ClientPolicy::default()
        };
        assert_eq!(
            locate_with(&request, &testing).country.as_deref(),
            Some("IN")
        );
        let coordinates = headers(&[(LOCATION_OVERRIDE, "1.3,103.8")]);
        let location = locate_with(&coordinates, &testing);
        assert_eq!(location.coordinates, Some(Coordinates::new(1.3, 103.8)));
        assert_eq!(location.source, LocationSource::Override);
    }
}
