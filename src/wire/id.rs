//! Event ids: `EPOCH-SEQ`, e.g. `mi8k2x0q-1042`.
//!
//! SEQ counts the events of one history: strictly increasing and gapless, so a client can
//! tell a missed event from a quiet market by arithmetic alone. EPOCH names the history
//! itself and changes whenever history is lost (a restart with the in-memory bus); a client
//! that comes back with an id from another epoch is told to `reset` instead of silently
//! continuing across a gap. Both halves are plain ASCII, so an id never needs escaping in an
//! SSE `id:` line, a header or a query string.

use std::fmt;
use std::str::FromStr;

/// The longest id text we accept; anything longer is malformed, not parsed.
pub const MAX_ID_LEN: usize = 40;

/// One event history. Displayed in lower-case base 36 to keep ids short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(pub u64);

/// The position of one event: which history, and where in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    /// Which history.
    pub epoch: Epoch,
    /// Where in it: 1, 2, 3… with no gaps.
    pub seq: u64,
}

impl EventId {
    /// The id of event `seq` of `epoch`.
    pub fn new(epoch: Epoch, seq: u64) -> EventId {
        EventId { epoch, seq }
    }

    /// The id that follows this one in the same history.
    pub fn next(self) -> EventId {
        EventId::new(self.epoch, self.seq + 1)
    }

    /// Whether this id was given out after `other`: a later epoch (epochs are start times),
    /// or further on in the same one. The order of the Redis stream, too.
    pub fn is_after(self, other: EventId) -> bool {
        (self.epoch.0, self.seq) > (other.epoch.0, other.seq)
    }
}

/// Why a text is not an event id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventIdError {
    /// Nothing at all.
    #[error("event id is empty")]
    Empty,
    /// Longer than [`MAX_ID_LEN`].
    #[error("event id is longer than {MAX_ID_LEN} characters")]
    TooLong,
    /// Not two parts joined by `-`.
    #[error("event id must look like EPOCH-SEQ (e.g. mi8k2x0q-1042)")]
    Shape,
    /// The epoch is not lower-case base 36.
    #[error("event id epoch must be 1 to 13 characters of 0-9 and a-z")]
    Epoch,
    /// The sequence is not a decimal number.
    #[error("event id sequence must be a decimal number")]
    Seq,
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64::MAX is 13 base-36 digits.
        let mut digits = [0u8; 13];
        let mut n = self.0;
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = BASE36[(n % 36) as usize];
            n /= 36;
            if n == 0 {
                break;
            }
        }
        // The digits are ASCII by construction.
        f.write_str(std::str::from_utf8(&digits[start..]).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Epoch {
    type Err = EventIdError;

    fn from_str(text: &str) -> Result<Epoch, EventIdError> {
        if text.is_empty() || text.len() > 13 {
            return Err(EventIdError::Epoch);
        }
        let mut value: u64 = 0;
        for byte in text.bytes() {
            let digit = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'z' => byte - b'a' + 10,
                _ => return Err(EventIdError::Epoch),
            };
            value = value
                .checked_mul(36)
                .and_then(|v| v.checked_add(u64::from(digit)))
                .ok_or(EventIdError::Epoch)?;
        }
        Ok(Epoch(value))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

impl FromStr for EventId {
    type Err = EventIdError;

    fn from_str(text: &str) -> Result<EventId, EventIdError> {
        if text.is_empty() {
            return Err(EventIdError::Empty);
        }
        if text.len() > MAX_ID_LEN {
            return Err(EventIdError::TooLong);
        }
        let (epoch, seq) = text.split_once('-').ok_or(EventIdError::Shape)?;
        // `u64::from_str` accepts a leading '+'; an id has exactly one spelling.
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EventIdError::Seq);
        }
        let seq = seq.parse().map_err(|_| EventIdError::Seq)?;
        Ok(EventId::new(epoch.parse()?, seq))
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<EventId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_epochs_come_after() {
        assert!(EventId::new(Epoch(2), 1).is_after(EventId::new(Epoch(1), 900)));
        assert!(!EventId::new(Epoch(2), 1).is_after(EventId::new(Epoch(2), 1)));
    }

    #[test]
    fn round_trips_through_text() {
        for id in [
            EventId::new(Epoch(0), 0),
            EventId::new(Epoch(1_732_000_000_000), 42),
            EventId::new(Epoch(u64::MAX), u64::MAX),
        ] {
            let text = id.to_string();
            assert!(text.len() <= MAX_ID_LEN, "{text}");
            assert_eq!(text.parse::<EventId>(), Ok(id));
        }
        assert_eq!(EventId::new(Epoch(35), 7).to_string(), "z-7");
    }

    #[test]
    fn rejects_every_other_spelling() {
        let cases = [
            ("", EventIdError::Empty),
            ("abc", EventIdError::Shape),
            ("-1", EventIdError::Epoch),
            ("ABC-1", EventIdError::Epoch),
            ("a b-1", EventIdError::Epoch),
            ("zzzzzzzzzzzzzz-1", EventIdError::Epoch),
            ("3w5e11264sgsg-1", EventIdError::Epoch), // u64::MAX + 1
            ("abc-", EventIdError::Seq),
            ("abc-+1", EventIdError::Seq),
            ("abc-1-2", EventIdError::Seq),
            ("abc-18446744073709551616", EventIdError::Seq),
            ("abc-1\r\nx", EventIdError::Seq),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<EventId>(), Err(expected), "{text:?}");
        }
        assert_eq!(
            "a".repeat(MAX_ID_LEN + 1).parse::<EventId>(),
            Err(EventIdError::TooLong)
        );
    }
}
