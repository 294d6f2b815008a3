//! `spin-test-host serve`: serve a Spin app without Spin, for benchmarks and machines without it.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use spin_test_host::{App, InstanceReuse, StateDir};

#[derive(Parser)]
#[command(version, about = "A Spin-compatible host for tests and benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app's HTTP triggers (and run its Redis triggers) until interrupted.
    /// Application variables come from SPIN_VARIABLE_<NAME>.
    Serve {
        #[arg(long, default_value = "spin.toml")]
        manifest: PathBuf,
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        #[arg(long)]
        runtime_config_file: Option<PathBuf>,
        /// As `spin up --state-dir`: where the `default` key-value store's SQLite file goes
        /// (default: the runtime config's `state_dir`, else `<manifest folder>/.spin`; `""`: none,
        /// in memory).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Set TCP_NODELAY on accepted connections, which Spin never does (for measurements:
        /// without it, as in Spin, a response body written after its headers waits ~40 ms for
        /// the client's delayed ACK).
        #[arg(long)]
        tcp_nodelay: bool,
        /// Requests one instance serves before it is replaced (1: a fresh instance each time).
        #[arg(long, default_value_t = InstanceReuse::default().max_requests)]
        max_instance_reuse_count: usize,
        /// Requests one instance serves at the same time.
        #[arg(long, default_value_t = InstanceReuse::default().max_concurrent)]
        max_instance_concurrent_reuse_count: usize,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "spin_test_host=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve {
        manifest,
        listen,
        runtime_config_file,
        state_dir,
        tcp_nodelay,
        max_instance_reuse_count,
        max_instance_concurrent_reuse_count,
    } = Cli::parse().command;
    let reuse = InstanceReuse {
        max_requests: max_instance_reuse_count.max(1),
        max_concurrent: max_instance_concurrent_reuse_count.max(1),
        ..InstanceReuse::default()
    };
    let cwd = std::env::current_dir()?;
    let mut builder = App::builder(cwd.join(manifest))
        .listen(listen)
        .tcp_nodelay(tcp_nodelay)
        .instance_reuse(reuse)
        .state_dir(match state_dir {
            None => StateDir::SpinDefault,
            Some(dir) if dir.as_os_str().is_empty() => StateDir::Unset,
            Some(dir) => StateDir::Provided(cwd.join(dir)),
        });
    if let Some(file) = runtime_config_file {
        builder = builder.runtime_config(cwd.join(file));
    }
    let app = builder.start().await?;
    eprintln!("Serving http://{}", app.addr());
    tokio::select! {
        served = app.wait() => served,
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot wait for Ctrl-C"),
    }
}
