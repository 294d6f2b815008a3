//! When the outbox relay re-publishes an event, and when it gives up.
//!
//! Redis pub/sub delivers at most once, so an `order.paid` event stays in the outbox
//! until the worker has recorded it in `processed_events`. The relay re-publishes events
//! not processed `redrive_after_secs` after payment, backing off exponentially, and
//! dead-letters an event after `max_attempts` publications (the first is checkout's).

/// Upper bound of the backoff, so a recovered worker is not kept waiting for days.
pub const MAX_BACKOFF_SECS: i64 = 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayPolicy {
    pub redrive_after_secs: i64,
    pub max_attempts: i32,
}

impl Default for RelayPolicy {
    fn default() -> Self {
        Self {
            redrive_after_secs: 30,
            max_attempts: 8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayDecision {
    /// Publish again; if still unprocessed, look again after this many seconds.
    Republish {
        retry_in_secs: i64,
    },
    DeadLetter,
}

impl RelayPolicy {
    /// Seconds after the `attempts`-th publication before the event is due again:
    /// `redrive_after * 2^(attempts-1)`, capped.
    pub fn delay_after(&self, attempts: i32) -> i64 {
        let exponent = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.redrive_after_secs
            .max(0)
            .saturating_mul(1_i64 << exponent)
            .min(MAX_BACKOFF_SECS)
    }

    /// What to do with a due, unprocessed event already published `attempts` times.
    pub fn decide(&self, attempts: i32) -> RelayDecision {
        if attempts >= self.max_attempts {
            RelayDecision::DeadLetter
        } else {
            RelayDecision::Republish {
                retry_in_secs: self.delay_after(attempts + 1),
            }
        }
    }
}

/// `enrollment_mode`: how a paid order becomes an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentMode {
    /// Publish `order.paid` on Redis for the Redis-triggered worker.
    Redis,
    /// Enroll in PostgreSQL from checkout and the relay: for hosts without the Redis trigger.
    Direct,
}

impl EnrollmentMode {
    pub fn parse(value: &str) -> Self {
        if value.trim().eq_ignore_ascii_case("direct") {
            Self::Direct
        } else {
            Self::Redis
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_with_a_cap() {
        let policy = RelayPolicy {
            redrive_after_secs: 30,
            max_attempts: 8,
        };
        assert_eq!(policy.delay_after(1), 30);
        assert_eq!(policy.delay_after(2), 60);
        assert_eq!(policy.delay_after(3), 120);
        assert_eq!(policy.delay_after(30), MAX_BACKOFF_SECS);
    }

    #[test]
    fn dead_letters_after_the_maximum() {
        let policy = RelayPolicy {
            redrive_after_secs: 10,
            max_attempts: 3,
        };
        assert_eq!(
            policy.decide(1),
            RelayDecision::Republish { retry_in_secs: 20 }
        );
        assert_eq!(
            policy.decide(2),
            RelayDecision::Republish { retry_in_secs: 40 }
        );
        assert_eq!(policy.decide(3), RelayDecision::DeadLetter);
    }

    #[test]
    fn zero_delay_means_immediately_due() {
        let policy = RelayPolicy {
            redrive_after_secs: 0,
            max_attempts: 5,
        };
        assert_eq!(
            policy.decide(1),
            RelayDecision::Republish { retry_in_secs: 0 }
        );
    }

    #[test]
    fn mode_defaults_to_redis() {
        assert_eq!(EnrollmentMode::parse("direct"), EnrollmentMode::Direct);
        assert_eq!(EnrollmentMode::parse(" Direct "), EnrollmentMode::Direct);
        assert_eq!(EnrollmentMode::parse("redis"), EnrollmentMode::Redis);
        assert_eq!(EnrollmentMode::parse(""), EnrollmentMode::Redis);
    }
}
