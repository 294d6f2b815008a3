//! Checkout benchmark: checkouts per second against a `pgbench` insert baseline
//! measured on the same database in the same run, checkout latency p50/p99 and
//! enrollment lag (payment to enrollment recorded) p50/p99 under that load, and where a
//! checkout's time goes: the median of each step the component reports in `server-timing`.
//!
//! `cargo bench --workspace --bench checkout` (after `scripts/build-wasm.sh`; the quicker
//! `cargo test --workspace --bench checkout` reuses the test build).
//! Knobs: `CHECKOUT_BENCH_USERS` (default 40; each buys the 5 published fixture courses
//! one checkout at a time), `CHECKOUT_BENCH_CONCURRENCY` (default 8), `CHECKOUT_BENCH_RUNS`
//! (default 3, interleaved with the baseline; medians reported).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use platform_tests::fixtures::course_id;
use platform_tests::{SUCCESS_CARD, TestApp, json_of};
use reqwest::StatusCode;
use uuid::Uuid;

const PUBLISHED: [&str; 5] = [
    "rust-ownership",
    "async-rust",
    "python-data",
    "figma-basics",
    "typography",
];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<()> {
    let users = knob("CHECKOUT_BENCH_USERS", 40);
    let concurrency = knob("CHECKOUT_BENCH_CONCURRENCY", 8).max(1);
    let runs = knob("CHECKOUT_BENCH_RUNS", 3).max(1);
    // One load generator is one client: lift the router's per-client rate limit.
    let shop = TestApp::builder()
        .variable("rate_limit_requests", "1000000000")
        .start()
        .await?;
    create_baseline_table(&shop).await?;

    // Interleaved, so drift in machine load hits both alike.
    let mut rates = Vec::new();
    let mut baselines = Vec::new();
    let mut timed = Vec::new();
    for _ in 0..runs {
        let run = checkouts(&shop, users, concurrency).await?;
        rates.push(run.per_second);
        timed.extend(run.timed);
        baselines.push(pgbench_inserts_per_second(&shop, concurrency).await?);
    }
    let (p50, p99) = enrollment_lag_ms(&shop).await?;
    let ratios: Vec<f64> = rates.iter().zip(&baselines).map(|(r, b)| r / b).collect();
    println!(
        "checkout benchmark: {runs} runs of {} checkouts by {concurrency} clients",
        users * PUBLISHED.len()
    );
    println!("  checkouts/s per run:          {}", list(&rates));
    println!("  pgbench insert tps per run:   {}", list(&baselines));
    println!(
        "  median: {:.1} checkouts/s, baseline {:.1} tps, checkout/baseline x{:.3} (median of per-run ratios)",
        median(&rates),
        median(&baselines),
        median(&ratios),
    );
    let mut latencies: Vec<f64> = timed.iter().map(|checkout| checkout.millis).collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "  checkout latency, all runs: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
    println!(
        "  enrollment lag (payment recorded -> enrolled), all runs: p50 {p50:.1} ms, p99 {p99:.1} ms"
    );
    println!(
        "  server-timing of a checkout, median over {} checkouts:",
        timed.len()
    );
    println!("  | step | µs |");
    println!("  | --- | ---: |");
    for (step, micros) in step_medians(&timed) {
        println!("  | {step} | {micros:.0} |");
    }
    Ok(())
}

/// One checkout as the client saw it: its latency and the `server-timing` metrics.
struct TimedCheckout {
    millis: f64,
    steps: Vec<(String, f64)>,
}

struct Run {
    per_second: f64,
    timed: Vec<TimedCheckout>,
}

/// `name;dur=1.5;desc="x", ...` -> `[(name, 1.5)]`.
fn server_timing(value: &str) -> Vec<(String, f64)> {
    value
        .split(',')
        .filter_map(|metric| {
            let mut parts = metric.trim().split(';');
            let name = parts.next()?.to_owned();
            let millis = parts
                .find_map(|part| part.strip_prefix("dur="))
                .and_then(|dur| dur.parse().ok())?;
            Some((name, millis))
        })
        .collect()
}

/// Each step's median in microseconds, in the order steps first appear.
fn step_medians(timed: &[TimedCheckout]) -> Vec<(String, f64)> {
    let mut names: Vec<&str> = Vec::new();
    for checkout in timed {
        for (name, _) in &checkout.steps {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let values: Vec<f64> = timed
                .iter()
                .flat_map(|checkout| &checkout.steps)
                .filter(|(step, _)| step == name)
                .map(|(_, millis)| millis * 1000.0)
                .collect();
            (name.to_owned(), median(&values))
        })
        .collect()
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|value| format!("{value:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `users` new students each buy the 5 published fixture courses, one checkout at a time,
/// spread over `concurrency` clients.
async fn checkouts(shop: &TestApp, users: usize, concurrency: usize) -> Result<Run> {
    let mut signed_in = Vec::with_capacity(users);
    for _ in 0..users {
        signed_in.push(shop.student().await?);
    }
    let started = Instant::now();
    let mut clients = Vec::new();
    for share in signed_in.chunks(users.div_ceil(concurrency).max(1)) {
        clients.push(async move {
            let mut timed = Vec::new();
            for user in share {
                for slug in PUBLISHED {
                    user.add_to_cart(course_id(slug)).await?;
                    let key = Uuid::now_v7().to_string();
                    let sent = Instant::now();
                    let response = user.checkout(&key, SUCCESS_CARD).send().await?;
                    let steps = response
                        .headers()
                        .get("server-timing")
                        .and_then(|value| value.to_str().ok())
                        .map(server_timing)
                        .unwrap_or_default();
                    json_of::<serde_json::Value>(response, StatusCode::CREATED).await?;
                    timed.push(TimedCheckout {
                        millis: sent.elapsed().as_secs_f64() * 1000.0,
                        steps,
                    });
                }
            }
            anyhow::Ok(timed)
        });
    }
    let mut timed = Vec::new();
    for result in futures::future::join_all(clients).await {
        timed.extend(result?);
    }
    Ok(Run {
        per_second: (users * PUBLISHED.len()) as f64 / started.elapsed().as_secs_f64(),
        timed,
    })
}

/// Waits (bounded) until every paid order is enrolled, then reads the lag percentiles.
async fn enrollment_lag_ms(shop: &TestApp) -> Result<(f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = shop
            .db
            .client
            .query_one(
                "SELECT count(*) FROM orders WHERE status <> 'enrolled'",
                &[],
            )
            .await?;
        if row.get::<_, i64>(0) == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("orders still not enrolled after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lag = shop
        .db
        .client
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
             FROM (SELECT extract(epoch FROM e.enrolled_at - p.created_at) * 1000 AS ms
                   FROM enrollments e JOIN payments p ON p.order_id = e.order_id) lags",
            &[],
        )
        .await?;
    Ok((lag.get(0), lag.get(1)))
}

async fn create_baseline_table(shop: &TestApp) -> Result<()> {
    shop.db
        .client
        .batch_execute(
            "CREATE TABLE bench_inserts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             user_id uuid NOT NULL, total_cents bigint NOT NULL, created_at timestamp NOT NULL DEFAULT now())",
        )
        .await?;
    Ok(())
}

/// Single-row inserts per second into a scratch table of the same database, with the
/// same number of clients: the floor cost of durable writes on this machine.
async fn pgbench_inserts_per_second(shop: &TestApp, clients: usize) -> Result<f64> {
    let script =
        std::env::temp_dir().join(format!("checkout-bench-{}.sql", Uuid::now_v7().simple()));
    std::fs::write(
        &script,
        "INSERT INTO bench_inserts (user_id, total_cents) VALUES (gen_random_uuid(), 4900);\n",
    )?;
    let output = tokio::process::Command::new("pgbench")
        .args([
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-T",
            "5",
            "-j",
            "2",
        ])
        .arg("-c")
        .arg(clients.to_string())
        .arg("-f")
        .arg(&script)
        .arg(shop.db.database.name())
        .output()
        .await
        .context("running pgbench")?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| {
            format!(
                "no tps in pgbench output: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}
