//! The latency/fault proxy as its users see it: a link adds its round trip, a partition
//! holds traffic until healed, a reset breaks connections, and a stopped upstream refuses
//! connections instead of accepting them.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

const RTT: Duration = Duration::from_millis(100);
const BOUND: Duration = Duration::from_secs(10);

fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The proxy process, killed on drop.
struct Proxy {
    child: Child,
    control: String,
    listen: SocketAddr,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_proxy(upstream: SocketAddr) -> Result<Proxy> {
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let control = format!("127.0.0.1:{}", free_port()?);
    let links = std::env::temp_dir().join(format!("wan-links-{}.json", listen.port()));
    let link = json!([{"name": "a>b", "from": "a", "to": "b", "listen": listen, "upstream": upstream,
                       "rtt_ms": RTT.as_millis() as u64, "jitter_ms": 0}]);
    std::fs::write(&links, link.to_string())?;
    let child = Command::new(env!("CARGO_BIN_EXE_wan"))
        .args(["proxy", "--links"])
        .arg(&links)
        .args(["--control", &control])
        .stderr(Stdio::null())
        .spawn()
        .context("starting wan proxy")?;
    let proxy = Proxy {
        child,
        control: format!("http://{control}"),
        listen,
    };
    let deadline = Instant::now() + BOUND;
    while reqwest::get(format!("{}/links", proxy.control))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("the proxy's control API did not come up");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(proxy)
}

async fn set_fault(proxy: &Proxy, fault: &str) -> Result<()> {
    let response = reqwest::Client::new()
        .put(format!("{}/links?touching=b", proxy.control))
        .json(&json!({"fault": fault}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "control API: {}",
        response.status()
    );
    Ok(())
}

/// An upstream that echoes every connection's bytes back.
async fn echo_server() -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                while let Ok(count) = stream.read(&mut buffer).await {
                    if count == 0 || stream.write_all(&buffer[..count]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok((address, task))
}

async fn round_trip(stream: &mut TcpStream) -> Result<Duration> {
    let begun = Instant::now();
    stream.write_all(b"ping").await?;
    let mut answer = [0u8; 4];
    stream.read_exact(&mut answer).await?;
    anyhow::ensure!(&answer == b"ping", "echoed {answer:?}");
    Ok(begun.elapsed())
}

#[tokio::test]
async fn a_link_adds_its_round_trip_and_a_partition_holds_traffic_until_healed() -> Result<()> {
    let (upstream, _echo) = echo_server().await?;
    let proxy = start_proxy(upstream).await?;
    let mut stream = TcpStream::connect(proxy.listen).await?;
    let first = timeout(BOUND, round_trip(&mut stream)).await??;
    assert!(first >= RTT, "first exchange took {first:?}");
    let second = timeout(BOUND, round_trip(&mut stream)).await??;
    assert!(second >= RTT, "second exchange took {second:?}");

    set_fault(&proxy, "partition").await?;
    stream.write_all(b"ping").await?;
    let mut answer = [0u8; 4];
    let held = timeout(RTT * 5, stream.read_exact(&mut answer)).await;
    assert!(held.is_err(), "bytes crossed a partitioned link");
    set_fault(&proxy, "none").await?;
    timeout(BOUND, stream.read_exact(&mut answer)).await??;
    assert_eq!(&answer, b"ping");
    Ok(())
}

#[tokio::test]
async fn a_reset_breaks_open_connections_and_a_stopped_upstream_refuses_new_ones() -> Result<()> {
    let (upstream, echo) = echo_server().await?;
    let proxy = start_proxy(upstream).await?;
    let mut stream = TcpStream::connect(proxy.listen).await?;
    timeout(BOUND, round_trip(&mut stream)).await??;
    set_fault(&proxy, "reset").await?;
    let broken = timeout(BOUND, round_trip(&mut stream)).await?;
    assert!(broken.is_err(), "a reset link still carried bytes");
    set_fault(&proxy, "none").await?;

    echo.abort();
    let _ = echo.await;
    // The first connection finds the upstream gone; from then on the link refuses.
    let deadline = Instant::now() + BOUND;
    loop {
        match TcpStream::connect(proxy.listen).await {
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => break,
            Err(error) => bail!("unexpected connect error: {error}"),
            Ok(mut probe) => {
                let _ = timeout(BOUND, round_trip(&mut probe)).await;
            }
        }
        if Instant::now() > deadline {
            bail!("the link kept accepting connections for a stopped upstream");
        }
    }
    Ok(())
}
