//! Requests one region's router forwards to another ("hops"), and how a router tells a
//! genuine hop from a client posing as a region.
//!
//! A hop is served where it lands (never forwarded again), skips the rate limit (the
//! entry region counted it) and carries the original client's address. All three would
//! be gifts to an attacker who could forge one, so a hop is believed only when it carries
//! the shared `hop_secret`; without a secret no hop is believed at all, and a topology of
//! more than one region without one is refused.

use std::fmt;
use std::net::IpAddr;

use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::topology::Topology;

/// Names the region that forwarded the request.
pub const HOP_HEADER: &str = "x-cp-hop";
/// The shared secret proving that a hop came from one of our routers.
pub const HOP_SECRET_HEADER: &str = "x-cp-hop-secret";
/// The original client's address, as the forwarding router determined it.
pub const HOP_CLIENT_HEADER: &str = "x-cp-hop-client";

/// The `hop_secret` variable: never printed, compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct HopSecret(String);

impl fmt::Debug for HopSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("HopSecret(<redacted>)")
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "hop_secret must be set when regions lists more than one region \
     (every region's router needs the same secret to accept the others' forwarded requests)"
)]
pub struct MissingHopSecret;

impl HopSecret {
    /// Reads the variable; empty means none. Several regions need one.
    pub fn for_topology(
        value: &str,
        topology: &Topology,
    ) -> Result<Option<HopSecret>, MissingHopSecret> {
        let value = value.trim();
        match (value.is_empty(), topology.regions().len()) {
            (false, _) => Ok(Some(HopSecret(value.to_owned()))),
            (true, 1) => Ok(None),
            (true, _) => Err(MissingHopSecret),
        }
    }

    /// The header value a forwarding router sends.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }
}

/// What a router makes of an incoming request's hop headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hop {
    /// A client request (or, with no secret configured, a client's hop header, ignored):
    /// route it, rate-limit it.
    Edge,
    /// Forwarded by the router of `region`, for the client at `client`.
    From {
        region: String,
        client: Option<IpAddr>,
    },
    /// An authenticated hop that already passed through this region, or through more
    /// regions than allowed (at most one hop).
    Loop(String),
    /// Hop headers without the right secret: refused.
    Forged,
}

/// Judges the hop headers of a request arriving at region `local`.
pub fn hop(headers: &HeaderMap, local: &str, secret: Option<&HopSecret>) -> Hop {
    let path: Vec<&str> = headers
        .get_all(HOP_HEADER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if path.is_empty() {
        return Hop::Edge;
    }
    let Some(secret) = secret else {
        return Hop::Edge;
    };
    let authentic = headers
        .get(HOP_SECRET_HEADER)
        .is_some_and(|value| secret.matches(value.as_bytes()));
    if !authentic {
        return Hop::Forged;
    }
    match path.as_slice() {
        [from] if *from != local => Hop::From {
            region: (*from).to_owned(),
            client: headers
                .get(HOP_CLIENT_HEADER)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse().ok()),
        },
        _ => Hop::Loop(path.join(", ")),
    }
}

/// Headers a router adds to a request it forwards to another region.
pub fn forward_headers(
    local: &str,
    secret: Option<&HopSecret>,
    client: Option<IpAddr>,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![(HOP_HEADER, local.to_owned())];
    if let Some(secret) = secret {
        headers.push((HOP_SECRET_HEADER, secret.expose().to_owned()));
    }
    if let Some(client) = client {
        headers.push((HOP_CLIENT_HEADER, client.to_string()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::tests::topology;
    use http::HeaderValue;

    fn secret() -> HopSecret {
        HopSecret::for_topology("s3cret", &topology("eu-west"))
            .expect("valid")
            .expect("set")
    }

    fn request(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).expect("value"));
        }
        headers
    }

    #[test]
    fn several_regions_need_a_secret_and_one_region_does_not() {
        assert_eq!(
            HopSecret::for_topology(" ", &topology("eu-west")),
            Err(MissingHopSecret)
        );
        assert!(MissingHopSecret.to_string().contains("hop_secret"));
        let single = Topology::parse(
            "local",
            r#"[{"name":"local","origin":"http://127.0.0.1:3000","lat":0,"lon":0,"primary":true}]"#,
        )
        .expect("valid");
        assert_eq!(HopSecret::for_topology("", &single), Ok(None));
    }

    #[test]
    fn the_secret_never_prints() {
        assert!(!format!("{:?}", secret()).contains("s3cret"));
    }

    #[test]
    fn without_a_secret_hop_headers_are_ignored() {
        let forged = request(&[(HOP_HEADER, "us-east"), (HOP_CLIENT_HEADER, "1.2.3.4")]);
        assert_eq!(hop(&forged, "eu-west", None), Hop::Edge);
    }

    #[test]
    fn with_a_secret_only_the_right_one_is_believed() {
        let secret = secret();
        assert_eq!(hop(&HeaderMap::new(), "eu-west", Some(&secret)), Hop::Edge);
        let missing = request(&[(HOP_HEADER, "us-east")]);
        assert_eq!(hop(&missing, "eu-west", Some(&secret)), Hop::Forged);
        let wrong = request(&[(HOP_HEADER, "us-east"), (HOP_SECRET_HEADER, "s3cre")]);
        assert_eq!(hop(&wrong, "eu-west", Some(&secret)), Hop::Forged);
        let genuine = request(&[
            (HOP_HEADER, "us-east"),
            (HOP_SECRET_HEADER, "s3cret"),
            (HOP_CLIENT_HEADER, "202.12.29.1"),
        ]);
        assert_eq!(
            hop(&genuine, "eu-west", Some(&secret)),
            Hop::From {
                region: "us-east".into(),
                client: "202.12.29.1".parse().ok(),
            }
        );
    }

    #[test]
    fn authenticated_hops_allow_one_hop_and_refuse_loops() {
        let secret = secret();
        let back_home = request(&[(HOP_HEADER, "eu-west"), (HOP_SECRET_HEADER, "s3cret")]);
        assert_eq!(
            hop(&back_home, "eu-west", Some(&secret)),
            Hop::Loop("eu-west".into())
        );
        let two = request(&[
            (HOP_HEADER, "us-east, ap-south"),
            (HOP_SECRET_HEADER, "s3cret"),
        ]);
        assert_eq!(
            hop(&two, "eu-west", Some(&secret)),
            Hop::Loop("us-east, ap-south".into())
        );
    }

    #[test]
    fn forwarded_requests_carry_origin_secret_and_client() {
        let secret = secret();
        let client = "193.0.0.1".parse().ok();
        let headers = forward_headers("eu-west", Some(&secret), client);
        let forwarded = request(
            &headers
                .iter()
                .map(|(n, v)| (*n, v.as_str()))
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            hop(&forwarded, "us-east", Some(&secret)),
            Hop::From {
                region: "eu-west".into(),
                client
            }
        );
    }
}
