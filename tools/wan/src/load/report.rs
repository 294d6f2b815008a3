//! What a run saw: every request's kind, latency, outcome and serving region, and the
//! orders students were told were paid. Turned into per-location, per-kind figures.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::mix::Kind;

/// Error lines kept for the report (the count is always complete).
const ERRORS_KEPT: usize = 20;

pub struct Sample {
    pub location: usize,
    pub kind: Kind,
    /// Since the run started.
    pub started: Duration,
    pub latency: Duration,
    pub ok: bool,
    pub served_by: Option<String>,
}

#[derive(Default)]
pub struct Recorder {
    samples: Mutex<Vec<Sample>>,
    errors: Mutex<(usize, Vec<String>)>,
    orders: Mutex<Vec<String>>,
    abandoned: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    pub fn sample(
        &self,
        location: usize,
        kind: Kind,
        started: Duration,
        latency: Duration,
        ok: bool,
        served_by: Option<String>,
    ) {
        lock(&self.samples).push(Sample {
            location,
            kind,
            started,
            latency,
            ok,
            served_by,
        });
    }

    pub fn error(&self, line: String) {
        let mut errors = lock(&self.errors);
        errors.0 += 1;
        if errors.1.len() < ERRORS_KEPT {
            errors.1.push(line);
        }
    }

    pub fn order_confirmed(&self, order: &str) {
        lock(&self.orders).push(order.to_owned());
    }

    pub fn checkout_abandoned(&self, key: &str) {
        lock(&self.abandoned).push(key.to_owned());
    }

    pub fn error_count(&self) -> usize {
        lock(&self.errors).0
    }

    pub fn take_samples(&self) -> Vec<Sample> {
        std::mem::take(&mut *lock(&self.samples))
    }

    pub fn summary(&self) -> Value {
        let errors = lock(&self.errors);
        json!({
            "errors": errors.0,
            "first_errors": errors.1,
            "orders": *lock(&self.orders),
            "abandoned_checkouts": *lock(&self.abandoned),
        })
    }
}

/// Latency figures of successful requests (milliseconds, nearest rank), and the errors.
#[derive(Serialize)]
pub struct Stats {
    pub count: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

fn stats<'a>(samples: impl Iterator<Item = &'a Sample>) -> Stats {
    let mut latencies = Vec::new();
    let (mut count, mut errors) = (0, 0);
    for sample in samples {
        count += 1;
        if sample.ok {
            latencies.push(sample.latency.as_secs_f64() * 1000.0);
        } else {
            errors += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let rank = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        (latencies[index] * 10.0).round() / 10.0
    };
    Stats {
        count,
        errors,
        p50_ms: rank(0.50),
        p95_ms: rank(0.95),
        p99_ms: rank(0.99),
    }
}

/// Per location: every kind, all kinds together, and which regions served it.
pub fn per_location(samples: &[Sample], names: &[String]) -> Value {
    let locations: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mine: Vec<&Sample> = samples.iter().filter(|s| s.location == index).collect();
            let mut kinds: BTreeMap<Kind, Vec<&Sample>> = BTreeMap::new();
            let mut served_by: BTreeMap<String, usize> = BTreeMap::new();
            for sample in &mine {
                kinds.entry(sample.kind).or_default().push(sample);
                let region = sample.served_by.clone().unwrap_or_else(|| "-".to_owned());
                *served_by.entry(region).or_default() += 1;
            }
            let kinds: BTreeMap<&str, Stats> = kinds
                .into_iter()
                .map(|(kind, samples)| (kind.label(), stats(samples.into_iter())))
                .collect();
            json!({"name": name, "all": stats(mine.iter().copied()), "kinds": kinds, "served_by": served_by})
        })
        .collect();
    Value::Array(locations)
}

/// The per-location table on stdout.
pub fn print(locations: &Value) {
    println!(
        "{:<14} {:<12} {:>6} {:>6} {:>9} {:>9} {:>9}",
        "location", "kind", "count", "errors", "p50 ms", "p95 ms", "p99 ms"
    );
    let row = |location: &str, kind: &str, stats: &Value| {
        println!(
            "{:<14} {:<12} {:>6} {:>6} {:>9.1} {:>9.1} {:>9.1}",
            location,
            kind,
            stats["count"].as_u64().unwrap_or(0),
            stats["errors"].as_u64().unwrap_or(0),
            stats["p50_ms"].as_f64().unwrap_or(0.0),
            stats["p95_ms"].as_f64().unwrap_or(0.0),
            stats["p99_ms"].as_f64().unwrap_or(0.0),
        );
    };
    for location in locations.as_array().into_iter().flatten() {
        let name = location["name"].as_str().unwrap_or("?");
        if let Some(kinds) = location["kinds"].as_object() {
            for (kind, stats) in kinds {
                row(name, kind, stats);
            }
        }
        row(name, "ALL", &location["all"]);
        println!("{:<14} served by: {}", name, location["served_by"]);
    }
}
