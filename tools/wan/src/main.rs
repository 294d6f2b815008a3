//! `wan`: the WAN simulation of the regions (see README "WAN simulation").
//!
//! - `wan plan`: writes the links, clients and per-region settings of a deployment;
//! - `wan proxy`: the latency/fault proxy carrying every link;
//! - `wan load`: the user-mix load generator;
//! - `wan audit`: the order invariants in PostgreSQL after a run.

mod audit;
mod load;
mod plan;
mod proxy;
mod rng;
mod topology;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "WAN simulation of the regions: proxy, plan, load, audit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write links.json, clients.json and each region's settings into --state-dir.
    Plan(plan::PlanOptions),
    /// Carry every link of a links file with its latency; control API on --control.
    Proxy {
        #[arg(long)]
        links: PathBuf,
        #[arg(long, default_value = "127.0.0.1:3100")]
        control: SocketAddr,
    },
    /// Run the user mix from every location and report latencies.
    Load(load::LoadOptions),
    /// Check orders, payments and enrollments after a run.
    Audit(audit::AuditOptions),
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Plan(options) => plan::write(&options),
        Command::Proxy { links, control } => proxy::run(&links, control).await,
        Command::Load(options) => load::run(options).await,
        Command::Audit(options) => audit::run(options).await,
    }
}
