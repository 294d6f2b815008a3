//! One link's listener and the connections it carries.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use super::{Fault, Link, LinkConfig, pipe};

/// How often a link whose upstream refused connections checks whether it is back.
const UPSTREAM_PROBE_INTERVAL: Duration = Duration::from_millis(200);

enum Event {
    Accepted(TcpStream),
    AcceptFailed(std::io::Error),
    UpstreamRefused,
}

/// Accepts and carries connections until the process ends.
///
/// When the upstream refuses a connection (its process is stopped) the link stops
/// listening until the upstream accepts again: callers then see a refused connection, as
/// they would without the proxy, instead of an accepted one that closes, which a router
/// must treat as a request that may have been delivered.
pub async fn serve(link: Arc<Link>, mut listener: TcpListener) {
    let (refused_tx, mut refused_rx) = mpsc::channel::<()>(1);
    loop {
        let event = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => Event::Accepted(client),
                Err(error) => Event::AcceptFailed(error),
            },
            Some(()) = refused_rx.recv() => Event::UpstreamRefused,
        };
        match event {
            Event::Accepted(client) => {
                tokio::spawn(carry(link.clone(), client, refused_tx.clone()));
            }
            Event::AcceptFailed(error) => {
                // Out of descriptors, say: back off briefly rather than spin.
                eprintln!("link {}: accept failed: {error}", link.config.name);
                tokio::time::sleep(UPSTREAM_PROBE_INTERVAL).await;
            }
            Event::UpstreamRefused => {
                drop(listener);
                eprintln!(
                    "link {}: upstream refuses; not listening until it is back",
                    link.config.name
                );
                wait_for_upstream(&link.config).await;
                listener = rebind(&link.config).await;
                while refused_rx.try_recv().is_ok() {}
                eprintln!(
                    "link {}: upstream is back; listening again",
                    link.config.name
                );
            }
        }
    }
}

async fn wait_for_upstream(config: &LinkConfig) {
    while TcpStream::connect(config.upstream).await.is_err() {
        tokio::time::sleep(UPSTREAM_PROBE_INTERVAL).await;
    }
}

async fn rebind(config: &LinkConfig) -> TcpListener {
    loop {
        match TcpListener::bind(config.listen).await {
            Ok(listener) => return listener,
            Err(error) => {
                eprintln!(
                    "link {}: listening again on {}: {error}",
                    config.name, config.listen
                );
                tokio::time::sleep(UPSTREAM_PROBE_INTERVAL).await;
            }
        }
    }
}

/// One client connection: waits out a partition, pays the handshake's round trip that
/// loopback hides, connects upstream and carries both directions with their delays.
async fn carry(link: Arc<Link>, client: TcpStream, refused: mpsc::Sender<()>) {
    let mut state = link.state.subscribe();
    loop {
        let fault = state.borrow_and_update().fault;
        match fault {
            Fault::None => break,
            Fault::Reset => return abort(client),
            Fault::Partition => {
                if state.changed().await.is_err() {
                    return;
                }
            }
        }
    }
    let handshake = Duration::from_millis(state.borrow().rtt_ms);
    tokio::time::sleep(handshake).await;
    let upstream = match connect(&link.config).await {
        Ok(upstream) => upstream,
        Err(error) => {
            if error.kind() == std::io::ErrorKind::ConnectionRefused {
                let _ = refused.try_send(());
            } else {
                eprintln!("link {}: connecting upstream: {error}", link.config.name);
            }
            return abort(client);
        }
    };
    // The proxy must not add Nagle stalls of its own; the ends keep their settings.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    pipe::carry_both(client, upstream, state).await;
}

async fn connect(config: &LinkConfig) -> std::io::Result<TcpStream> {
    let socket = if config.upstream.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = config.source {
        socket.bind((source, 0).into())?;
    }
    socket.connect(config.upstream).await
}

/// Closes with a reset (RST), not an orderly FIN.
pub fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
