//! An app's guest stderr, captured to a file, read as the one log format (`platform::log`):
//! one JSON object per line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;
use uuid::Uuid;

/// A file for an app's guest stderr (`TestAppBuilder::stderr_to(log.path())`); removed on
/// drop.
pub struct GuestLog {
    path: PathBuf,
}

impl GuestLog {
    pub fn new() -> GuestLog {
        let name = format!("guest-stderr-{}.jsonl", Uuid::now_v7());
        GuestLog {
            path: std::env::temp_dir().join(name),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> Result<String> {
        std::fs::read_to_string(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))
    }

    /// Every line, parsed; fails on a line that is not one JSON object.
    pub fn lines(&self) -> Result<Vec<Value>> {
        let text = self.text()?;
        text.lines()
            .map(|line| {
                serde_json::from_str(line).with_context(|| format!("not a JSON line: {line}"))
            })
            .collect()
    }

    /// The lines carrying `request_id`, in the order they were written.
    pub fn of_request(&self, request_id: &str) -> Result<Vec<Value>> {
        let lines = self.lines()?;
        Ok(lines
            .into_iter()
            .filter(|line| line["request_id"] == request_id)
            .collect())
    }
}

impl Default for GuestLog {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for GuestLog {
    fn drop(&mut self) {
        // Absent when the app never wrote to stderr.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `(component, event)` of each line: what a test compares.
pub fn events(lines: &[Value]) -> Vec<(&str, &str)> {
    lines
        .iter()
        .map(|line| {
            let text = |name: &str| line[name].as_str().unwrap_or_default();
            (text("component"), text("event"))
        })
        .collect()
}
