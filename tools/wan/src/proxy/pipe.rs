//! Carrying bytes across a link: each chunk read from one side is delivered to the other
//! half a round trip later (plus jitter), in order, without serialising chunks behind each
//! other's delay, so a link adds latency but no bandwidth limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Fault, LinkState, link::abort};
use crate::rng::Rng;

const CHUNK: usize = 64 * 1024;

/// Seeds each direction's jitter differently.
static DIRECTIONS: AtomicU64 = AtomicU64::new(1);

/// A chunk to write at `due`; `None` is the end of the stream (a FIN, delayed like data).
struct Delivery {
    due: Instant,
    bytes: Option<Vec<u8>>,
}

/// Carries both directions until both ends close, or resets both when the link is reset.
pub async fn carry_both(
    mut client: TcpStream,
    mut upstream: TcpStream,
    mut state: watch::Receiver<LinkState>,
) {
    let reset = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let (outward, inward) = (state.clone(), state.clone());
        let both = async {
            tokio::join!(
                direction(client_read, upstream_write, outward),
                direction(upstream_read, client_write, inward),
            )
        };
        tokio::select! {
            _ = both => false,
            () = reset_ordered(&mut state) => true,
        }
    };
    if reset {
        abort(client);
        abort(upstream);
    }
}

async fn reset_ordered(state: &mut watch::Receiver<LinkState>) {
    loop {
        if state.borrow_and_update().fault == Fault::Reset {
            return;
        }
        if state.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn direction(from: ReadHalf<'_>, to: WriteHalf<'_>, state: watch::Receiver<LinkState>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::join!(
        read(from, sender, state.clone()),
        deliver(to, receiver, state)
    );
}

async fn read(
    mut from: ReadHalf<'_>,
    deliveries: mpsc::UnboundedSender<Delivery>,
    state: watch::Receiver<LinkState>,
) {
    let mut rng = Rng::seeded(DIRECTIONS.fetch_add(1, Ordering::Relaxed));
    let mut last_due = Instant::now();
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let read = from.read(&mut buffer).await;
        let LinkState {
            rtt_ms, jitter_ms, ..
        } = *state.borrow();
        // Half the round trip each way; jitter never reorders a stream.
        let one_way = Duration::from_micros(rtt_ms * 500 + rng.below(jitter_ms * 500 + 1));
        let due = (Instant::now() + one_way).max(last_due);
        last_due = due;
        let bytes = match read {
            Ok(0) | Err(_) => None,
            Ok(count) => buffer.get(..count).map(<[u8]>::to_vec),
        };
        let ended = bytes.is_none();
        if deliveries.send(Delivery { due, bytes }).is_err() || ended {
            return;
        }
    }
}

async fn deliver(
    mut to: WriteHalf<'_>,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
    mut state: watch::Receiver<LinkState>,
) {
    while let Some(delivery) = deliveries.recv().await {
        tokio::time::sleep_until(delivery.due).await;
        // A partition holds what is in flight until it heals.
        while state.borrow_and_update().fault == Fault::Partition {
            if state.changed().await.is_err() {
                return;
            }
        }
        match delivery.bytes {
            Some(bytes) => {
                if to.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            None => {
                let _ = to.shutdown().await;
                return;
            }
        }
    }
}
