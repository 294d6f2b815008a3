//! The latency/fault proxy: one TCP listener per simulated network link, each carrying its
//! bytes with half the link's round-trip time in each direction, and a control API that
//! changes a link's latency or fault while traffic flows (as Toxiproxy does; this kernel has
//! no `netem`).

mod control;
mod link;
mod pipe;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// One link as the plan describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LinkConfig {
    /// `<from>><to>`, e.g. `client-europe>eu-west` or `ap-south>postgres`.
    pub name: String,
    /// The ends of the link: what `PUT /links?touching=<end>` selects on.
    pub from: String,
    pub to: String,
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
    /// Address the proxy connects from: lets a client link arrive from the routers'
    /// trusted proxy address while region-to-region links arrive from an untrusted one.
    #[serde(default)]
    pub source: Option<IpAddr>,
    pub rtt_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
}

/// What is wrong with a link on top of its latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    None,
    /// Nothing crosses: new connections hang before reaching the upstream, open ones stop
    /// delivering (bytes are held, as TCP would keep retransmitting them) until healed.
    Partition,
    /// Every open connection is reset and every new one reset at once.
    Reset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    pub rtt_ms: u64,
    pub jitter_ms: u64,
    pub fault: Fault,
}

/// A change asked for through the control API; absent fields stay as they are.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    pub rtt_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub fault: Option<Fault>,
}

impl LinkState {
    fn patched(self, patch: LinkPatch) -> LinkState {
        LinkState {
            rtt_ms: patch.rtt_ms.unwrap_or(self.rtt_ms),
            jitter_ms: patch.jitter_ms.unwrap_or(self.jitter_ms),
            fault: patch.fault.unwrap_or(self.fault),
        }
    }
}

/// A running link: its configuration and the state every connection on it watches.
pub struct Link {
    pub config: LinkConfig,
    state: watch::Sender<LinkState>,
}

impl Link {
    fn new(config: LinkConfig) -> Link {
        let state = LinkState {
            rtt_ms: config.rtt_ms,
            jitter_ms: config.jitter_ms,
            fault: Fault::None,
        };
        Link {
            config,
            state: watch::Sender::new(state),
        }
    }

    pub fn state(&self) -> LinkState {
        *self.state.borrow()
    }

    pub fn apply(&self, patch: LinkPatch) -> LinkState {
        self.state
            .send_modify(|state| *state = state.patched(patch));
        self.state()
    }

    pub fn touches(&self, end: &str) -> bool {
        self.config.from == end || self.config.to == end
    }
}

/// Reads the links file, opens every link and serves the control API until interrupted.
pub async fn run(links_file: &Path, control: SocketAddr) -> Result<()> {
    let text = std::fs::read_to_string(links_file)
        .with_context(|| format!("reading {}", links_file.display()))?;
    let configs: Vec<LinkConfig> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", links_file.display()))?;
    let links: Arc<Vec<Arc<Link>>> = Arc::new(
        configs
            .into_iter()
            .map(|c| Arc::new(Link::new(c)))
            .collect(),
    );
    for link in links.iter() {
        // Bind now so a taken port fails start-up instead of a later connection.
        let listener = tokio::net::TcpListener::bind(link.config.listen)
            .await
            .with_context(|| {
                format!(
                    "link {}: listening on {}",
                    link.config.name, link.config.listen
                )
            })?;
        tokio::spawn(link::serve(link.clone(), listener));
    }
    eprintln!(
        "wan proxy: {} links, control API on http://{control}",
        links.len()
    );
    control::serve(control, links).await
}
