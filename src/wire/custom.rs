//! Events anyone with the admin token may publish: a name of their choosing and any JSON
//! (`POST /api/admin/publish`, or `XADD tickstream:publish …` with Redis) — the seed
//! article's `/post`, which pushes whatever it is given to every viewer.
//!
//! The name travels where a built-in event's type does (the envelope's `type`, the SSE
//! `event:` line), so it is checked here: 1 to [`MAX_NAME`] characters of `A-Z a-z 0-9 _ . -`,
//! starting with a letter, and not the name of a built-in type — no CR, LF or colon can
//! reach a frame, and no published event can pass for a tick. Its data is any JSON value of
//! at most [`MAX_DATA`] bytes.
//!
//! The market page shows one of them itself: [`ANNOUNCEMENT`], as a banner.

use super::EventType;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest event name.
pub const MAX_NAME: usize = 64;
/// The largest data, as JSON.
pub const MAX_DATA: usize = 8 * 1024;
/// The event the market page shows as a dismissible banner. Its data is the text, or an
/// object with a `text` (or `message`) string.
pub const ANNOUNCEMENT: &str = "announcement";

/// A checked name for a published event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventName(String);

/// Why a name cannot name a published event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventNameError {
    /// Empty, too long, or characters other than `A-Z a-z 0-9 _ . -` (or not starting with a
    /// letter).
    #[error(
        "an event name is 1 to {MAX_NAME} characters of A-Z, a-z, 0-9, '_', '.' and '-', \
         starting with a letter"
    )]
    Shape,
    /// The name of a built-in type (`tick`, `news`, …).
    #[error("{0:?} is a built-in event type; choose another name")]
    BuiltIn(String),
}

impl EventName {
    /// Checks `text` as an event name.
    pub fn new(text: &str) -> Result<EventName, EventNameError> {
        let shaped = (1..=MAX_NAME).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_alphabetic())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !shaped {
            return Err(EventNameError::Shape);
        }
        if EventType::from_name(text).is_some() {
            return Err(EventNameError::BuiltIn(text.to_owned()));
        }
        Ok(EventName(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EventName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EventName, D::Error> {
        let text = String::deserialize(deserializer)?;
        EventName::new(&text).map_err(serde::de::Error::custom)
    }
}

/// A published event: its name and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomEvent {
    /// What it is called (its `type` and SSE `event:`).
    pub event: EventName,
    /// Any JSON value.
    pub data: serde_json::Value,
}

impl CustomEvent {
    /// The text a banner shows for it: the data if it is a string, else its `text` or
    /// `message` field, else the data as JSON.
    pub fn text(&self) -> String {
        match &self.data {
            serde_json::Value::String(text) => text.clone(),
            value => ["text", "message"]
                .iter()
                .find_map(|key| value.get(key).and_then(|v| v.as_str()))
                .map_or_else(|| value.to_string(), str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_forge_frames_or_pass_for_built_ins() {
        for good in ["announcement", "quiz.answer", "Lunch-break_2"] {
            assert!(EventName::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a:b",
            "a\nb",
            "a\rb",
            "9lives",
            "é",
            &"x".repeat(MAX_NAME + 1),
        ] {
            assert_eq!(EventName::new(bad), Err(EventNameError::Shape), "{bad:?}");
        }
        for built_in in ["tick", "news", "hello", "snapshot"] {
            assert!(matches!(
                EventName::new(built_in),
                Err(EventNameError::BuiltIn(_))
            ));
        }
    }

    #[test]
    fn a_banner_finds_the_text() {
        let event = |data| CustomEvent {
            event: EventName::new(ANNOUNCEMENT).expect("a name"),
            data,
        };
        assert_eq!(event("Lunch at noon".into()).text(), "Lunch at noon");
        assert_eq!(
            event(serde_json::json!({"text": "Quiz!", "by": "Ann"})).text(),
            "Quiz!"
        );
        assert_eq!(event(serde_json::json!([1, 2])).text(), "[1,2]");
    }
}
