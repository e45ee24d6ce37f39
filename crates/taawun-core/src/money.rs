//! Money and rates: integer minor units with an ISO 4217 code. Never floats.
//!
//! Every rate comparison is exact integer arithmetic in `u128`, so no product of two
//! `u64`/`u32` values can overflow.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code: exactly three ASCII capital letters (`EUR`, `USD`, `XOF`).
pub type Currency = String;

/// Whether `code` has the shape of an ISO 4217 code.
pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// An amount of money: `minor` units (cents, centimes, fils...) of `currency`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// ISO 4217 code.
    pub currency: Currency,
    /// Amount in minor units.
    pub minor: u64,
}

impl Money {
    /// `minor` units of `currency`.
    pub fn new(currency: &str, minor: u64) -> Self {
        Self {
            currency: currency.to_owned(),
            minor,
        }
    }

    /// Parses `4.00EUR`, `4EUR`, `4.5 EUR` or `400 EUR` style amounts with two decimals
    /// at most (the minor unit of most currencies). No floats are involved.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let s = s.trim();
        let split = s
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| MoneyError::NoCurrency(s.to_owned()))?;
        let (num, cur) = s.split_at(split);
        let cur = cur.trim();
        if !valid_currency(cur) {
            return Err(MoneyError::BadCurrency(cur.to_owned()));
        }
        let minor = parse_minor(num.trim()).ok_or_else(|| MoneyError::BadAmount(s.to_owned()))?;
        Ok(Self::new(cur, minor))
    }
}

/// Parses a decimal amount with at most two decimals into minor units.
pub fn parse_minor(num: &str) -> Option<u64> {
    let (whole, frac) = match num.split_once('.') {
        Some((w, f)) => (w, f),
        None => (num, ""),
    };
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    if frac.len() == 1 {
        f *= 10;
    }
    whole.checked_mul(100)?.checked_add(f)
}

/// Formats minor units as `12.50`.
pub fn format_minor(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", format_minor(self.minor), self.currency)
    }
}

/// A malformed amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// No currency code after the number.
    #[error("amount {0:?} has no currency: write it like 4.00EUR")]
    NoCurrency(String),
    /// The code is not three capital letters.
    #[error("{0:?} is not an ISO 4217 currency code (three capital letters, such as EUR)")]
    BadCurrency(String),
    /// The number is not a decimal with at most two decimals.
    #[error("amount {0:?} is not a number with at most two decimals, such as 4.00EUR")]
    BadAmount(String),
}

/// Whether paying `pay_minor` for `minutes` of work meets an hourly floor of
/// `floor_per_hour` minor units: `pay * 60 >= floor * minutes`, exactly.
pub fn meets_floor(pay_minor: u64, minutes: u32, floor_per_hour: u64) -> bool {
    u128::from(pay_minor) * 60 >= u128::from(floor_per_hour) * u128::from(minutes)
}

/// The hourly rate that `pay_minor` for `minutes` amounts to, in minor units per hour,
/// rounded down (for display; the floor check uses [`meets_floor`]). `None` for 0 minutes.
pub fn hourly_rate(pay_minor: u64, minutes: u32) -> Option<u64> {
    if minutes == 0 {
        return None;
    }
    let r = u128::from(pay_minor) * 60 / u128::from(minutes);
    Some(u64::try_from(r).unwrap_or(u64::MAX))
}

/// The least pay that meets `floor_per_hour` for `minutes`: ceil(floor * minutes / 60),
/// saturating at `u64::MAX`.
pub fn floor_pay(minutes: u64, floor_per_hour: u64) -> u64 {
    let n = u128::from(floor_per_hour) * u128::from(minutes);
    let r = n.div_ceil(60);
    u64::try_from(r).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_amounts() {
        assert_eq!(Money::parse("4.00EUR"), Ok(Money::new("EUR", 400)));
        assert_eq!(Money::parse("4.5 EUR"), Ok(Money::new("EUR", 450)));
        assert_eq!(Money::parse("12EUR"), Ok(Money::new("EUR", 1200)));
        assert!(matches!(
            Money::parse("4.00"),
            Err(MoneyError::NoCurrency(_))
        ));
        assert!(matches!(
            Money::parse("4.001EUR"),
            Err(MoneyError::BadAmount(_))
        ));
        assert!(matches!(
            Money::parse("-4EUR"),
            Err(MoneyError::BadAmount(_))
        ));
        assert!(matches!(
            Money::parse("4eur"),
            Err(MoneyError::BadCurrency(_))
        ));
        assert_eq!(Money::new("EUR", 1250).to_string(), "12.50 EUR");
    }

    #[test]
    fn floor_boundary() {
        // 12.00/h for 15 minutes is 3.00 exactly.
        assert!(meets_floor(300, 15, 1200));
        assert!(!meets_floor(299, 15, 1200));
        assert_eq!(floor_pay(15, 1200), 300);
        assert_eq!(floor_pay(7, 1000), 117); // 116.67 rounds up, in the worker's favour
    }

    proptest! {
        #[test]
        fn floor_exact_at_the_boundary(minutes in 1u32.., floor in 0u64..) {
            let need = floor_pay(u64::from(minutes), floor);
            prop_assert!(meets_floor(need, minutes, floor) || need == u64::MAX);
            if need > 0 && need != u64::MAX {
                prop_assert!(!meets_floor(need - 1, minutes, floor));
            }
        }

        #[test]
        fn no_overflow_at_extremes(pay: u64, minutes: u32, floor: u64) {
            let _ = meets_floor(pay, minutes, floor);
            let _ = hourly_rate(pay, minutes);
            let _ = floor_pay(u64::from(minutes), floor);
        }

        #[test]
        fn parse_display_round_trip(minor in 0u64..u64::MAX / 100) {
            let m = Money::new("XOF", minor);
            let s = format!("{}{}", format_minor(minor), m.currency);
            prop_assert_eq!(Money::parse(&s), Ok(m));
        }
    }
}
