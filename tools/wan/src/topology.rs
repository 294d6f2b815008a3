//! The simulated world: three regions, the PostgreSQL primary, its replica and the shared
//! Redis in us-east, and clients on three continents, with the round-trip times between them.

use serde::Serialize;

pub struct Region {
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
}

/// As in `deploy/local-regions.sh`; us-east holds the PostgreSQL primary.
pub const REGIONS: [Region; 3] = [
    Region {
        name: "us-east",
        lat: 39.0,
        lon: -77.5,
    },
    Region {
        name: "eu-west",
        lat: 53.3,
        lon: -6.3,
    },
    Region {
        name: "ap-south",
        lat: 19.1,
        lon: 72.9,
    },
];

pub const PRIMARY_REGION: &str = "us-east";

/// Where simulated students are, and the public address they send in `x-forwarded-for`
/// (registry countries the geo-router's IP table places near each region).
#[derive(Clone, Serialize)]
pub struct Location {
    pub name: &'static str,
    pub client_ip: &'static str,
    /// The region nearest to it, reached in [`CLIENT_TO_OWN_REGION_RTT_MS`].
    pub home: &'static str,
}

pub const LOCATIONS: [Location; 3] = [
    Location {
        name: "americas",
        client_ip: "200.160.0.1",
        home: "us-east",
    },
    Location {
        name: "europe",
        client_ip: "193.0.0.1",
        home: "eu-west",
    },
    Location {
        name: "asia-pacific",
        client_ip: "202.12.29.1",
        home: "ap-south",
    },
];

pub const CLIENT_TO_OWN_REGION_RTT_MS: u64 = 10;
/// A service in the same region (a database or Redis next to the app).
pub const SAME_REGION_RTT_MS: u64 = 1;

/// Round-trip time between two regions' data centres.
pub fn region_rtt_ms(a: &str, b: &str) -> u64 {
    match (a.min(b), a.max(b)) {
        (x, y) if x == y => SAME_REGION_RTT_MS,
        ("eu-west", "us-east") => 75,
        ("ap-south", "us-east") => 200,
        ("ap-south", "eu-west") => 120,
        _ => 200,
    }
}

/// A client at `location` reaching `region`: its own region is close, another costs the
/// trip from its own region's area to that region.
pub fn client_rtt_ms(location: &Location, region: &str) -> u64 {
    if location.home == region {
        CLIENT_TO_OWN_REGION_RTT_MS
    } else {
        region_rtt_ms(location.home, region)
    }
}

/// "A little jitter": about 5 % of the round trip, at least a millisecond.
pub fn jitter_ms(rtt_ms: u64) -> u64 {
    (rtt_ms / 20).max(1)
}

/// Regions other than `from`, nearest first: where a client of `from` falls back to.
pub fn by_distance_from(from: &str) -> Vec<&'static str> {
    let mut others: Vec<&'static str> = REGIONS
        .iter()
        .map(|r| r.name)
        .filter(|name| *name != from)
        .collect();
    others.sort_by_key(|name| region_rtt_ms(from, name));
    others
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_symmetric_and_match_the_issue() {
        assert_eq!(region_rtt_ms("us-east", "eu-west"), 75);
        assert_eq!(region_rtt_ms("ap-south", "us-east"), 200);
        assert_eq!(region_rtt_ms("eu-west", "ap-south"), 120);
        assert_eq!(region_rtt_ms("ap-south", "ap-south"), SAME_REGION_RTT_MS);
        let asia = &LOCATIONS[2];
        assert_eq!(client_rtt_ms(asia, "ap-south"), 10);
        assert_eq!(client_rtt_ms(asia, "us-east"), 200);
        assert_eq!(by_distance_from("ap-south"), vec!["eu-west", "us-east"]);
    }
}
