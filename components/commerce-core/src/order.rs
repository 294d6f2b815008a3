//! Order states and the transitions allowed between them.
//!
//! The database enforces the same rules: every status change is an
//! `UPDATE ... WHERE status = <from>`, so a transition that lost a race changes nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Enrolled,
    PaymentFailed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Enrolled,
        Self::PaymentFailed,
        Self::Cancelled,
    ];

    /// The value stored in `orders.status` (and shown in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Enrolled => "enrolled",
            Self::PaymentFailed => "payment_failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// `pending_payment -> paid -> enrolled`, or `pending_payment -> payment_failed | cancelled`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        matches!(
            (self, next),
            (Self::PendingPayment, Self::Paid)
                | (Self::PendingPayment, Self::PaymentFailed)
                | (Self::PendingPayment, Self::Cancelled)
                | (Self::Paid, Self::Enrolled)
        )
    }
}

/// A guarded status change, as bound into `UPDATE orders ... WHERE status = $from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl Transition {
    pub const PAY: Transition = Transition::new(OrderStatus::PendingPayment, OrderStatus::Paid);
    pub const DECLINE: Transition =
        Transition::new(OrderStatus::PendingPayment, OrderStatus::PaymentFailed);
    pub const ENROLL: Transition = Transition::new(OrderStatus::Paid, OrderStatus::Enrolled);

    const fn new(from: OrderStatus, to: OrderStatus) -> Self {
        Self { from, to }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn happy_path_and_failures_are_allowed() {
        for transition in [Transition::PAY, Transition::DECLINE, Transition::ENROLL] {
            assert!(transition.from.can_become(transition.to), "{transition:?}");
        }
    }

    #[test]
    fn no_going_back_or_skipping() {
        use OrderStatus::*;
        assert!(!Paid.can_become(PendingPayment));
        assert!(!Enrolled.can_become(Paid));
        assert!(!PendingPayment.can_become(Enrolled));
        assert!(!PaymentFailed.can_become(Paid));
        assert!(!Paid.can_become(PaymentFailed));
        for status in OrderStatus::ALL {
            assert!(!status.can_become(status));
        }
    }
}
