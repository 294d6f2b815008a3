//! Money as integer minor units with an ISO 4217 currency code, as in the public API.

use serde::{Deserialize, Serialize};

/// Currency of an empty cart or order, where no line says otherwise.
pub const DEFAULT_CURRENCY: &str = "USD";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_cents: i64,
    pub currency: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("cannot add {0} to {1}")]
    MixedCurrencies(String, String),
    #[error("amount overflows")]
    Overflow,
}

impl Money {
    pub fn new(amount_cents: i64, currency: impl Into<String>) -> Self {
        Self {
            amount_cents,
            currency: currency.into(),
        }
    }

    pub fn zero(currency: impl Into<String>) -> Self {
        Self::new(0, currency)
    }

    /// Sums prices; all must share one currency (a cart is charged in one currency).
    pub fn sum<'a>(prices: impl IntoIterator<Item = &'a Money>) -> Result<Money, MoneyError> {
        let mut prices = prices.into_iter();
        let Some(first) = prices.next() else {
            return Ok(Money::zero(DEFAULT_CURRENCY));
        };
        let mut total = first.clone();
        for price in prices {
            if price.currency != total.currency {
                return Err(MoneyError::MixedCurrencies(
                    price.currency.clone(),
                    total.currency,
                ));
            }
            total.amount_cents = total
                .amount_cents
                .checked_add(price.amount_cents)
                .ok_or(MoneyError::Overflow)?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_one_currency() {
        let prices = [Money::new(4900, "USD"), Money::new(1999, "USD")];
        assert_eq!(Money::sum(&prices), Ok(Money::new(6899, "USD")));
    }

    #[test]
    fn empty_sum_is_zero_in_the_default_currency() {
        assert_eq!(Money::sum(&[]), Ok(Money::zero("USD")));
    }

    #[test]
    fn refuses_mixed_currencies() {
        let prices = [Money::new(1, "USD"), Money::new(1, "EUR")];
        assert!(matches!(
            Money::sum(&prices),
            Err(MoneyError::MixedCurrencies(..))
        ));
    }

    #[test]
    fn refuses_overflow() {
        let prices = [Money::new(i64::MAX, "USD"), Money::new(1, "USD")];
        assert_eq!(Money::sum(&prices), Err(MoneyError::Overflow));
    }
}
