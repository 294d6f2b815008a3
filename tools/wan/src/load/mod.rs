//! `wan load`: simulated students on every continent, each entering through its own
//! region's link (or us-east's, in the single-region deployment), bounded in requests and
//! time. Prints count, p50, p95 and p99 per location and kind; exits non-zero on any
//! unexpected answer unless told the run is a chaos run, where errors are expected and
//! counted, and the order audit gives the verdict.

mod browser;
mod chaos;
mod mix;
mod report;
mod student;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use report::Recorder;
use student::Student;

#[derive(clap::Args)]
pub struct LoadOptions {
    /// `clients.json` written by `wan plan`.
    #[arg(long)]
    clients: PathBuf,
    #[arg(long, default_value_t = 3)]
    students_per_location: usize,
    /// Requests per location, all its students together.
    #[arg(long, default_value_t = 300)]
    requests: u64,
    /// The run stops starting requests after this many seconds, whatever is left.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// Requests per second per location; 0: every student sends as soon as it has an answer.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seeds the mix: the same seed makes the same choices against any deployment.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// A chaos run: errors are counted and reported, not fatal; checkouts are retried.
    #[arg(long)]
    tolerate_errors: bool,
    /// Shell command run `--chaos-at` seconds into the run.
    #[arg(long)]
    chaos_command: Option<String>,
    #[arg(long, default_value_t = 10)]
    chaos_at: u64,
    /// Shell command run `--heal-at` seconds into the run.
    #[arg(long, requires = "heal_at")]
    heal_command: Option<String>,
    #[arg(long)]
    heal_at: Option<u64>,
    /// The region the chaos hits: traffic has moved once a request succeeds elsewhere.
    #[arg(long)]
    victim: Option<String>,
    /// Replaces the checkout's weight in the mix (3 of 100 by default).
    #[arg(long)]
    checkout_weight: Option<u64>,
    /// Writes everything measured, and the orders confirmed, as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Clone, Deserialize)]
pub struct Entry {
    pub region: String,
    pub url: String,
}

#[derive(Clone, Deserialize)]
pub struct LocationPlan {
    pub name: String,
    pub client_ip: String,
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct ClientsFile {
    topology: String,
    locations: Vec<LocationPlan>,
}

/// A location during the run: its plan, its remaining request budget and its pace.
pub struct LocationRun {
    pub index: usize,
    pub plan: LocationPlan,
    budget: AtomicU64,
    pacer: Option<Mutex<Interval>>,
}

impl LocationRun {
    pub fn budget_left(&self) -> bool {
        self.budget.load(Ordering::Relaxed) > 0
    }

    pub fn spend_one(&self) {
        let _ = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            });
    }

    pub async fn pace(&self) {
        if let Some(pacer) = &self.pacer {
            pacer.lock().await.tick().await;
        }
    }
}

/// What students pick from: read once before the run.
pub struct Catalog {
    pub ids: Vec<String>,
    pub slugs: Vec<String>,
    pub words: Vec<String>,
}

pub struct Shared {
    pub catalog: Catalog,
    pub recorder: Recorder,
    pub started: Instant,
    pub deadline: Instant,
    pub tolerate_errors: bool,
    pub checkout_weight: Option<u64>,
}

async fn read_catalog(http: &reqwest::Client, location: &LocationPlan) -> Result<Catalog> {
    let entry = location
        .entries
        .first()
        .context("a location without entries")?;
    let mut catalog = Catalog {
        ids: Vec::new(),
        slugs: Vec::new(),
        words: Vec::new(),
    };
    for page in 1..=3 {
        let url = format!("{}/api/courses?page={page}&page_size=100", entry.url);
        let response = http
            .get(&url)
            .header("x-forwarded-for", &location.client_ip)
            .send()
            .await?;
        ensure!(response.status() == 200, "{url}: {}", response.status());
        let body: Value = response.json().await?;
        for course in body["items"].as_array().into_iter().flatten() {
            let field = |name: &str| course[name].as_str().map(str::to_owned);
            catalog.ids.extend(field("id"));
            catalog.slugs.extend(field("slug"));
            let title = field("title").unwrap_or_default().to_lowercase();
            catalog.words.extend(
                title
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .filter(|w| w.len() >= 4)
                    .map(str::to_owned),
            );
        }
    }
    catalog.words.sort();
    catalog.words.dedup();
    ensure!(
        !catalog.ids.is_empty(),
        "the catalog is empty: was the database seeded?"
    );
    Ok(catalog)
}

pub async fn run(options: LoadOptions) -> Result<()> {
    let text = std::fs::read_to_string(&options.clients)
        .with_context(|| format!("reading {}", options.clients.display()))?;
    let clients: ClientsFile = serde_json::from_str(&text).context("parsing the clients file")?;
    let timeout = Duration::from_millis(options.timeout_ms);
    let http = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
    };
    let first = clients
        .locations
        .first()
        .context("no locations in the clients file")?;
    let catalog = read_catalog(&http()?, first).await?;
    let started = Instant::now();
    let shared = Arc::new(Shared {
        catalog,
        recorder: Recorder::default(),
        started,
        deadline: started + Duration::from_secs(options.max_seconds),
        tolerate_errors: options.tolerate_errors,
        checkout_weight: options.checkout_weight,
    });
    let names: Vec<String> = clients.locations.iter().map(|l| l.name.clone()).collect();
    let mut students = Vec::new();
    for (index, plan) in clients.locations.into_iter().enumerate() {
        let pacer = (options.rate > 0.0).then(|| {
            let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / options.rate));
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            Mutex::new(interval)
        });
        let location = Arc::new(LocationRun {
            index,
            plan,
            budget: AtomicU64::new(options.requests),
            pacer,
        });
        for number in 0..options.students_per_location {
            let seed = options
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add((index * 1000 + number) as u64);
            let student = Student::new(http()?, location.clone(), shared.clone(), seed);
            students.push(tokio::spawn(student.run()));
        }
    }
    let chaos = options.chaos_command.clone().map(|command| {
        let heal = options
            .heal_command
            .clone()
            .zip(options.heal_at.map(Duration::from_secs));
        let plan = chaos::ChaosPlan {
            command,
            at: Duration::from_secs(options.chaos_at),
            heal,
        };
        tokio::spawn(chaos::run(plan, started))
    });
    for student in students {
        student.await.context("a student task failed")?;
    }
    let chaos_times = match chaos {
        Some(task) => Some(task.await.context("the chaos task failed")??),
        None => None,
    };
    let elapsed = started.elapsed().as_secs_f64();
    let samples = shared.recorder.take_samples();
    let locations = report::per_location(&samples, &names);
    let chaos = chaos_times
        .map(|times| chaos::analyse(&samples, &names, &times, options.victim.as_deref()));
    let mut result = shared.recorder.summary();
    result["topology"] = json!(clients.topology);
    result["seconds"] = json!(elapsed);
    result["requests"] = json!(samples.len());
    result["locations"] = locations.clone();
    result["chaos"] = chaos.clone().unwrap_or(Value::Null);
    println!(
        "{} topology: {} requests in {elapsed:.1} s",
        clients.topology,
        samples.len()
    );
    report::print(&locations);
    if let Some(chaos) = &chaos {
        println!("chaos: {chaos}");
    }
    for line in result["first_errors"].as_array().into_iter().flatten() {
        println!("error: {}", line.as_str().unwrap_or_default());
    }
    if let Some(path) = &options.report {
        std::fs::write(path, serde_json::to_string_pretty(&result)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let errors = shared.recorder.error_count();
    if errors > 0 && !options.tolerate_errors {
        bail!("{errors} unexpected answers (see the errors above)");
    }
    Ok(())
}
