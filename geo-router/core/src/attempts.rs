//! Trying a request's planned regions in turn: which region comes next, whether it must be
//! probed first, whether a failed attempt may be repeated elsewhere, why the region that
//! served was chosen, and what the health table learns on the way.
//!
//! The component performs each step (a probe, a forwarded request, the local component)
//! and reports how it went; every decision is taken here.

use http::{HeaderMap, Method};

use crate::health::{HealthTable, Status};
use crate::routing::{Delivery, MAX_ATTEMPTS, Plan, Reason, may_try_next};
use crate::topology::Region;

/// What to do next with a request whose plan starts elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step<'t> {
    /// This region is next: serve the request with the local component.
    ServeHere,
    /// The region's cool-down is over: ask its `/alive` before sending it the request.
    Probe(&'t Region),
    /// Send the request to this region.
    Forward(&'t Region),
    /// No region may be tried any more: the client gets 503.
    GiveUp,
}

/// The attempts made for one request, in plan order.
#[derive(Debug)]
pub struct Attempts<'t> {
    remaining: std::vec::IntoIter<&'t Region>,
    local: &'t str,
    planned_reason: Reason,
    method: Method,
    headers: HeaderMap,
    now_ms: u64,
    cooldown_ms: u64,
    table: HealthTable,
    table_changed: bool,
    sent: u32,
    failures: Vec<String>,
    /// A region that answered its probe: it gets the request next.
    probed: Option<&'t Region>,
    /// An attempt failed in a way that makes repeating the request unsafe.
    stopped: bool,
}

impl<'t> Attempts<'t> {
    /// `table` is the health table `plan` was made with; `method` and `headers` decide
    /// whether a request that may have arrived somewhere can be sent again.
    pub fn new(
        plan: Plan<'t>,
        local: &'t str,
        table: HealthTable,
        request: (&Method, &HeaderMap),
        now_ms: u64,
        cooldown_ms: u64,
    ) -> Self {
        Self {
            remaining: plan.regions.into_iter(),
            local,
            planned_reason: plan.reason,
            method: request.0.clone(),
            headers: request.1.clone(),
            now_ms,
            cooldown_ms,
            table,
            table_changed: false,
            sent: 0,
            failures: Vec::new(),
            probed: None,
            stopped: false,
        }
    }

    pub fn next_step(&mut self) -> Step<'t> {
        if self.stopped {
            return Step::GiveUp;
        }
        if let Some(region) = self.probed.take() {
            self.sent += 1;
            return Step::Forward(region);
        }
        if self.sent >= MAX_ATTEMPTS {
            return Step::GiveUp;
        }
        let Some(region) = self.remaining.next() else {
            return Step::GiveUp;
        };
        if region.name == self.local {
            self.sent += 1;
            return Step::ServeHere;
        }
        if self.table.status(&region.name, self.now_ms) == Status::Probe {
            return Step::Probe(region);
        }
        self.sent += 1;
        Step::Forward(region)
    }

    /// The probe's verdict: a live region gets the request, a dead one another cool-down.
    pub fn probed(&mut self, region: &'t Region, alive: bool) {
        if alive {
            self.probed = Some(region);
        } else {
            self.mark_down(region, "probe failed".to_owned());
        }
    }

    /// The region answered (a 503 from its components is an answer too).
    pub fn answered(&mut self, region: &Region) {
        self.table_changed |= self.table.mark_up(&region.name);
    }

    /// The region did not answer; `delivery` says whether it may have acted on the request.
    pub fn failed(&mut self, region: &Region, delivery: Delivery, error: String) {
        self.mark_down(region, error);
        if !may_try_next(&self.method, &self.headers, delivery) {
            self.stopped = true;
        }
    }

    fn mark_down(&mut self, region: &Region, error: String) {
        self.failures.push(format!("{}: {error}", region.name));
        self.table
            .mark_down(&region.name, self.now_ms, self.cooldown_ms);
        self.table_changed = true;
    }

    /// Requests sent so far (to other regions, or to the local component).
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// Why the serving region served: the plan's reason, or failover once a region failed.
    pub fn reason(&self) -> Reason {
        if self.failures.is_empty() {
            self.planned_reason
        } else {
            Reason::Failover
        }
    }

    /// What went wrong on the way, for the log line.
    pub fn errors(&self) -> Option<String> {
        (!self.failures.is_empty()).then(|| self.failures.join("; "))
    }

    /// The health table to store, when this request changed it.
    pub fn changed_health(&self) -> Option<&HealthTable> {
        self.table_changed.then_some(&self.table)
    }
}

/// A remote router's own 502 or 504 means that region could not serve the request; a 503
/// is an answer (its dependencies said so) and is passed on like any other.
pub fn is_gateway_failure(status: u16) -> bool {
    matches!(status, 502 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::Coordinates;
    use crate::routing::{RouteClass, plan};
    use crate::topology::Topology;
    use crate::topology::tests::topology;

    const MUMBAI: Coordinates = Coordinates::new(19.0, 72.8);
    const COOLDOWN_MS: u64 = 1_000;

    fn attempts<'t>(
        topology: &'t Topology,
        table: HealthTable,
        method: &Method,
        headers: &HeaderMap,
    ) -> Attempts<'t> {
        let plan = plan(topology, RouteClass::Read, Some(MUMBAI), None, |name| {
            table.status(name, 0)
        });
        Attempts::new(
            plan,
            &topology.local().name,
            table,
            (method, headers),
            0,
            COOLDOWN_MS,
        )
    }

    fn forwarded_to(step: Step<'_>) -> String {
        match step {
            Step::Forward(region) => region.name.clone(),
            other => panic!("expected a forward, got {other:?}"),
        }
    }

    #[test]
    fn a_read_that_meets_a_dead_region_is_served_by_the_next_and_the_region_marked_down() {
        let topology = topology("us-east");
        let mut attempts = attempts(
            &topology,
            HealthTable::default(),
            &Method::GET,
            &HeaderMap::new(),
        );
        let first = attempts.next_step();
        assert_eq!(forwarded_to(first), "ap-south");
        let Step::Forward(ap_south) = first else {
            unreachable!()
        };
        attempts.failed(ap_south, Delivery::MaybeDelivered, "timeout".into());
        assert_eq!(forwarded_to(attempts.next_step()), "eu-west");
        assert_eq!(attempts.sent(), 2);
        assert_eq!(attempts.reason(), Reason::Failover);
        assert_eq!(attempts.errors().as_deref(), Some("ap-south: timeout"));
        let stored = attempts.changed_health().expect("health changed");
        assert_eq!(stored.status("ap-south", 0), Status::Down);
    }

    #[test]
    fn at_most_two_regions_are_tried() {
        let topology = topology("us-east");
        let mut attempts = attempts(
            &topology,
            HealthTable::default(),
            &Method::GET,
            &HeaderMap::new(),
        );
        for _ in 0..MAX_ATTEMPTS {
            let Step::Forward(region) = attempts.next_step() else {
                panic!("expected a forward");
            };
            attempts.failed(region, Delivery::NotSent, "refused".into());
        }
        assert_eq!(attempts.next_step(), Step::GiveUp);
    }

    #[test]
    fn a_write_that_may_have_arrived_is_not_sent_again_unless_it_carries_a_key() {
        let topology = topology("us-east");
        let mut attempts = attempts(
            &topology,
            HealthTable::default(),
            &Method::PUT,
            &HeaderMap::new(),
        );
        let Step::Forward(region) = attempts.next_step() else {
            panic!("expected a forward");
        };
        attempts.failed(region, Delivery::MaybeDelivered, "connection reset".into());
        assert_eq!(attempts.next_step(), Step::GiveUp);

        let mut keyed = HeaderMap::new();
        keyed.insert("idempotency-key", http::HeaderValue::from_static("k1"));
        let mut attempts = attempts_with_key(&topology, &keyed);
        let Step::Forward(region) = attempts.next_step() else {
            panic!("expected a forward");
        };
        attempts.failed(region, Delivery::MaybeDelivered, "connection reset".into());
        assert_eq!(forwarded_to(attempts.next_step()), "eu-west");
    }

    fn attempts_with_key<'t>(topology: &'t Topology, headers: &HeaderMap) -> Attempts<'t> {
        attempts(topology, HealthTable::default(), &Method::POST, headers)
    }

    #[test]
    fn a_write_that_never_left_goes_on_to_the_next_region() {
        let topology = topology("eu-west");
        let mut attempts = attempts(
            &topology,
            HealthTable::default(),
            &Method::PUT,
            &HeaderMap::new(),
        );
        let Step::Forward(region) = attempts.next_step() else {
            panic!("expected a forward");
        };
        assert_eq!(region.name, "ap-south");
        attempts.failed(region, Delivery::NotSent, "connection refused".into());
        assert_eq!(attempts.next_step(), Step::ServeHere);
        assert_eq!(attempts.sent(), 2);
    }

    #[test]
    fn a_region_out_of_its_cool_down_is_probed_before_it_gets_the_request() {
        let topology = topology("us-east");
        let mut cooled = HealthTable::default();
        cooled.mark_down("ap-south", 0, 0);
        let mut attempts = attempts(&topology, cooled.clone(), &Method::GET, &HeaderMap::new());
        let Step::Probe(region) = attempts.next_step() else {
            panic!("expected a probe");
        };
        attempts.probed(region, true);
        assert_eq!(forwarded_to(attempts.next_step()), "ap-south");
        attempts.answered(region);
        assert_eq!(attempts.reason(), Reason::Nearest);
        let stored = attempts.changed_health().expect("the region is back");
        assert_eq!(stored.status("ap-south", 0), Status::Up);

        let mut attempts = attempts_after_failed_probe(&topology, cooled);
        assert_eq!(forwarded_to(attempts.next_step()), "eu-west");
        assert_eq!(attempts.sent(), 1, "a probe is not an attempt");
    }

    fn attempts_after_failed_probe(topology: &Topology, table: HealthTable) -> Attempts<'_> {
        let mut attempts = attempts(topology, table, &Method::GET, &HeaderMap::new());
        let Step::Probe(region) = attempts.next_step() else {
            panic!("expected a probe");
        };
        attempts.probed(region, false);
        attempts
    }

    #[test]
    fn an_answer_from_a_healthy_region_writes_no_health() {
        let topology = topology("us-east");
        let mut attempts = attempts(
            &topology,
            HealthTable::default(),
            &Method::GET,
            &HeaderMap::new(),
        );
        let Step::Forward(region) = attempts.next_step() else {
            panic!("expected a forward");
        };
        attempts.answered(region);
        assert!(attempts.changed_health().is_none());
        assert_eq!(attempts.reason(), Reason::Nearest);
        assert_eq!(attempts.errors(), None);
    }

    #[test]
    fn only_a_remote_routers_gateway_errors_count_as_failures() {
        assert!(is_gateway_failure(502));
        assert!(is_gateway_failure(504));
        assert!(!is_gateway_failure(503));
        assert!(!is_gateway_failure(500));
    }
}
