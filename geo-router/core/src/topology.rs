//! The regions this app runs in, read from the `regions` and `region` variables.
//!
//! `regions` is JSON, the same in every region (the app is symmetric):
//! `[{"name":"us-east","origin":"https://us.example.com","lat":39.0,"lon":-77.5,"primary":true}, ...]`.

use serde::Deserialize;

use crate::geo::{Coordinates, distance_km};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    /// Public base URL other regions forward to, without a trailing slash.
    pub origin: String,
    pub lat: f64,
    pub lon: f64,
    /// Whether the PostgreSQL primary lives in (or nearest to) this region.
    #[serde(default)]
    pub primary: bool,
}

impl Region {
    pub fn coordinates(&self) -> Coordinates {
        Coordinates::new(self.lat, self.lon)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    local: usize,
    primary: usize,
    regions: Vec<Region>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    #[error("regions is not valid JSON: {0}")]
    Json(String),
    #[error("regions must list at least one region")]
    Empty,
    #[error("region {0} is listed twice")]
    Duplicate(String),
    #[error("region {0} has an origin that is not an http(s) URL")]
    BadOrigin(String),
    #[error("exactly one region must hold the PostgreSQL primary, found {0}")]
    Primary(usize),
    #[error("this region ({0}) is not listed in regions")]
    UnknownLocal(String),
}

impl Topology {
    pub fn parse(local: &str, regions_json: &str) -> Result<Self, TopologyError> {
        let mut regions: Vec<Region> = serde_json::from_str(regions_json)
            .map_err(|error| TopologyError::Json(error.to_string()))?;
        if regions.is_empty() {
            return Err(TopologyError::Empty);
        }
        for region in regions.iter_mut() {
            let origin = region.origin.trim_end_matches('/');
            let valid = origin.parse::<http::Uri>().is_ok_and(|uri| {
                matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
            });
            if !valid {
                return Err(TopologyError::BadOrigin(region.name.clone()));
            }
            region.origin = origin.to_owned();
        }
        for (index, region) in regions.iter().enumerate() {
            if regions[..index]
                .iter()
                .any(|other| other.name == region.name)
            {
                return Err(TopologyError::Duplicate(region.name.clone()));
            }
        }
        let primaries: Vec<usize> = (0..regions.len()).filter(|&i| regions[i].primary).collect();
        let [primary] = primaries[..] else {
            return Err(TopologyError::Primary(primaries.len()));
        };
        let local = regions
            .iter()
            .position(|region| region.name == local)
            .ok_or_else(|| TopologyError::UnknownLocal(local.to_owned()))?;
        Ok(Self {
            local,
            primary,
            regions,
        })
    }

    pub fn local(&self) -> &Region {
        &self.regions[self.local]
    }

    pub fn primary(&self) -> &Region {
        &self.regions[self.primary]
    }

    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|region| region.name == name)
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Every region, nearest to `point` first; ties broken by name so every region agrees.
    pub fn by_distance(&self, point: Coordinates) -> Vec<&Region> {
        let mut ranked: Vec<(f64, &Region)> = self
            .regions
            .iter()
            .map(|region| (distance_km(point, region.coordinates()), region))
            .collect();
        ranked.sort_by(|(a, ra), (b, rb)| a.total_cmp(b).then_with(|| ra.name.cmp(&rb.name)));
        ranked.into_iter().map(|(_, region)| region).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const THREE_REGIONS: &str = r#"[
        {"name":"us-east","origin":"http://127.0.0.1:3001/","lat":39.0,"lon":-77.5,"primary":true},
        {"name":"eu-west","origin":"http://127.0.0.1:3002","lat":53.3,"lon":-6.3},
        {"name":"ap-south","origin":"http://127.0.0.1:3003","lat":19.1,"lon":72.9}
    ]"#;

    pub(crate) fn topology(local: &str) -> Topology {
        Topology::parse(local, THREE_REGIONS).expect("valid topology")
    }

    #[test]
    fn parses_regions_and_finds_local_and_primary() {
        let topology = topology("eu-west");
        assert_eq!(topology.local().name, "eu-west");
        assert_eq!(topology.primary().name, "us-east");
        assert_eq!(
            topology.region("us-east").map(|r| r.origin.as_str()),
            Some("http://127.0.0.1:3001")
        );
    }

    #[test]
    fn ranks_regions_by_distance() {
        let topology = topology("us-east");
        let paris = Coordinates::new(48.9, 2.35);
        let names: Vec<&str> = topology
            .by_distance(paris)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["eu-west", "us-east", "ap-south"]);
        let singapore = Coordinates::new(1.35, 103.8);
        assert_eq!(topology.by_distance(singapore)[0].name, "ap-south");
    }

    #[test]
    fn refuses_inconsistent_topologies() {
        let two_primaries =
            THREE_REGIONS.replace(r#""lon":-6.3}"#, r#""lon":-6.3,"primary":true}"#);
        assert_eq!(
            Topology::parse("us-east", &two_primaries),
            Err(TopologyError::Primary(2))
        );
        assert_eq!(
            Topology::parse("mars", THREE_REGIONS),
            Err(TopologyError::UnknownLocal("mars".into()))
        );
        let bad_origin = THREE_REGIONS.replace("http://127.0.0.1:3003", "ftp://x");
        assert_eq!(
            Topology::parse("us-east", &bad_origin),
            Err(TopologyError::BadOrigin("ap-south".into()))
        );
        let duplicate = THREE_REGIONS.replace("ap-south", "eu-west");
        assert_eq!(
            Topology::parse("us-east", &duplicate),
            Err(TopologyError::Duplicate("eu-west".into()))
        );
        assert_eq!(Topology::parse("us-east", "[]"), Err(TopologyError::Empty));
        assert!(matches!(
            Topology::parse("us-east", "{"),
            Err(TopologyError::Json(_))
        ));
    }
}
