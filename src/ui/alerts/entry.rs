//! The alert form's price field: what a person types, read as whole cents.
//!
//! Invariant: a level is accepted only as a positive decimal number with at most two
//! decimals (`101`, `101.5`, `101.50`, `.75`), read digit by digit into integer cents —
//! never through a float, so `0.29` is 29 cents and not 28.999… Anything else is refused
//! with a message that says what to type instead.

use crate::wire::Cents;

/// Digits before the point a level may have: up to 999,999,999.99, far above any price and
/// far below `Cents::MAX`.
const MAX_WHOLE_DIGITS: usize = 9;

/// Why a typed price was refused; its text is shown under the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Nothing typed.
    #[error("Enter a price, for example 101.50.")]
    Empty,
    /// A minus sign, or zero.
    #[error("The price must be more than 0.")]
    NotPositive,
    /// Three decimals or more.
    #[error("Use at most 2 decimals (whole cents), for example 101.50.")]
    TooManyDecimals,
    /// More digits than any price has.
    #[error("That price is too large.")]
    TooLarge,
    /// Letters, a comma, two points, an exponent…
    #[error("Use digits and a decimal point only, for example 101.50.")]
    NotANumber,
}

/// Reads a typed level into cents.
pub fn parse_price(text: &str) -> Result<Cents, PriceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PriceError::Empty);
    }
    if let Some(rest) = text.strip_prefix('-') {
        if rest.starts_with(['-', '+']) {
            return Err(PriceError::NotANumber);
        }
        // "-5" is a number, just not a price; "-x" is not a number at all.
        return match parse_price(rest) {
            Ok(_) | Err(PriceError::NotPositive) => Err(PriceError::NotPositive),
            Err(other) => Err(other),
        };
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
        return Err(PriceError::NotANumber);
    }
    if fraction.len() > 2 {
        return Err(PriceError::TooManyDecimals);
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > MAX_WHOLE_DIGITS {
        return Err(PriceError::TooLarge);
    }
    // Every byte is an ASCII digit and there are at most 11 of them: no overflow.
    let digits = whole.bytes().chain(fraction.bytes());
    let mut cents = digits.fold(0, |n: Cents, b| n * 10 + Cents::from(b - b'0'));
    for _ in fraction.len()..2 {
        cents *= 10;
    }
    if cents == 0 {
        return Err(PriceError::NotPositive);
    }
    Ok(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prices_with_up_to_two_decimals() {
        assert_eq!(parse_price("101.50"), Ok(10_150));
        assert_eq!(parse_price("101.5"), Ok(10_150));
        assert_eq!(parse_price("101"), Ok(10_100));
        assert_eq!(parse_price("101."), Ok(10_100));
        assert_eq!(parse_price(".75"), Ok(75));
        assert_eq!(parse_price("0.29"), Ok(29));
        assert_eq!(parse_price("  178.88 "), Ok(17_888));
        assert_eq!(parse_price("+3"), Ok(300));
        assert_eq!(parse_price("007.01"), Ok(701));
        assert_eq!(parse_price("999999999.99"), Ok(99_999_999_999));
    }

    #[test]
    fn refuses_everything_else_saying_why() {
        assert_eq!(parse_price(""), Err(PriceError::Empty));
        assert_eq!(parse_price("   "), Err(PriceError::Empty));
        assert_eq!(parse_price("0"), Err(PriceError::NotPositive));
        assert_eq!(parse_price("0.00"), Err(PriceError::NotPositive));
        assert_eq!(parse_price("-5"), Err(PriceError::NotPositive));
        assert_eq!(parse_price("-0"), Err(PriceError::NotPositive));
        assert_eq!(parse_price("101.505"), Err(PriceError::TooManyDecimals));
        assert_eq!(parse_price("1000000000"), Err(PriceError::TooLarge));
        for junk in [
            "abc", "1,50", "1.2.3", "1e3", ".", "12 34", "--1", "-x", "NaN", "١٢",
        ] {
            assert_eq!(parse_price(junk), Err(PriceError::NotANumber), "{junk:?}");
        }
    }

    #[test]
    fn messages_say_what_to_type() {
        assert_eq!(
            PriceError::TooManyDecimals.to_string(),
            "Use at most 2 decimals (whole cents), for example 101.50."
        );
    }
}
