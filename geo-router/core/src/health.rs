//! Per-region health as the router saw it, kept in the key-value store as one JSON value.
//!
//! The store has no TTL, so each record carries its own expiry (`down_until_ms`): until
//! then the region is skipped; afterwards one probe decides whether it is back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Key of the table in the router's key-value store.
pub const HEALTH_KEY: &str = "geo-router:health";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionHealth {
    pub down_until_ms: u64,
    /// Consecutive failures; lengthens the cool-down of a region that keeps failing.
    pub failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Up,
    /// Marked down and still cooling down: route around it.
    Down,
    /// The cool-down is over: probe it before sending it traffic.
    Probe,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthTable {
    regions: BTreeMap<String, RegionHealth>,
}

/// Longest cool-down, however often a region failed.
const MAX_BACKOFF_FACTOR: u32 = 8;

impl HealthTable {
    /// Reads the stored table; a missing or unreadable value means "everyone is up".
    pub fn from_stored(bytes: Option<&[u8]>) -> Self {
        bytes
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or_default()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn status(&self, region: &str, now_ms: u64) -> Status {
        match self.regions.get(region) {
            None => Status::Up,
            Some(health) if now_ms < health.down_until_ms => Status::Down,
            Some(_) => Status::Probe,
        }
    }

    /// Records a failure: the region is skipped for `cooldown_ms`, doubled per repeated failure.
    pub fn mark_down(&mut self, region: &str, now_ms: u64, cooldown_ms: u64) {
        let failures = self.regions.get(region).map_or(0, |h| h.failures) + 1;
        let factor = 1u64 << (failures - 1).min(MAX_BACKOFF_FACTOR.trailing_zeros());
        self.regions.insert(
            region.to_owned(),
            RegionHealth {
                down_until_ms: now_ms.saturating_add(cooldown_ms.saturating_mul(factor)),
                failures,
            },
        );
    }

    /// Records a success; returns whether anything changed (so callers skip needless writes).
    pub fn mark_up(&mut self, region: &str) -> bool {
        self.regions.remove(region).is_some()
    }

    pub fn get(&self, region: &str) -> Option<RegionHealth> {
        self.regions.get(region).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_regions_are_up() {
        assert_eq!(HealthTable::default().status("eu-west", 0), Status::Up);
        assert_eq!(
            HealthTable::from_stored(Some(b"not json")),
            HealthTable::default()
        );
    }

    #[test]
    fn a_failed_region_is_down_until_its_cool_down_ends_then_probed() {
        let mut table = HealthTable::default();
        table.mark_down("eu-west", 1_000, 5_000);
        assert_eq!(table.status("eu-west", 5_999), Status::Down);
        assert_eq!(table.status("eu-west", 6_000), Status::Probe);
        assert_eq!(table.status("us-east", 2_000), Status::Up);
    }

    #[test]
    fn repeated_failures_back_off_up_to_a_limit() {
        let mut table = HealthTable::default();
        for _ in 0..2 {
            table.mark_down("ap-south", 0, 1_000);
        }
        assert_eq!(table.get("ap-south").map(|h| h.down_until_ms), Some(2_000));
        for _ in 0..10 {
            table.mark_down("ap-south", 0, 1_000);
        }
        assert_eq!(table.get("ap-south").map(|h| h.down_until_ms), Some(8_000));
    }

    #[test]
    fn success_clears_the_record_and_survives_a_round_trip() {
        let mut table = HealthTable::default();
        table.mark_down("eu-west", 0, 1_000);
        let stored = HealthTable::from_stored(Some(&table.to_bytes()));
        assert_eq!(stored, table);
        assert!(table.mark_up("eu-west"));
        assert!(!table.mark_up("eu-west"));
        assert_eq!(table.status("eu-west", 0), Status::Up);
    }
}
