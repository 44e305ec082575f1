//! The closed sets of values that travel inside payloads: a session's state, a scenario, a
//! headline's sentiment, why a client was reset, which transport a connection uses.
//!
//! Each set is one enum, spelled once: the same list gives the serde name on the wire, the
//! text in metrics labels and test ids, and the parser for the admin API and query strings.
//! The server never writes these words by hand and the browser never matches on raw
//! strings. The simulator has its own enums (it knows nothing of the wire); the server
//! translates between them in one place (`server::translate`).

/// Declares a wire value set: the enum with its serde names, `ALL`, `as_str`, `from_name`
/// and `Display`, all from one list of `Variant = "name"` pairs.
macro_rules! wire_values {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in a stable order (for menus, filters and documentation).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The value with this wire name, if any.
            pub fn from_name(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == text)
            }

            /// The wire names, comma-separated, for error messages (`open, halted, closed`).
            pub fn names() -> String {
                $name::ALL
                    .iter()
                    .map(|value| value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_values;

wire_values! {
    /// Whether the market trades.
    pub enum SessionState {
        /// Trading: ticks, news and price moves.
        Open = "open",
        /// Trading suspended mid-day; the day resumes where it was.
        Halted = "halted",
        /// The day is over; opening starts a new one.
        Closed = "closed",
    }
}

wire_values! {
    /// A scripted story an instructor can start.
    pub enum Scenario {
        /// A plunge across the market, a nervous bottom, a partial relief rally.
        Crash = "crash",
        /// A broad, steady climb on good news.
        Rally = "rally",
        /// A burst of headlines, wider spreads, jumpier prices.
        NewsStorm = "news_storm",
    }
}

impl Scenario {
    /// The name as a reader would say it (`news storm`).
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

wire_values! {
    /// How a headline is expected to move what it touches.
    pub enum Sentiment {
        /// Good news: prices tend up.
        Positive = "positive",
        /// Bad news: prices tend down.
        Negative = "negative",
        /// No expected direction.
        Neutral = "neutral",
    }
}

wire_values! {
    /// Why a client's history cannot be continued (the `reset` event's `reason`).
    pub enum ResetReason {
        /// The id is not an event id at all.
        MalformedId = "malformed_id",
        /// The id belongs to a history this server does not have (a restart, another market).
        OtherEpoch = "other_epoch",
        /// The id is from this history but newer than anything published.
        UnknownId = "unknown_id",
        /// The events after the id have already left the bounded history.
        TooOld = "too_old",
        /// The client fell behind the live stream by more than its backlog.
        Lagged = "lagged",
    }
}

wire_values! {
    /// The server's ways of carrying the stream: the `hello` event's `transport`, and the
    /// `transport` label of every metric.
    pub enum Transport {
        /// `GET /api/sse`, Server-Sent Events.
        Sse = "sse",
        /// `GET /api/ws`, a WebSocket.
        Ws = "ws",
        /// `GET /api/poll`, long- and short-polling.
        Poll = "poll",
        /// `GET /.sse`, the diagnostic stream.
        Diagnostic = "diagnostic",
        /// `POST /api/explain`, a finite answer.
        Explain = "explain",
    }
}

wire_values! {
    /// How an SSE stream names its events (`?events=`).
    pub enum EventNaming {
        /// `event: tick`, `event: news`…: a page listens with `addEventListener("tick", …)`.
        Named = "named",
        /// No `event:` line: every event arrives as a `message`, for `onmessage`.
        Unnamed = "unnamed",
    }
}

wire_values! {
    /// What a stream sends when it has had nothing to say for the heartbeat interval
    /// (`?heartbeat=`).
    pub enum HeartbeatStyle {
        /// SSE: a `: keep-alive` comment line, which every reader skips; WebSocket: a ping
        /// frame. Keeps proxies and the connection alive, invisible to page scripts.
        Comment = "comment",
        /// Also a `heartbeat` event the page's script can see, so it can tell a quiet
        /// stream from a dead one (the browser client asks for this).
        Event = "event",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_text() {
        for state in SessionState::ALL {
            let json = serde_json::to_string(state).expect("serializes");
            assert_eq!(json, format!("\"{state}\""));
            assert_eq!(SessionState::from_name(state.as_str()), Some(*state));
        }
        assert_eq!(
            serde_json::to_string(&Scenario::NewsStorm).expect("serializes"),
            "\"news_storm\""
        );
        assert_eq!(Scenario::NewsStorm.label(), "news storm");
        assert_eq!(
            serde_json::from_str::<ResetReason>("\"too_old\"").expect("parses"),
            ResetReason::TooOld
        );
        assert!(serde_json::from_str::<Sentiment>("\"ecstatic\"").is_err());
        assert_eq!(Sentiment::names(), "positive, negative, neutral");
        assert_eq!(Transport::from_name("ws"), Some(Transport::Ws));
        assert_eq!(Transport::from_name("WS"), None);
    }
}
