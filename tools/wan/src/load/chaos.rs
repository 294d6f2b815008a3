//! Chaos during a run: a command (stop a region, partition it, stop Redis...) run at a
//! set time into the load and an optional healing command later, and what clients saw.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::report::Sample;

#[derive(Clone)]
pub struct ChaosPlan {
    pub command: String,
    pub at: Duration,
    pub heal: Option<(String, Duration)>,
}

/// When the commands actually ran, since the run started.
pub struct ChaosTimes {
    pub struck: Duration,
    pub healed: Option<Duration>,
}

async fn shell(command: &str) -> Result<()> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .await
        .with_context(|| format!("running {command}"))?;
    ensure!(status.success(), "{command}: {status}");
    Ok(())
}

pub async fn run(plan: ChaosPlan, started: Instant) -> Result<ChaosTimes> {
    tokio::time::sleep_until(started + plan.at).await;
    let struck = started.elapsed();
    eprintln!("chaos at {:.1} s: {}", struck.as_secs_f64(), plan.command);
    shell(&plan.command).await?;
    let mut healed = None;
    if let Some((command, at)) = plan.heal {
        tokio::time::sleep_until(started + at).await;
        healed = Some(started.elapsed());
        eprintln!(
            "heal at {:.1} s: {command}",
            started.elapsed().as_secs_f64()
        );
        shell(&command).await?;
    }
    Ok(ChaosTimes { struck, healed })
}

/// Per location, over the requests that ended after chaos struck (those in flight when it
/// struck included): the errors clients saw, and how many requests (and how long) until one
/// succeeded in a region other than the victim.
pub fn analyse(
    samples: &[Sample],
    names: &[String],
    times: &ChaosTimes,
    victim: Option<&str>,
) -> Value {
    let locations: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut after: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.location == index && s.started + s.latency >= times.struck)
                .collect();
            after.sort_by_key(|s| s.started + s.latency);
            let errors = after.iter().filter(|s| !s.ok).count();
            let served_by_victim = after
                .iter()
                .filter(|s| s.ok && victim.is_some() && s.served_by.as_deref() == victim)
                .count();
            let moved = after
                .iter()
                .position(|s| s.ok && (victim.is_none() || s.served_by.as_deref() != victim));
            let moved_after_ms = moved
                .and_then(|i| after.get(i))
                .map(|s| ((s.started + s.latency).saturating_sub(times.struck)).as_millis());
            json!({
                "name": name,
                "requests_after": after.len(),
                "errors_after": errors,
                "requests_until_moved": moved,
                "moved_after_ms": moved_after_ms,
                "served_by_victim_after": served_by_victim,
            })
        })
        .collect();
    json!({
        "struck_at_s": times.struck.as_secs_f64(),
        "healed_at_s": times.healed.map(|t| t.as_secs_f64()),
        "victim": victim,
        "locations": locations,
    })
}
