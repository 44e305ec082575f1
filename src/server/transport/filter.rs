//! Stream filters, the same for every transport: `symbols=` (a comma list of tickers) and
//! `types=` (a comma list of `tick`, `news`, `market`).
//!
//! A filter only thins the live events: `snapshot` and `reset` always arrive, and the
//! snapshot is always whole. An event about no particular symbol (a session change) passes
//! any symbol filter; a headline passes when it touches one of the symbols. Ids keep their
//! global numbering, so a filtered client sees jumps in SEQ that are not losses.

use crate::server::bus::Published;
use crate::server::error::ApiError;
use crate::wire::http::query;
use crate::wire::EventType;

/// Most entries in one filter list.
const MAX_ENTRIES: usize = 64;

/// The event types a client may filter on; `snapshot` and `reset` are not optional.
const FILTERABLE: [EventType; 3] = [EventType::Tick, EventType::News, EventType::Market];

/// What one client lets through; the default lets everything through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    symbols: Option<Vec<String>>,
    types: Option<Vec<EventType>>,
}

impl Filter {
    /// Parses `symbols=`: every entry must be a symbol of this market (case-insensitive).
    /// Given twice (`symbols=NOVA&symbols=GRID`), the lists add up.
    pub fn set_symbols(&mut self, value: &str, known: &[String]) -> Result<(), ApiError> {
        let mut symbols = self.symbols.take().unwrap_or_default();
        for entry in list(value, query::SYMBOLS)? {
            let upper = entry.to_ascii_uppercase();
            let Some(symbol) = known.iter().find(|k| **k == upper) else {
                return Err(ApiError::bad_param(
                    query::SYMBOLS,
                    format!(
                        "unknown symbol {entry:?}; this market has {}",
                        known.join(",")
                    ),
                ));
            };
            if !symbols.contains(symbol) {
                symbols.push(symbol.clone());
            }
        }
        self.symbols = Some(symbols);
        Ok(())
    }

    /// The symbols let through, or `None` for all of them.
    pub fn symbols(&self) -> Option<&[String]> {
        self.symbols.as_deref()
    }

    /// A WebSocket `subscribe`: a filter that lets every symbol through narrows to `names`
    /// (a client that subscribes to NOVA wants NOVA, not NOVA among everything); one that
    /// had chosen already adds them.
    pub fn subscribe(&mut self, names: &[String], known: &[String]) -> Result<(), String> {
        let names = resolve(names, known)?;
        let symbols = self.symbols.get_or_insert_with(Vec::new);
        for name in names {
            if !symbols.contains(&name) {
                symbols.push(name);
            }
        }
        // Keep universe order, so replies read the same however they were built.
        symbols.sort_by_key(|s| known.iter().position(|k| k == s));
        Ok(())
    }

    /// Removes symbols (a WebSocket `unsubscribe`); from "all" it leaves all the others.
    pub fn unsubscribe(&mut self, names: &[String], known: &[String]) -> Result<(), String> {
        let names = resolve(names, known)?;
        let current = self.symbols.take().unwrap_or_else(|| known.to_vec());
        self.symbols = Some(current.into_iter().filter(|s| !names.contains(s)).collect());
        Ok(())
    }

    /// Parses `types=`; given twice, the lists add up.
    pub fn set_types(&mut self, value: &str) -> Result<(), ApiError> {
        let mut types = self.types.take().unwrap_or_default();
        for entry in list(value, query::TYPES)? {
            let Some(kind) = FILTERABLE.into_iter().find(|t| t.as_str() == entry) else {
                return Err(ApiError::bad_param(
                    query::TYPES,
                    format!("unknown event type {entry:?}; choose from tick,news,market"),
                ));
            };
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        self.types = Some(types);
        Ok(())
    }

    /// Whether a live event passes.
    pub fn admits(&self, event: &Published) -> bool {
        let type_ok = match &self.types {
            None => true,
            Some(types) => !FILTERABLE.contains(&event.kind) || types.contains(&event.kind),
        };
        let symbol_ok = match &self.symbols {
            None => true,
            Some(symbols) => {
                event.symbols.is_empty() || event.symbols.iter().any(|s| symbols.contains(s))
            }
        };
        type_ok && symbol_ok
    }
}

/// Checks names against the market's symbols (case-insensitive) and spells them its way.
fn resolve(names: &[String], known: &[String]) -> Result<Vec<String>, String> {
    if names.is_empty() || names.len() > MAX_ENTRIES {
        return Err(format!("symbols must list 1 to {MAX_ENTRIES} symbols"));
    }
    names
        .iter()
        .map(|name| {
            let upper = name.to_ascii_uppercase();
            known.iter().find(|k| **k == upper).cloned().ok_or_else(|| {
                format!(
                    "unknown symbol {name:?}; this market has {}",
                    known.join(",")
                )
            })
        })
        .collect()
}

/// Splits a comma list, refusing empty lists, empty entries and overlong lists.
fn list<'a>(value: &'a str, param: &'static str) -> Result<Vec<&'a str>, ApiError> {
    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    if entries.iter().any(|entry| entry.is_empty()) {
        return Err(ApiError::bad_param(
            param,
            format!("{param} must be a comma-separated list without empty entries"),
        ));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::bad_param(
            param,
            format!("{param} lists more than {MAX_ENTRIES} entries"),
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Epoch, EventId};
    use bytes::Bytes;

    fn event(kind: EventType, symbols: &[&str]) -> Published {
        Published::new(
            EventId::new(Epoch(1), 1),
            kind,
            0,
            symbols.iter().map(|s| s.to_string()).collect(),
            Bytes::new(),
            Bytes::new(),
        )
    }

    #[test]
    fn filters_by_symbol_and_type() {
        let known = vec!["NOVA".to_owned(), "QBIT".to_owned()];
        let mut filter = Filter::default();
        filter.set_symbols("nova", &known).expect("valid");
        filter.set_types("tick,market").expect("valid");
        assert!(filter.admits(&event(EventType::Tick, &["NOVA"])));
        assert!(!filter.admits(&event(EventType::Tick, &["QBIT"])));
        assert!(filter.admits(&event(EventType::Market, &[])));
        assert!(!filter.admits(&event(EventType::News, &["NOVA"])));
        assert!(filter.admits(&event(EventType::Snapshot, &[])));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let known = vec!["NOVA".to_owned()];
        let mut filter = Filter::default();
        for bad in ["", "NOVA,", "ACME", "NOVA,,NOVA"] {
            let err = filter.set_symbols(bad, &known).expect_err(bad);
            assert_eq!(err.param, Some("symbols"), "{bad:?}");
        }
        for bad in ["", "snapshot", "ticks", "tick,"] {
            let err = filter.set_types(bad).expect_err(bad);
            assert_eq!(err.param, Some("types"), "{bad:?}");
        }
        let long = vec!["tick"; MAX_ENTRIES + 1].join(",");
        assert!(filter.set_types(&long).is_err());
    }

    #[test]
    fn subscriptions_add_and_remove() {
        let known: Vec<String> = ["NOVA", "QBIT", "HALO"].map(String::from).to_vec();
        let mut all = Filter::default();
        all.subscribe(&["nova".into()], &known).expect("valid");
        assert_eq!(
            all.symbols(),
            Some(&["NOVA".to_owned()][..]),
            "a first subscribe narrows everything to what it names"
        );
        let mut filter = Filter::default();
        filter.unsubscribe(&["QBIT".into()], &known).expect("valid");
        assert_eq!(
            filter.symbols(),
            Some(&["NOVA".to_owned(), "HALO".to_owned()][..])
        );
        filter
            .unsubscribe(&["NOVA".into(), "HALO".into()], &known)
            .expect("valid");
        filter
            .subscribe(&["halo".into(), "NOVA".into()], &known)
            .expect("valid");
        assert_eq!(
            filter.symbols(),
            Some(&["NOVA".to_owned(), "HALO".to_owned()][..])
        );
        assert!(filter.subscribe(&["ACME".into()], &known).is_err());
        assert!(filter.subscribe(&[], &known).is_err());
    }
}
