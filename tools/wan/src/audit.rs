//! `wan audit`: after a run, checks in PostgreSQL that no order was lost or duplicated and
//! that every paid order was enrolled exactly once, waiting (bounded) for enrollment to
//! finish and running the outbox relay meanwhile, as the CronJob would.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::time::Instant;

#[derive(clap::Args)]
pub struct AuditOptions {
    #[arg(long)]
    database_url: String,
    /// Load reports (`wan load --report`): every order they confirmed must be paid and enrolled.
    #[arg(long = "report")]
    reports: Vec<PathBuf>,
    /// The primary region's router, where the audit runs `POST /api/admin/outbox/relay`.
    #[arg(long)]
    relay_url: Option<String>,
    #[arg(long, default_value = "admin@example.com")]
    admin_email: String,
    /// How long paid orders may take to be enrolled after the load.
    #[arg(long, default_value_t = 90)]
    drain_seconds: u64,
}

/// Each check: a name and the query counting its violations.
const CHECKS: [(&str, &str); 4] = [
    (
        "charged without a paid order",
        "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id \
         WHERE p.status = 'succeeded' AND o.status NOT IN ('paid', 'enrolled')",
    ),
    (
        "paid but not enrolled",
        "SELECT count(*) FROM orders WHERE status = 'paid'",
    ),
    (
        "enrolled other than exactly once",
        "SELECT count(*) FROM orders o WHERE o.status = 'enrolled' AND \
         (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) <> \
         (SELECT count(*) FROM enrollments e WHERE e.order_id = o.id)",
    ),
    (
        "duplicated (a course bought twice by one student)",
        "SELECT count(*) FROM (SELECT o.user_id, l.course_id FROM orders o \
         JOIN order_lines l ON l.order_id = o.id WHERE o.status IN ('paid', 'enrolled') \
         GROUP BY 1, 2 HAVING count(*) > 1) d",
    ),
];

const TOTALS: [(&str, &str); 6] = [
    (
        "orders paid or enrolled",
        "SELECT count(*) FROM orders WHERE status IN ('paid', 'enrolled')",
    ),
    (
        "orders left pending (no payment)",
        "SELECT count(*) FROM orders WHERE status = 'pending_payment'",
    ),
    (
        "successful payments",
        "SELECT count(*) FROM payments WHERE status = 'succeeded'",
    ),
    ("enrollments", "SELECT count(*) FROM enrollments"),
    (
        "events re-driven by the relay",
        "SELECT count(*) FROM outbox WHERE attempts > 1",
    ),
    ("dead letters", "SELECT count(*) FROM dead_letters"),
];

fn confirmed_orders(reports: &[PathBuf]) -> Result<Vec<String>> {
    let mut orders = Vec::new();
    for path in reports {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for order in report["orders"].as_array().into_iter().flatten() {
            orders.extend(order.as_str().map(str::to_owned));
        }
    }
    Ok(orders)
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> Result<i64> {
    Ok(client
        .query_one(sql, &[])
        .await
        .with_context(|| format!("running {sql}"))?
        .get(0))
}

/// Runs the relay once as the admin (`WAN_ADMIN_PASSWORD`), signing in on first use.
async fn relay(
    options: &AuditOptions,
    http: &reqwest::Client,
    session: &mut Option<String>,
) -> Result<()> {
    // From the environment, not the command line: a process list shows arguments.
    let password = std::env::var("WAN_ADMIN_PASSWORD").ok();
    let (Some(base), Some(password)) = (&options.relay_url, password) else {
        return Ok(());
    };
    if session.is_none() {
        let response = http
            .post(format!("{base}/api/session"))
            .json(&json!({"email": options.admin_email, "password": password}))
            .send()
            .await?;
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok()?.split(';').next().map(str::to_owned))
            .find(|pair| pair.starts_with("cp_session="));
        *session = Some(cookie.with_context(|| format!("admin sign-in: {}", response.status()))?);
    }
    let cookie = session.clone().unwrap_or_default();
    let response = http
        .post(format!("{base}/api/admin/outbox/relay"))
        .header("cookie", cookie)
        .send()
        .await?;
    if !response.status().is_success() {
        eprintln!("audit: relay answered {}", response.status());
    }
    Ok(())
}

pub async fn run(options: AuditOptions) -> Result<()> {
    let (client, connection) =
        tokio_postgres::connect(&options.database_url, tokio_postgres::NoTls)
            .await
            .context("connecting to PostgreSQL")?;
    tokio::spawn(connection);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(options.drain_seconds);
    let mut session = None;
    let waited = Instant::now();
    while count(&client, CHECKS[1].1).await? > 0 && Instant::now() < deadline {
        if let Err(error) = relay(&options, &http, &mut session).await {
            eprintln!("audit: relay: {error:#}");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let confirmed = confirmed_orders(&options.reports)?;
    let lost: i64 = client
        .query_one(
            "SELECT count(*) FROM unnest($1::text[]) c(id) LEFT JOIN orders o ON o.id = c.id::uuid \
             WHERE o.status IS NULL OR o.status NOT IN ('paid', 'enrolled')",
            &[&confirmed],
        )
        .await?
        .get(0);
    // In this order on stdout; as one JSON object on the `audit-json:` line.
    let mut lines: Vec<(&str, i64)> = vec![
        ("confirmed to clients", confirmed.len() as i64),
        ("lost (confirmed, not paid)", lost),
    ];
    let mut violations = lost;
    for (name, sql) in CHECKS {
        let found = count(&client, sql).await?;
        violations += found;
        lines.push((name, found));
    }
    for (name, sql) in TOTALS {
        lines.push((name, count(&client, sql).await?));
    }
    lines.push((
        "seconds waited for enrollment",
        waited.elapsed().as_secs() as i64,
    ));
    let mut result = json!({});
    for (name, value) in &lines {
        println!("audit: {name}: {value}");
        result[*name] = json!(value);
    }
    println!("audit-json: {result}");
    if violations > 0 {
        println!("audit: FAIL ({violations} violations)");
        bail!("{violations} order invariants violated");
    }
    println!("audit: PASS (0 lost, 0 duplicated, every paid order enrolled exactly once)");
    Ok(())
}
