//! Alerts as this browser keeps them: one small, versioned JSON document.
//!
//! ```json
//! {"v":1,"alerts":[{"id":1,"symbol":"NOVA","direction":"above","price":10150,"fired":null}]}
//! ```
//!
//! Prices are cents, as on the wire; `fired` is `{"price":10153,"ts":1795510605012}` once
//! the alert has fired. Invariant: what [`encode`] writes, [`decode`] reads back unchanged;
//! anything else — another version, a hand-edited value, a truncated write — reads as an
//! error the caller turns into "no alerts", never as a panic or a half-read list.

use super::model::Alert;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The format's version; a change that old readers would misread bumps it.
pub const VERSION: u32 = 1;

/// Alerts one browser keeps at most (the form refuses more), so the document stays small.
pub const MAX_ALERTS: usize = 50;

/// Why a stored document was not read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Not the JSON this module writes.
    #[error("stored alerts are not valid: {0}")]
    Malformed(String),
    /// Written by another version of the page.
    #[error("stored alerts are version {0}, this page reads version {VERSION}")]
    Version(u32),
}

#[derive(Serialize)]
struct Document<'a> {
    v: u32,
    alerts: &'a [Alert],
}

/// Read first, alone, so a future version's shape is never misread as this one's.
#[derive(Deserialize)]
struct Versioned {
    v: u32,
}

#[derive(Deserialize)]
struct Stored {
    alerts: Vec<Alert>,
}

/// The document for `alerts`.
pub fn encode(alerts: &[Alert]) -> String {
    let document = Document { v: VERSION, alerts };
    // Plain structs of strings and integers: serializing them cannot fail.
    serde_json::to_string(&document).unwrap_or_default()
}

/// The alerts in a stored document. Entries no form could have made (a level of zero or
/// less, no symbol, an id seen before) are dropped, and at most [`MAX_ALERTS`] are kept.
pub fn decode(text: &str) -> Result<Vec<Alert>, StorageError> {
    let malformed = |err: serde_json::Error| StorageError::Malformed(err.to_string());
    let Versioned { v } = serde_json::from_str(text).map_err(malformed)?;
    if v != VERSION {
        return Err(StorageError::Version(v));
    }
    let Stored { alerts } = serde_json::from_str(text).map_err(malformed)?;
    let mut ids = HashSet::new();
    Ok(alerts
        .into_iter()
        .filter(|alert| alert.price > 0 && !alert.symbol.is_empty() && ids.insert(alert.id))
        .take(MAX_ALERTS)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::model::{Direction, Fired};
    use super::*;

    fn alerts() -> Vec<Alert> {
        vec![
            Alert {
                id: 1,
                symbol: "NOVA".to_owned(),
                direction: Direction::Above,
                price: 10_150,
                fired: None,
            },
            Alert {
                id: 2,
                symbol: "VITA".to_owned(),
                direction: Direction::Below,
                price: 14_900,
                fired: Some(Fired {
                    price: 14_897,
                    ts: 1_795_510_605_012,
                }),
            },
        ]
    }

    #[test]
    fn the_documented_shape() {
        assert_eq!(
            encode(&alerts()[..1]),
            r#"{"v":1,"alerts":[{"id":1,"symbol":"NOVA","direction":"above","price":10150,"fired":null}]}"#
        );
    }

    #[test]
    fn what_is_written_reads_back_unchanged() {
        assert_eq!(decode(&encode(&alerts())), Ok(alerts()));
        assert_eq!(decode(&encode(&[])), Ok(vec![]));
    }

    #[test]
    fn another_version_or_junk_is_an_error_not_a_panic() {
        assert_eq!(
            decode(r#"{"v":2,"alerts":"something else"}"#),
            Err(StorageError::Version(2))
        );
        for junk in [
            "",
            "null",
            "[]",
            "{",
            r#"{"v":1}"#,
            r#"{"v":1,"alerts":[{"id":1}]}"#,
        ] {
            assert!(
                matches!(decode(junk), Err(StorageError::Malformed(_))),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn entries_no_form_could_make_are_dropped() {
        let text = r#"{"v":1,"alerts":[
            {"id":1,"symbol":"NOVA","direction":"above","price":0,"fired":null},
            {"id":2,"symbol":"","direction":"above","price":100,"fired":null},
            {"id":3,"symbol":"NOVA","direction":"below","price":100,"fired":null},
            {"id":3,"symbol":"VITA","direction":"below","price":100,"fired":null}
        ]}"#;
        let kept = decode(text).map(|alerts| alerts.iter().map(|a| a.id).collect::<Vec<_>>());
        assert_eq!(kept, Ok(vec![3]));
    }

    #[test]
    fn at_most_the_cap_is_kept() {
        let many: Vec<Alert> = (1..=MAX_ALERTS as u64 + 5)
            .map(|id| Alert {
                id,
                ..alerts()[0].clone()
            })
            .collect();
        assert_eq!(decode(&encode(&many)).map(|a| a.len()), Ok(MAX_ALERTS));
    }
}
