//! The admin API's requests and replies (`/api/admin/…`), shared by the server that obeys
//! them, the instructor panel that sends them and the tests.
//!
//! Fields that take a word (`sentiment`, `action`, `name`) travel as text and are read by
//! the accessors here, so that a wrong word is refused naming *its* field
//! ([`FieldError`]), not the whole body. Every error is an [`ErrorBody`](super::ErrorBody).

use super::custom::{self, CustomEvent, EventName};
use super::values::wire_values;
use super::{EventId, MarketStatus, Scenario, Sentiment};
use serde::{Deserialize, Serialize};

/// The names of the body fields, as the errors that refuse them name them.
pub mod field {
    /// `news`: the headline.
    pub const HEADLINE: &str = "headline";
    /// `news`: the summary.
    pub const SUMMARY: &str = "summary";
    /// `news`: the symbols it moves.
    pub const SYMBOLS: &str = "symbols";
    /// `news`: its sentiment.
    pub const SENTIMENT: &str = "sentiment";
    /// `market`: what to do.
    pub const ACTION: &str = "action";
    /// `market`: which scenario.
    pub const NAME: &str = "name";
    /// `speed`: the factor.
    pub const FACTOR: &str = "factor";
    /// `step`: how many steps.
    pub const N: &str = "n";
    /// `publish`: the event's name.
    pub const EVENT: &str = "event";
    /// `publish`: the event's data.
    pub const DATA: &str = "data";
}

/// A body field holds a value the API does not accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The field at fault (one of [`field`]).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// One admin request: where it goes and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub enum AdminRequest {
    /// Publish a headline.
    News(NewsRequest),
    /// Change the session or start a scenario.
    Market(MarketRequest),
    /// Set the clock's speed.
    Speed(SpeedRequest),
    /// Step the market.
    Step(StepRequest),
    /// End every open stream.
    Disconnect,
    /// Publish any named event to every viewer.
    Publish(PublishRequest),
}

impl AdminRequest {
    /// The short name of the command (`news`, `market`, …), the last part of its path.
    pub fn name(&self) -> &'static str {
        match self {
            AdminRequest::News(_) => "news",
            AdminRequest::Market(_) => "market",
            AdminRequest::Speed(_) => "speed",
            AdminRequest::Step(_) => "step",
            AdminRequest::Disconnect => "disconnect",
            AdminRequest::Publish(_) => "publish",
        }
    }

    /// Where it is sent (`POST`).
    pub fn path(&self) -> &'static str {
        match self {
            AdminRequest::News(_) => NEWS_PATH,
            AdminRequest::Market(_) => MARKET_PATH,
            AdminRequest::Speed(_) => SPEED_PATH,
            AdminRequest::Step(_) => STEP_PATH,
            AdminRequest::Disconnect => DISCONNECT_PATH,
            AdminRequest::Publish(_) => PUBLISH_PATH,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let encoded = match self {
            AdminRequest::News(body) => serde_json::to_string(body),
            AdminRequest::Market(body) => serde_json::to_string(body),
            AdminRequest::Speed(body) => serde_json::to_string(body),
            AdminRequest::Step(body) => serde_json::to_string(body),
            AdminRequest::Disconnect => serde_json::to_string(&DisconnectRequest {}),
            AdminRequest::Publish(body) => serde_json::to_string(body),
        };
        // Plain structs of strings and numbers: serde_json cannot fail on them (a NaN
        // factor becomes `null`, which the server then refuses).
        encoded.expect("admin requests always serialize")
    }
}

/// `POST /api/admin/news`.
pub const NEWS_PATH: &str = "/api/admin/news";
/// `POST /api/admin/market`.
pub const MARKET_PATH: &str = "/api/admin/market";
/// `POST /api/admin/speed`.
pub const SPEED_PATH: &str = "/api/admin/speed";
/// `POST /api/admin/step`.
pub const STEP_PATH: &str = "/api/admin/step";
/// `POST /api/admin/disconnect`.
pub const DISCONNECT_PATH: &str = "/api/admin/disconnect";
/// `POST /api/admin/publish`.
pub const PUBLISH_PATH: &str = "/api/admin/publish";

/// `news`: `{"headline", "summary"?, "symbols"?, "sentiment"?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewsRequest {
    /// One line, at most 200 characters.
    pub headline: String,
    /// A sentence or two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The tickers whose prices it moves (none: market-wide).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// A [`Sentiment`] name; neutral if absent. Read it with [`NewsRequest::sentiment`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<String>,
}

impl NewsRequest {
    /// A headline with its details.
    pub fn new(
        headline: String,
        summary: Option<String>,
        symbols: Vec<String>,
        sentiment: Sentiment,
    ) -> NewsRequest {
        NewsRequest {
            headline,
            summary,
            symbols,
            sentiment: Some(sentiment.as_str().to_owned()),
        }
    }

    /// The sentiment asked for, if any.
    pub fn sentiment(&self) -> Result<Option<Sentiment>, FieldError> {
        let Some(name) = self.sentiment.as_deref() else {
            return Ok(None);
        };
        Sentiment::from_name(name)
            .map(Some)
            .ok_or_else(|| FieldError {
                field: field::SENTIMENT,
                message: format!("sentiment {name:?} is not one of {}", Sentiment::names()),
            })
    }
}

wire_values! {
    /// The `action` of a `market` request.
    pub enum MarketVerb {
        /// Suspend trading.
        Halt = "halt",
        /// Resume a halted market.
        Resume = "resume",
        /// End the trading day.
        Close = "close",
        /// Start a new trading day.
        Open = "open",
        /// Start the scenario named by `name`.
        Scenario = "scenario",
    }
}

/// What a `market` request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketAction {
    /// Suspend trading.
    Halt,
    /// Resume a halted market.
    Resume,
    /// End the trading day.
    Close,
    /// Start a new trading day.
    Open,
    /// Start a scenario.
    Scenario(Scenario),
}

impl MarketAction {
    /// The verb on the wire.
    pub fn verb(self) -> MarketVerb {
        match self {
            MarketAction::Halt => MarketVerb::Halt,
            MarketAction::Resume => MarketVerb::Resume,
            MarketAction::Close => MarketVerb::Close,
            MarketAction::Open => MarketVerb::Open,
            MarketAction::Scenario(_) => MarketVerb::Scenario,
        }
    }
}

/// `market`: `{"action": "halt" | "resume" | "close" | "open" | "scenario", "name"?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketRequest {
    /// A [`MarketVerb`] name. Read it with [`MarketRequest::action`].
    pub action: String,
    /// With `scenario`: a [`Scenario`] name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<MarketAction> for MarketRequest {
    fn from(action: MarketAction) -> MarketRequest {
        MarketRequest {
            action: action.verb().as_str().to_owned(),
            name: match action {
                MarketAction::Scenario(scenario) => Some(scenario.as_str().to_owned()),
                _ => None,
            },
        }
    }
}

impl MarketRequest {
    /// The action asked for.
    pub fn action(&self) -> Result<MarketAction, FieldError> {
        let verb = MarketVerb::from_name(&self.action).ok_or_else(|| FieldError {
            field: field::ACTION,
            message: format!(
                "unknown action {:?}; choose {}",
                self.action,
                MarketVerb::names()
            ),
        })?;
        Ok(match verb {
            MarketVerb::Halt => MarketAction::Halt,
            MarketVerb::Resume => MarketAction::Resume,
            MarketVerb::Close => MarketAction::Close,
            MarketVerb::Open => MarketAction::Open,
            MarketVerb::Scenario => {
                let name = self.name.as_deref().ok_or_else(|| FieldError {
                    field: field::NAME,
                    message: format!("a scenario needs a name: {}", Scenario::names()),
                })?;
                let scenario = Scenario::from_name(name).ok_or_else(|| FieldError {
                    field: field::NAME,
                    message: format!("unknown scenario {name:?}; choose {}", Scenario::names()),
                })?;
                MarketAction::Scenario(scenario)
            }
        })
    }
}

/// `speed`: `{"factor": 0.01..=1000}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeedRequest {
    /// 2 runs the market twice as fast.
    pub factor: f64,
}

impl SpeedRequest {
    /// The accepted factors.
    pub const RANGE: std::ops::RangeInclusive<f64> = 0.01..=1_000.0;

    /// The factor, if it is in [`SpeedRequest::RANGE`].
    pub fn factor(&self) -> Result<f64, FieldError> {
        if self.factor.is_finite() && SpeedRequest::RANGE.contains(&self.factor) {
            return Ok(self.factor);
        }
        Err(FieldError {
            field: field::FACTOR,
            message: format!(
                "factor must be between {} and {}",
                SpeedRequest::RANGE.start(),
                SpeedRequest::RANGE.end()
            ),
        })
    }
}

/// `step`: `{"n": 1..=10000}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// How many market steps.
    pub n: u64,
}

impl StepRequest {
    /// The most steps one request may ask for.
    pub const MAX: u64 = 10_000;

    /// The number of steps, if it is from 1 to [`StepRequest::MAX`].
    pub fn steps(&self) -> Result<u64, FieldError> {
        if (1..=StepRequest::MAX).contains(&self.n) {
            return Ok(self.n);
        }
        Err(FieldError {
            field: field::N,
            message: format!("n must be between 1 and {}", StepRequest::MAX),
        })
    }
}

/// `publish`: `{"event": NAME, "data": any JSON}` — reaches every viewer as that event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The event's name (see [`EventName`]). Read it with [`PublishRequest::event`].
    pub event: String,
    /// Any JSON value; `null` if absent.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl PublishRequest {
    /// The event to publish, if its name and size are acceptable.
    pub fn event(self) -> Result<CustomEvent, FieldError> {
        let event = EventName::new(&self.event).map_err(|err| FieldError {
            field: field::EVENT,
            message: err.to_string(),
        })?;
        let size = self.data.to_string().len();
        if size > custom::MAX_DATA {
            return Err(FieldError {
                field: field::DATA,
                message: format!(
                    "data is {size} bytes of JSON; at most {} are published",
                    custom::MAX_DATA
                ),
            });
        }
        Ok(CustomEvent {
            event,
            data: self.data,
        })
    }
}

/// `publish` answers `201` with the event's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// The published event's id.
    pub id: EventId,
}

/// `disconnect`: an empty object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectRequest {}

/// `news` answers `201` with the headline's event id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewsPublished {
    /// The `news` event's id.
    pub id: EventId,
}

/// `market` answers with the session it is in now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketChanged {
    /// The session after the change.
    pub market: MarketStatus,
}

wire_values! {
    /// How the market's clock runs.
    pub enum ClockMode {
        /// Steps on a timer.
        Realtime = "realtime",
        /// Steps only when told to.
        Manual = "manual",
    }
}

/// `speed` answers with the factor in force and the clock it applies to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedSet {
    /// The factor now in force.
    pub factor: f64,
    /// A manual clock ignores the factor until it runs in real time.
    pub clock: ClockMode,
}

/// `step` answers once the steps' events are published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stepped {
    /// The newest event id after the steps.
    pub id: Option<EventId>,
    /// How many steps were taken.
    pub steps: u64,
}

/// `disconnect` answers with how many streams it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disconnected {
    /// Streams open when it was asked.
    pub disconnected: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_documented_shape() {
        let news = AdminRequest::News(NewsRequest::new(
            "Novatek unveils a chip".into(),
            None,
            vec!["NOVA".into()],
            Sentiment::Positive,
        ));
        assert_eq!(news.path(), "/api/admin/news");
        assert_eq!(
            news.body(),
            r#"{"headline":"Novatek unveils a chip","symbols":["NOVA"],"sentiment":"positive"}"#
        );
        let crash = AdminRequest::Market(MarketAction::Scenario(Scenario::NewsStorm).into());
        assert_eq!(crash.body(), r#"{"action":"scenario","name":"news_storm"}"#);
        assert_eq!(AdminRequest::Disconnect.body(), "{}");
        assert_eq!(
            AdminRequest::Step(StepRequest { n: 5 }).body(),
            r#"{"n":5}"#
        );
    }

    #[test]
    fn words_are_read_naming_their_field() {
        let request = |action: &str, name: Option<&str>| MarketRequest {
            action: action.into(),
            name: name.map(str::to_owned),
        };
        assert_eq!(request("halt", None).action(), Ok(MarketAction::Halt));
        assert_eq!(
            request("scenario", Some("crash")).action(),
            Ok(MarketAction::Scenario(Scenario::Crash))
        );
        assert_eq!(
            request("explode", None).action().map_err(|e| e.field),
            Err("action")
        );
        assert_eq!(
            request("scenario", None).action().map_err(|e| e.field),
            Err("name")
        );
        assert_eq!(
            request("scenario", Some("meteor"))
                .action()
                .map_err(|e| e.field),
            Err("name")
        );
        let mut news = NewsRequest::new("x".into(), None, Vec::new(), Sentiment::Neutral);
        assert_eq!(news.sentiment(), Ok(Some(Sentiment::Neutral)));
        news.sentiment = Some("ecstatic".into());
        assert_eq!(news.sentiment().map_err(|e| e.field), Err("sentiment"));
        assert!(SpeedRequest { factor: 0.0 }.factor().is_err());
        assert!(SpeedRequest { factor: f64::NAN }.factor().is_err());
        assert_eq!(
            StepRequest { n: 10_001 }.steps().map_err(|e| e.field),
            Err("n")
        );
    }
}
