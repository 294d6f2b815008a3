//! The user mix: what a simulated student does next, and the kinds of request it makes.

use serde::Serialize;

use crate::rng::Rng;

/// One thing a student does; some take several requests (a checkout adds to the cart,
/// pays, then reads its order back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Browse,
    Search,
    CoursePage,
    MyCourses,
    Cart,
    SignIn,
    Checkout,
}

/// Weights out of 100: browsing and search most, course pages, "my courses" polling, the
/// cart, signing in again, and a few checkouts.
pub const WEIGHTS: [(Action, u64); 7] = [
    (Action::Browse, 30),
    (Action::Search, 20),
    (Action::CoursePage, 20),
    (Action::MyCourses, 12),
    (Action::Cart, 10),
    (Action::SignIn, 5),
    (Action::Checkout, 3),
];

/// `checkout_weight` replaces the checkout's weight (e.g. to put many checkouts in flight
/// when Redis goes down).
pub fn next_action(rng: &mut Rng, checkout_weight: Option<u64>) -> Action {
    let weights = WEIGHTS.map(|(action, weight)| match (action, checkout_weight) {
        (Action::Checkout, Some(checkout)) => (action, checkout),
        _ => (action, weight),
    });
    let total: u64 = weights.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.below(total);
    for (action, weight) in weights {
        if roll < weight {
            return action;
        }
        roll -= weight;
    }
    Action::Browse
}

/// A kind of request, as the report groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Browse,
    Search,
    CoursePage,
    SignUp,
    SignIn,
    CartAdd,
    CartView,
    Checkout,
    OrderRead,
    MyCourses,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Browse => "browse",
            Kind::Search => "search",
            Kind::CoursePage => "course-page",
            Kind::SignUp => "sign-up",
            Kind::SignIn => "sign-in",
            Kind::CartAdd => "cart-add",
            Kind::CartView => "cart-view",
            Kind::Checkout => "checkout",
            Kind::OrderRead => "order-read",
            Kind::MyCourses => "my-courses",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_follows_its_weights() {
        let mut rng = Rng::seeded(42);
        let draws = 20_000;
        let browses = (0..draws)
            .filter(|_| next_action(&mut rng, None) == Action::Browse)
            .count();
        let share = browses as f64 / draws as f64;
        assert!((0.27..0.33).contains(&share), "browse share {share}");
    }
}
