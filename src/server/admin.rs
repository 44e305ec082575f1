//! `/api/admin/…`: make things happen on purpose, for instructors and test authors.
//!
//! Every request needs `Authorization: Bearer <token>` matching `--admin-token` (compared in
//! constant time). Without a configured token the API is disabled (403), never open. Bodies
//! are small JSON objects, validated field by field; anything wrong gets a 4xx JSON error
//! naming the problem, and nothing changes. Every change goes through the driver, so it is
//! published in order on every transport, exactly as the market's own events are.

use super::config::Role;
use super::driver::{MarketAction, MAX_STEPS_PER_COMMAND};
use super::error::ApiError;
use super::AppState;
use crate::market::{NewsDraft, NewsError, ScenarioKind, Sentiment};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

/// The largest admin request body.
const MAX_BODY: usize = 16 * 1024;
/// The most steps one request may ask for.
const MAX_STEPS: u64 = 10_000;
/// The accepted speed factors.
const SPEED: std::ops::RangeInclusive<f64> = 0.01..=1_000.0;

const _: () = assert!(MAX_STEPS <= MAX_STEPS_PER_COMMAND);

/// The admin routes, behind the token check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/admin/news", post(news))
        .route("/api/admin/market", post(market))
        .route("/api/admin/speed", post(speed))
        .route("/api/admin/step", post(step))
        .route("/api/admin/disconnect", post(disconnect))
        .route_layer(middleware::from_fn_with_state(state, require_token))
}

async fn require_token(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = &app.config.admin_token else {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            code: "admin_disabled",
            message: "the admin API is disabled: start the server with --admin-token \
                      (or TICKSTREAM_ADMIN_TOKEN)"
                .into(),
            param: None,
        }
        .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match given {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
            next.run(request).await
        }
        _ => {
            let mut response = ApiError {
                status: StatusCode::UNAUTHORIZED,
                code: "unauthorized",
                message: "send the admin token as `Authorization: Bearer <token>`".into(),
                param: Some("authorization"),
            }
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tickstream admin\""),
            );
            response
        }
    }
}

/// Reads a small JSON body into `T`, or says what is wrong with it.
async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: format!("the request body is larger than {MAX_BODY} bytes"),
            param: Some("body"),
        })?;
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..] // an empty body is an empty object
    } else {
        &bytes[..]
    };
    serde_json::from_slice(text).map_err(|err| {
        ApiError::bad_param("body", format!("the body is not the expected JSON: {err}"))
    })
}

/// Why no market answered: a web instance has none, anything else is stopping.
fn no_market(app: &AppState) -> ApiError {
    if app.config.role == Role::Web {
        return ApiError {
            status: StatusCode::CONFLICT,
            code: "not_the_market",
            message: "this instance serves a market another instance runs (--role web): \
                      send market commands to the market instance"
                .into(),
            param: None,
        };
    }
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "shutting_down",
        message: "the market is shutting down".into(),
        param: None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewsBody {
    headline: String,
    summary: Option<String>,
    #[serde(default)]
    symbols: Vec<String>,
    sentiment: Option<String>,
}

/// `POST /api/admin/news` `{"headline", "summary"?, "symbols"?, "sentiment"?}`
async fn news(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let body: NewsBody = read_json(body).await?;
    let sentiment = match body.sentiment.as_deref() {
        None => None,
        Some("positive") => Some(Sentiment::Positive),
        Some("negative") => Some(Sentiment::Negative),
        Some("neutral") => Some(Sentiment::Neutral),
        Some(other) => {
            return Err(ApiError::bad_param(
                "sentiment",
                format!("sentiment {other:?} is not one of positive, negative, neutral"),
            ))
        }
    };
    let draft = NewsDraft {
        headline: body.headline,
        summary: body.summary,
        symbols: body.symbols,
        sentiment,
    };
    let id = app
        .driver
        .publish_news(draft)
        .await
        .map_err(|_| no_market(&app))?
        .map_err(|err| {
            let param = match err {
                NewsError::SummaryTooLong { .. } => "summary",
                NewsError::TooManySymbols { .. } | NewsError::UnknownSymbol(_) => "symbols",
                _ => "headline",
            };
            ApiError::bad_param(param, err.to_string())
        })?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarketBody {
    action: String,
    name: Option<String>,
}

/// `POST /api/admin/market` `{"action": "halt" | "resume" | "close" | "open" | "scenario",
/// "name"?: "crash" | "rally" | "news_storm"}`
async fn market(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let body: MarketBody = read_json(body).await?;
    let action = match body.action.as_str() {
        "halt" => MarketAction::Halt,
        "resume" => MarketAction::Resume,
        "close" => MarketAction::Close,
        "open" => MarketAction::Open,
        "scenario" => {
            let name = body.name.as_deref().ok_or_else(|| {
                ApiError::bad_param(
                    "name",
                    "a scenario needs a name: crash, rally or news_storm",
                )
            })?;
            let kind: ScenarioKind = name.parse().map_err(|_| {
                ApiError::bad_param(
                    "name",
                    format!("unknown scenario {name:?}; choose crash, rally or news_storm"),
                )
            })?;
            MarketAction::Scenario(kind)
        }
        other => {
            return Err(ApiError::bad_param(
                "action",
                format!("unknown action {other:?}; choose halt, resume, close, open or scenario"),
            ))
        }
    };
    let status = app
        .driver
        .market(action)
        .await
        .map_err(|_| no_market(&app))?
        .map_err(|refused| ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: refused.to_string(),
            param: Some("action"),
        })?;
    Ok(Json(json!({ "market": status })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeedBody {
    factor: f64,
}

/// `POST /api/admin/speed` `{"factor": 0.01..=1000}`
async fn speed(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let body: SpeedBody = read_json(body).await?;
    if !body.factor.is_finite() || !SPEED.contains(&body.factor) {
        return Err(ApiError::bad_param(
            "factor",
            format!(
                "factor must be between {} and {}",
                SPEED.start(),
                SPEED.end()
            ),
        ));
    }
    let factor = app
        .driver
        .speed(body.factor)
        .await
        .map_err(|_| no_market(&app))?;
    let clock = format!("{:?}", app.config.clock).to_lowercase();
    Ok(Json(json!({ "factor": factor, "clock": clock })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    n: u64,
}

/// `POST /api/admin/step` `{"n": 1..=10000}`: answers once the steps' events are published.
async fn step(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let body: StepBody = read_json(body).await?;
    if !(1..=MAX_STEPS).contains(&body.n) {
        return Err(ApiError::bad_param(
            "n",
            format!("n must be between 1 and {MAX_STEPS}"),
        ));
    }
    let id = app.driver.step(body.n).await.map_err(|_| no_market(&app))?;
    Ok(Json(json!({ "id": id, "steps": body.n })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// `POST /api/admin/disconnect`: ends every open stream; clients reconnect and resume.
async fn disconnect(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let Empty {} = read_json(body).await?;
    let open = app.metrics.open_streams();
    app.streams.end_all();
    Ok(Json(json!({ "disconnected": open })).into_response())
}
