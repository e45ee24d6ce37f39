//! Money and rates: integer minor units with an ISO 4217 code. Never floats.
//!
//! Every rate comparison is exact integer arithmetic in `u128`, so no product of two
//! `u64`/`u32` values can overflow.
//!
//! Each currency has its own number of decimals (ISO 4217's "minor unit" exponent): 2 for
//! most (`4.00 EUR`), 3 for the Jordanian dinar and a few others (`4.000 JOD`, 1 000 fils
//! to the dinar), 0 for the CFA francs, the yen and others (`400 XOF`). [`decimals`] says
//! how many; amounts are parsed ([`Money::parse`], [`parse_minor_in`]) and written
//! ([`format_in`], `Display for Money`) with that many. The table is [`MINOR_UNITS`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code: exactly three ASCII capital letters (`EUR`, `USD`, `XOF`).
pub type Currency = String;

/// Whether `code` has the shape of an ISO 4217 code.
pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The currencies whose minor unit is not 2 decimals, with their decimals, from ISO 4217's
/// current code list (Table A.1, the minor-unit column), sorted by code. Every other
/// code, including the codes whose minor unit ISO 4217 gives as "N.A." (gold `XAU`, the
/// SDR `XDR`, the test code `XTS`, `XXX`...) and codes it does not list, has 2.
pub const MINOR_UNITS: &[(&str, u8)] = &[
    ("BHD", 3), // Bahraini dinar
    ("BIF", 0), // Burundian franc
    ("CLF", 4), // Unidad de Fomento (Chile)
    ("CLP", 0), // Chilean peso
    ("DJF", 0), // Djiboutian franc
    ("GNF", 0), // Guinean franc
    ("IQD", 3), // Iraqi dinar
    ("ISK", 0), // Icelandic króna
    ("JOD", 3), // Jordanian dinar
    ("JPY", 0), // Japanese yen
    ("KMF", 0), // Comorian franc
    ("KRW", 0), // South Korean won
    ("KWD", 3), // Kuwaiti dinar
    ("LYD", 3), // Libyan dinar
    ("OMR", 3), // Omani rial
    ("PYG", 0), // Paraguayan guaraní
    ("RWF", 0), // Rwandan franc
    ("TND", 3), // Tunisian dinar
    ("UGX", 0), // Ugandan shilling
    ("UYI", 0), // Uruguayan peso en unidades indexadas
    ("UYW", 4), // Unidad previsional (Uruguay)
    ("VND", 0), // Vietnamese đồng
    ("VUV", 0), // Vanuatu vatu
    ("XAF", 0), // CFA franc BEAC (Central Africa)
    ("XOF", 0), // CFA franc BCEAO (West Africa)
    ("XPF", 0), // CFP franc
];

/// The decimals a currency is written with when no exception applies.
pub const DEFAULT_DECIMALS: u8 = 2;

/// The most decimals any currency has (`CLF`, `UYW`).
pub const MAX_DECIMALS: u8 = 4;

/// How many decimals `currency` is written with: its ISO 4217 minor-unit exponent, from
/// [`MINOR_UNITS`]; [`DEFAULT_DECIMALS`] (2) for every other code, known or not.
pub fn decimals(currency: &str) -> u8 {
    MINOR_UNITS
        .binary_search_by(|(code, _)| (*code).cmp(currency))
        .map_or(DEFAULT_DECIMALS, |i| MINOR_UNITS[i].1)
}

/// How many minor units make one major unit of `currency`: `10^decimals(currency)`
/// (100 for EUR, 1 000 for JOD, 1 for XOF).
pub fn minor_per_unit(currency: &str) -> u64 {
    10u64.pow(u32::from(decimals(currency)))
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

    /// Parses `4.00EUR`, `4EUR`, `4.5 EUR`, `12.500JOD` or `400XOF` style amounts: a
    /// decimal number with at most as many decimals as the currency has ([`decimals`]),
    /// then its code. No floats are involved.
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
        let minor = parse_minor_in(num.trim(), cur)?;
        Ok(Self::new(cur, minor))
    }
}

/// Parses a decimal amount of `currency` (`12.5`, `12.500`, `12`) into minor units: at
/// most [`decimals`]`(currency)` decimals, a `.` as decimal point, no sign, no grouping.
/// More decimals than the currency has is [`MoneyError::TooManyDecimals`]; an amount over
/// `u64::MAX` minor units is [`MoneyError::Overflow`]. Integer arithmetic only.
pub fn parse_minor_in(num: &str, currency: &str) -> Result<u64, MoneyError> {
    parse_decimal(num, decimals(currency)).map_err(|e| match e {
        DecimalError::Malformed => MoneyError::BadAmount(format!("{num}{currency}")),
        DecimalError::TooManyDecimals(given) => MoneyError::TooManyDecimals {
            amount: format!("{num}{currency}"),
            currency: currency.to_owned(),
            decimals: decimals(currency),
            given,
        },
        DecimalError::Overflow => MoneyError::Overflow(format!("{num}{currency}")),
    })
}

enum DecimalError {
    Malformed,
    TooManyDecimals(usize),
    Overflow,
}

/// `num` with at most `places` decimals, in units of `10^-places`, with checked arithmetic.
fn parse_decimal(num: &str, places: u8) -> Result<u64, DecimalError> {
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) {
        return Err(DecimalError::Malformed);
    }
    if frac.len() > usize::from(places) {
        return Err(DecimalError::TooManyDecimals(frac.len()));
    }
    let mut v: u64 = 0;
    let padded = frac.bytes().chain(std::iter::repeat(b'0'));
    for b in whole.bytes().chain(padded.take(usize::from(places))) {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(DecimalError::Overflow)?;
    }
    Ok(v)
}

/// `num` (such as `12.5`) in units of `10^-places` (`125_000` for 4 places): `None` when
/// it is not a plain decimal number, has more than `places` decimals or overflows `u64`.
/// For numbers that belong to no currency yet, such as a rate typed to filter offers in
/// several currencies: compare it with `minor * 10^(places - decimals(currency))`.
pub fn parse_scaled(num: &str, places: u8) -> Option<u64> {
    parse_decimal(num, places).ok()
}

/// Parses a decimal amount with at most two decimals into minor units.
///
/// Two decimals only, whatever the currency: use [`parse_minor_in`], which knows each
/// currency's decimals. Kept until its last callers move.
pub fn parse_minor(num: &str) -> Option<u64> {
    parse_decimal(num, 2).ok()
}

/// Formats minor units as `12.50`.
///
/// Two decimals only, whatever the currency: use [`format_in`], which knows each
/// currency's decimals. Kept until its last callers move.
pub fn format_minor(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Formats `minor` units of `currency` with exactly [`decimals`]`(currency)` decimals and a
/// `.` as decimal point, without the code: `12.50` (EUR), `12.500` (JOD), `1250` (XOF,
/// no point). [`parse_minor_in`] reads it back.
pub fn format_in(minor: u64, currency: &str) -> String {
    let places = usize::from(decimals(currency));
    if places == 0 {
        return minor.to_string();
    }
    let unit = minor_per_unit(currency);
    format!("{}.{:0places$}", minor / unit, minor % unit)
}

impl fmt::Display for Money {
    /// `12.50 EUR`, `12.500 JOD`, `1250 XOF`: [`format_in`], a space, the code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            format_in(self.minor, &self.currency),
            self.currency
        )
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
    /// The number is not a plain decimal number (digits, at most one `.`, no sign).
    #[error("amount {0:?} is not a number such as 4.00EUR")]
    BadAmount(String),
    /// More decimals than the currency has.
    #[error("{currency} has {decimals} decimals: {amount} has {given}")]
    TooManyDecimals {
        /// The amount as written, with its code: `1.2345JOD`.
        amount: String,
        /// The currency.
        currency: Currency,
        /// Its decimals ([`decimals`]).
        decimals: u8,
        /// The decimals written.
        given: usize,
    },
    /// More than `u64::MAX` minor units.
    #[error("amount {0:?} is too large (at most 18446744073709551615 minor units)")]
    Overflow(String),
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
            Err(MoneyError::TooManyDecimals {
                decimals: 2,
                given: 3,
                ..
            })
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
    fn the_table_is_sorted_and_every_code_is_valid() {
        assert!(MINOR_UNITS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(MINOR_UNITS
            .iter()
            .all(|(c, d)| valid_currency(c) && *d <= MAX_DECIMALS));
        for (code, d) in MINOR_UNITS {
            assert_eq!(decimals(code), *d, "{code}");
        }
        assert_eq!(decimals("EUR"), 2);
        assert_eq!(decimals("XDR"), 2); // "N.A." in ISO 4217
        assert_eq!(decimals("ZZZ"), 2); // not a code at all
        assert_eq!(decimals("jod"), 2); // not a valid code either
        assert_eq!(minor_per_unit("JOD"), 1000);
        assert_eq!(minor_per_unit("XOF"), 1);
    }

    #[test]
    fn three_decimals() {
        assert_eq!(Money::parse("12.500JOD"), Ok(Money::new("JOD", 12_500)));
        assert_eq!(Money::parse("12.5 JOD"), Ok(Money::new("JOD", 12_500)));
        assert_eq!(Money::parse("0.005KWD"), Ok(Money::new("KWD", 5)));
        assert_eq!(Money::parse("3TND"), Ok(Money::new("TND", 3_000)));
        assert_eq!(parse_minor_in("1.25", "BHD"), Ok(1_250));
        let e = Money::parse("1.2345JOD").expect_err("four decimals");
        assert_eq!(
            e,
            MoneyError::TooManyDecimals {
                amount: "1.2345JOD".into(),
                currency: "JOD".into(),
                decimals: 3,
                given: 4,
            }
        );
        assert_eq!(e.to_string(), "JOD has 3 decimals: 1.2345JOD has 4");
        assert_eq!(format_in(12_500, "JOD"), "12.500");
        assert_eq!(format_in(5, "OMR"), "0.005");
        assert_eq!(format_in(0, "IQD"), "0.000");
        assert_eq!(Money::new("JOD", 12_345).to_string(), "12.345 JOD");
        assert_eq!(Money::new("LYD", 1_000_001).to_string(), "1000.001 LYD");
    }

    #[test]
    fn zero_decimals() {
        assert_eq!(Money::parse("400XOF"), Ok(Money::new("XOF", 400)));
        assert_eq!(Money::parse("1500 JPY"), Ok(Money::new("JPY", 1_500)));
        assert_eq!(Money::parse("7.XAF"), Ok(Money::new("XAF", 7)));
        let e = Money::parse("4.5XOF").expect_err("a decimal");
        assert!(matches!(
            e,
            MoneyError::TooManyDecimals {
                decimals: 0,
                given: 1,
                ..
            }
        ));
        assert_eq!(e.to_string(), "XOF has 0 decimals: 4.5XOF has 1");
        assert!(Money::parse("4.00KRW").is_err());
        assert_eq!(format_in(400, "XOF"), "400");
        assert_eq!(format_in(0, "JPY"), "0");
        assert_eq!(Money::new("XOF", 1_250).to_string(), "1250 XOF");
    }

    #[test]
    fn four_decimals() {
        assert_eq!(Money::parse("1.2345CLF"), Ok(Money::new("CLF", 12_345)));
        assert_eq!(format_in(1, "UYW"), "0.0001");
        assert!(Money::parse("1.23456CLF").is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(parse_minor_in("18446744073709551615", "XOF"), Ok(u64::MAX));
        assert_eq!(parse_minor_in("18446744073709551.615", "JOD"), Ok(u64::MAX));
        assert_eq!(parse_minor_in("184467440737095516.15", "EUR"), Ok(u64::MAX));
        for (num, cur) in [
            ("18446744073709551616", "XOF"),
            ("18446744073709551.616", "JOD"),
            ("18446744073709552", "JOD"),
            ("184467440737095516.16", "EUR"),
            ("99999999999999999999999999", "EUR"),
        ] {
            assert_eq!(
                parse_minor_in(num, cur),
                Err(MoneyError::Overflow(format!("{num}{cur}"))),
                "{num}{cur}"
            );
        }
        assert!(matches!(
            Money::parse("18446744073709551616XOF"),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn malformed_numbers() {
        for num in ["", ".5", "1.2.3", "-1", "+1", "1,5", "1 000", "1e3", "٣"] {
            assert_eq!(
                parse_minor_in(num, "JOD"),
                Err(MoneyError::BadAmount(format!("{num}JOD"))),
                "{num:?}"
            );
        }
    }

    #[test]
    fn scaled_numbers() {
        assert_eq!(parse_scaled("12.5", MAX_DECIMALS), Some(125_000));
        assert_eq!(parse_scaled("12", 0), Some(12));
        assert_eq!(parse_scaled("1.23456", MAX_DECIMALS), None);
        assert_eq!(parse_scaled("x", 2), None);
    }

    #[test]
    fn two_decimal_helpers_are_unchanged() {
        assert_eq!(parse_minor("4.5"), Some(450));
        assert_eq!(parse_minor("4.505"), None);
        assert_eq!(format_minor(1_250), "12.50");
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
        // A fixed seed: the same cases on every run and every machine.
        #![proptest_config(ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(4217),
            ..ProptestConfig::default()
        })]

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
        fn format_parse_round_trip(
            minor: u64,
            i in 0..MINOR_UNITS.len() + 3,
        ) {
            // Every listed currency, and three with the default two decimals.
            let cur = match MINOR_UNITS.get(i) {
                Some((code, _)) => *code,
                None => ["EUR", "USD", "XTS"][i - MINOR_UNITS.len()],
            };
            let text = format_in(minor, cur);
            prop_assert_eq!(parse_minor_in(&text, cur), Ok(minor));
            let d = usize::from(decimals(cur));
            match text.split_once('.') {
                Some((_, frac)) => prop_assert_eq!(frac.len(), d),
                None => prop_assert_eq!(d, 0),
            }
            let m = Money::new(cur, minor);
            prop_assert_eq!(Money::parse(&m.to_string()), Ok(m.clone()));
            prop_assert_eq!(Money::parse(&format!("{text}{cur}")), Ok(m));
        }

        #[test]
        fn one_decimal_too_many_is_refused(minor: u64, i in 0..MINOR_UNITS.len()) {
            let (cur, d) = MINOR_UNITS[i];
            let text = format_in(minor, cur);
            let longer = if d == 0 { format!("{text}.0") } else { format!("{text}0") };
            prop_assert_eq!(
                parse_minor_in(&longer, cur),
                Err(MoneyError::TooManyDecimals {
                    amount: format!("{longer}{cur}"),
                    currency: cur.to_owned(),
                    decimals: d,
                    given: usize::from(d) + 1,
                })
            );
        }
    }
}
