//! `wan plan`: writes everything a WAN deployment is started from, so the topology and its
//! round-trip times live in one place ([`crate::topology`]) and `deploy/wan.sh` only runs
//! processes:
//!
//! - `links.json`: the proxy's links (client→region, region→region, region→PostgreSQL
//!   primary, region→replica, region→shared Redis, region→its own Redis);
//! - `clients.json`: per location its client address and entry points, nearest first;
//! - `regions.txt`: `<region> <port>` per region to start;
//! - `regions/<region>/env` (the `SPIN_VARIABLE_*` of that region) and
//!   `regions/<region>/runtime-config.toml`.

mod links;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde_json::json;

use crate::topology::{self, LOCATIONS, Location, PRIMARY_REGION, REGIONS};
use links::{Ports, at, links, running_regions};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// Three regions, each client entering at its nearest one.
    Geo,
    /// us-east alone: every client, wherever it is, enters us-east.
    Single,
}

/// Where the shared Redis (sessions, `orders.paid`, catalog invalidations) is, as latency goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RedisPlacement {
    /// In us-east, beside the primary, as `deploy/README.md` describes: other regions pay
    /// their round trip to it.
    UsEast,
    /// A what-if: a Redis replicated into every region, each reaching its copy at
    /// same-region distance (one server stands in for all copies).
    EveryRegion,
}

#[derive(clap::Args)]
pub struct PlanOptions {
    #[arg(long, value_enum, default_value = "geo")]
    pub topology: Topology,
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Control API on this port, regions on the next three, links above (see `Ports`).
    #[arg(long, default_value_t = 3100)]
    pub port_base: u16,
    #[arg(long, default_value = "course_platform_wan")]
    pub database: String,
    #[arg(long, default_value_t = 5432)]
    pub primary_port: u16,
    #[arg(long, default_value_t = 5434)]
    pub replica_port: u16,
    #[arg(long, default_value_t = 6390)]
    pub redis_port: u16,
    #[arg(long, value_enum, default_value = "us-east")]
    pub redis: RedisPlacement,
    /// The server standing in for every region's own Redis (`regional_redis_url`): region
    /// number n (from 1) uses its database n.
    #[arg(long, default_value_t = 6391)]
    pub regional_redis_port: u16,
    /// `name=value`: an app variable for every region, over the defaults below.
    #[arg(long = "variable")]
    pub variables: Vec<String>,
}

/// App variables every WAN region gets, and why.
const DEFAULT_VARIABLES: [(&str, &str); 5] = [
    // Client links reach the routers from 127.0.0.2, the "CDN" whose x-forwarded-for they
    // believe; region-to-region links arrive from 127.0.0.1, untrusted, as between regions.
    ("trusted_proxies", "127.0.0.2"),
    ("allow_geo_override", "false"),
    // All simulated students of a continent share one client address.
    ("rate_limit_requests", "1000000"),
    // Chaos runs wait for re-drives in seconds, not minutes.
    ("outbox_redrive_after_seconds", "5"),
    ("outbox_relay_interval_seconds", "5"),
];

fn clients(options: &PlanOptions) -> serde_json::Value {
    let ports = Ports(options.port_base);
    let running = running_regions(options.topology);
    let entries = |l: usize, location: &Location| -> Vec<serde_json::Value> {
        let mut order = vec![location.home];
        order.extend(topology::by_distance_from(location.home));
        order
            .into_iter()
            .filter_map(|name| REGIONS.iter().position(|r| r.name == name))
            .filter(|r| running.contains(r))
            .map(|r| json!({"region": REGIONS[r].name, "url": format!("http://{}", at(ports.client(l, r)))}))
            .collect()
    };
    let locations: Vec<serde_json::Value> = LOCATIONS
        .iter()
        .enumerate()
        .map(|(l, location)| {
            json!({"name": location.name, "client_ip": location.client_ip, "home": location.home,
                   "entries": entries(l, location)})
        })
        .collect();
    json!({
        "topology": format!("{:?}", options.topology).to_lowercase(),
        "locations": locations,
        "control_url": format!("http://{}", at(ports.control())),
        // The primary region's router, straight (no link): for the audit's admin calls.
        "primary_url": format!("http://{}", at(ports.region(0))),
    })
}

/// The `regions` variable as region `from` sees it: other regions through its links to them.
fn topology_for(options: &PlanOptions, from: usize) -> String {
    let ports = Ports(options.port_base);
    let regions: Vec<serde_json::Value> = running_regions(options.topology)
        .into_iter()
        .map(|r| {
            let port = if r == from {
                ports.region(r)
            } else {
                ports.hop(from, r)
            };
            let region = &REGIONS[r];
            json!({"name": region.name, "origin": format!("http://{}", at(port)),
                   "lat": region.lat, "lon": region.lon, "primary": region.name == PRIMARY_REGION})
        })
        .collect();
    serde_json::Value::Array(regions).to_string()
}

fn region_env(options: &PlanOptions, r: usize, hop_secret: &str) -> Result<String> {
    let ports = Ports(options.port_base);
    let postgres = |port: u16| {
        format!(
            "postgres://postgres@{}/{}?sslmode=disable",
            at(port),
            options.database
        )
    };
    let mut variables: Vec<(String, String)> = vec![
        ("region".into(), REGIONS[r].name.into()),
        ("regions".into(), topology_for(options, r)),
        ("database_url".into(), postgres(ports.postgres(r))),
        ("replica_database_url".into(), postgres(ports.replica(r))),
        (
            "redis_url".into(),
            format!("redis://{}", at(ports.redis(r))),
        ),
        (
            "regional_redis_url".into(),
            format!("redis://{}/{}", at(ports.regional_redis(r)), r + 1),
        ),
        ("hop_secret".into(), hop_secret.to_owned()),
    ];
    variables.extend(
        DEFAULT_VARIABLES
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    for assignment in &options.variables {
        let (name, value) = assignment
            .split_once('=')
            .with_context(|| format!("--variable {assignment}: expected name=value"))?;
        variables.retain(|(existing, _)| existing != name);
        variables.push((name.to_owned(), value.to_owned()));
    }
    let mut env = String::new();
    for (name, value) in variables {
        ensure!(
            !value.contains('\''),
            "variable {name}: a single quote cannot be written to the env file"
        );
        writeln!(
            env,
            "export SPIN_VARIABLE_{}='{value}'",
            name.to_uppercase()
        )?;
    }
    Ok(env)
}

/// Key-value stores as `deploy/README.md` places them: router state, catalog cache, carts
/// and the test provider's records in the region (files of its own); sessions in the shared
/// Redis, reached through the region's link to it.
fn runtime_config(dir: &Path, redis_port: u16) -> String {
    let mut toml = String::new();
    for (label, file) in [
        ("default", "router"),
        ("catalog-cache", "catalog-cache"),
        ("carts", "carts"),
        ("payments_test", "payments"),
    ] {
        let path = dir.join(format!("{file}.db"));
        toml.push_str(&format!(
            "[key_value_store.{label}]\ntype = \"spin\"\npath = \"{}\"\n\n",
            path.display()
        ));
    }
    toml.push_str(&format!(
        "[key_value_store.sessions]\ntype = \"redis\"\nurl = \"redis://{}\"\n",
        at(redis_port)
    ));
    toml
}

pub fn write(options: &PlanOptions) -> Result<()> {
    let write_file = |path: &Path, text: String| {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    };
    std::fs::create_dir_all(&options.state_dir)
        .with_context(|| format!("creating {}", options.state_dir.display()))?;
    write_file(
        &options.state_dir.join("links.json"),
        serde_json::to_string_pretty(&links(options))?,
    )?;
    write_file(
        &options.state_dir.join("clients.json"),
        serde_json::to_string_pretty(&clients(options))?,
    )?;
    // The regions' shared secret comes from the environment, never the command line.
    let hop_secret = std::env::var("HOP_SECRET").context("HOP_SECRET must be set")?;
    let ports = Ports(options.port_base);
    let mut list = String::new();
    for r in running_regions(options.topology) {
        let name = REGIONS[r].name;
        let dir = options.state_dir.join("regions").join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_file(&dir.join("env"), region_env(options, r, &hop_secret)?)?;
        write_file(
            &dir.join("runtime-config.toml"),
            runtime_config(&dir, ports.redis(r)),
        )?;
        writeln!(list, "{name} {}", ports.region(r))?;
    }
    write_file(&options.state_dir.join("regions.txt"), list)?;
    write_file(
        &options.state_dir.join("control.txt"),
        format!("{}\n", ports.control()),
    )
}
