//! The proxy's links and the port each one listens on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{PlanOptions, RedisPlacement, Topology};
use crate::proxy::LinkConfig;
use crate::topology::{self, LOCATIONS, PRIMARY_REGION, REGIONS};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Where client links connect from: the routers' trusted proxy.
const CLIENT_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Port layout from the base: control, regions, then one block per kind of link.
pub struct Ports(pub u16);

impl Ports {
    pub fn control(&self) -> u16 {
        self.0
    }
    pub fn region(&self, region: usize) -> u16 {
        self.0 + 1 + region as u16
    }
    pub fn client(&self, location: usize, region: usize) -> u16 {
        self.0 + 10 + (location * 3 + region) as u16
    }
    pub fn hop(&self, from: usize, to: usize) -> u16 {
        self.0 + 20 + (from * 3 + to) as u16
    }
    pub fn postgres(&self, region: usize) -> u16 {
        self.0 + 30 + region as u16
    }
    pub fn replica(&self, region: usize) -> u16 {
        self.0 + 33 + region as u16
    }
    pub fn redis(&self, region: usize) -> u16 {
        self.0 + 36 + region as u16
    }
    pub fn regional_redis(&self, region: usize) -> u16 {
        self.0 + 39 + region as u16
    }
}

pub fn at(port: u16) -> SocketAddr {
    SocketAddr::new(LOOPBACK, port)
}

fn link(
    from: &str,
    to: &str,
    listen: u16,
    upstream: u16,
    rtt_ms: u64,
    source: Option<IpAddr>,
) -> LinkConfig {
    LinkConfig {
        name: format!("{from}>{to}"),
        from: from.to_owned(),
        to: to.to_owned(),
        listen: at(listen),
        upstream: at(upstream),
        source,
        rtt_ms,
        jitter_ms: topology::jitter_ms(rtt_ms),
    }
}

pub fn running_regions(topology: Topology) -> Vec<usize> {
    match topology {
        Topology::Geo => (0..REGIONS.len()).collect(),
        Topology::Single => vec![0],
    }
}

pub fn links(options: &PlanOptions) -> Vec<LinkConfig> {
    let ports = Ports(options.port_base);
    let running = running_regions(options.topology);
    let mut links = Vec::new();
    for (l, location) in LOCATIONS.iter().enumerate() {
        for &r in &running {
            let region = REGIONS[r].name;
            let rtt = topology::client_rtt_ms(location, region);
            let name = format!("client-{}", location.name);
            links.push(link(
                &name,
                region,
                ports.client(l, r),
                ports.region(r),
                rtt,
                Some(CLIENT_SOURCE),
            ));
        }
    }
    for &from in &running {
        for &to in running.iter().filter(|to| **to != from) {
            let (a, b) = (REGIONS[from].name, REGIONS[to].name);
            links.push(link(
                a,
                b,
                ports.hop(from, to),
                ports.region(to),
                topology::region_rtt_ms(a, b),
                None,
            ));
        }
        let region = REGIONS[from].name;
        let to_primary = topology::region_rtt_ms(region, PRIMARY_REGION);
        links.push(link(
            region,
            "postgres",
            ports.postgres(from),
            options.primary_port,
            to_primary,
            None,
        ));
        // One physical replica stands in for each region's own nearby replica.
        let replica_rtt = topology::SAME_REGION_RTT_MS;
        links.push(link(
            region,
            "replica",
            ports.replica(from),
            options.replica_port,
            replica_rtt,
            None,
        ));
        let to_redis = match options.redis {
            RedisPlacement::UsEast => to_primary,
            RedisPlacement::EveryRegion => topology::SAME_REGION_RTT_MS,
        };
        links.push(link(
            region,
            "redis",
            ports.redis(from),
            options.redis_port,
            to_redis,
            None,
        ));
        // One server stands in for each region's own Redis (a database each, see `plan`).
        links.push(link(
            region,
            "regional-redis",
            ports.regional_redis(from),
            options.regional_redis_port,
            topology::SAME_REGION_RTT_MS,
            None,
        ));
    }
    links
}
