//! `/api/admin/…`: make things happen on purpose, for instructors and test authors.
//!
//! Every request needs `Authorization: Bearer <token>` matching `--admin-token` (compared in
//! constant time). Without a configured token the API is disabled (403), never open. Bodies
//! are the small JSON objects of [`wire::admin`], validated field by field; anything wrong
//! gets a 4xx JSON error naming the problem, and nothing changes. Every change goes through
//! the driver, so it is published in order on every transport, exactly as the market's own
//! events are.

use super::body;
use super::config::{AdminToken, BusUrl, ClockMode, Role};
use super::driver::MAX_STEPS_PER_COMMAND;
use super::error::ApiError;
use super::state::AppState;
use super::translate;
use crate::market::{NewsDraft, NewsError};
use crate::wire::admin::{
    self, field, DisconnectRequest, Disconnected, MarketChanged, MarketRequest, NewsPublished,
    NewsRequest, PublishRequest, Published, SpeedRequest, SpeedSet, StepRequest, Stepped,
};
use crate::wire::error::param;
use crate::wire::faults::{ActiveFault, FaultEffect, FaultList, FaultRequest, FAULTS_PATH};
use crate::wire::ErrorCode;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

/// The largest admin request body.
const MAX_BODY: usize = 16 * 1024;

const _: () = assert!(StepRequest::MAX <= MAX_STEPS_PER_COMMAND);

/// The admin routes, behind the token check.
pub fn routes(token: Option<AdminToken>) -> Router<AppState> {
    Router::new()
        .route(admin::NEWS_PATH, post(news))
        .route(admin::MARKET_PATH, post(market))
        .route(admin::SPEED_PATH, post(speed))
        .route(admin::STEP_PATH, post(step))
        .route(admin::DISCONNECT_PATH, post(disconnect))
        .route(admin::PUBLISH_PATH, post(publish))
        .route(
            FAULTS_PATH,
            get(list_faults).post(inject_fault).delete(clear_faults),
        )
        .route_layer(middleware::from_fn_with_state(token, require_token))
}

/// Lets a request through only with the configured token.
async fn require_token(
    State(expected): State<Option<AdminToken>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = expected else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::AdminDisabled,
            "the admin API is disabled: start the server with --admin-token \
             (or TICKSTREAM_ADMIN_TOKEN)",
        )
        .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match given {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
            next.run(request).await
        }
        _ => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "send the admin token as `Authorization: Bearer <token>`",
            )
            .at(param::AUTHORIZATION)
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tickstream admin\""),
            );
            response
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive
/// (RFC 9110 §11.1: `bearer` and `BEARER` are `Bearer`), and the spaces after it are one
/// separator however many there are.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Reads a small JSON body into `T`, or says what is wrong with it.
async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    body::read_json(body, MAX_BODY).await
}

/// Why no market answered: a web instance has none, an `auto` one follows another until
/// it holds the lease, anything else is stopping.
fn no_market(app: &AppState) -> ApiError {
    if app.config.role == Role::Web {
        return ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotTheMarket,
            "this instance serves a market another instance runs (--role web): \
             send market commands to the market instance",
        );
    }
    if !app.driver.is_active() && !app.shutdown.is_cancelled() {
        return ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotTheMarket,
            "this instance follows the market another instance runs (--role auto), and \
             takes it over if that one stops: send market commands to the market instance",
        );
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ShuttingDown,
        "the market is shutting down",
    )
}

/// `POST /api/admin/news` `{"headline", "summary"?, "symbols"?, "sentiment"?}`
async fn news(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let request: NewsRequest = read_json(body).await?;
    let sentiment = request.sentiment()?.map(translate::market_sentiment);
    let draft = NewsDraft {
        headline: request.headline,
        summary: request.summary,
        symbols: request.symbols,
        sentiment,
    };
    let id = app
        .driver
        .publish_news(draft)
        .await
        .map_err(|_| no_market(&app))?
        .map_err(|err| {
            let at = match err {
                NewsError::SummaryTooLong { .. } => field::SUMMARY,
                NewsError::TooManySymbols { .. } | NewsError::UnknownSymbol(_) => field::SYMBOLS,
                _ => field::HEADLINE,
            };
            ApiError::bad_param(at, err.to_string())
        })?;
    Ok((StatusCode::CREATED, Json(NewsPublished { id })).into_response())
}

/// `POST /api/admin/market` `{"action": "halt" | "resume" | "close" | "open" | "scenario",
/// "name"?: "crash" | "rally" | "news_storm"}`
async fn market(State(app): State<AppState>, body: Body) -> Result<Json<MarketChanged>, ApiError> {
    let request: MarketRequest = read_json(body).await?;
    let action = request.action()?;
    let market = app
        .driver
        .market(action)
        .await
        .map_err(|_| no_market(&app))?
        .map_err(|refused| {
            ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                refused.to_string(),
            )
            .at(field::ACTION)
        })?;
    Ok(Json(MarketChanged { market }))
}

/// `POST /api/admin/speed` `{"factor": 0.01..=1000}`
async fn speed(State(app): State<AppState>, body: Body) -> Result<Json<SpeedSet>, ApiError> {
    let request: SpeedRequest = read_json(body).await?;
    let factor = app
        .driver
        .speed(request.factor()?)
        .await
        .map_err(|_| no_market(&app))?;
    let clock = match app.config.clock {
        ClockMode::Realtime => admin::ClockMode::Realtime,
        ClockMode::Manual => admin::ClockMode::Manual,
    };
    Ok(Json(SpeedSet { factor, clock }))
}

/// `POST /api/admin/step` `{"n": 1..=10000}`: answers once the steps' events are published.
async fn step(State(app): State<AppState>, body: Body) -> Result<Json<Stepped>, ApiError> {
    let request: StepRequest = read_json(body).await?;
    let steps = request.steps()?;
    let id = app.driver.step(steps).await.map_err(|_| no_market(&app))?;
    Ok(Json(Stepped { id, steps }))
}

/// `POST /api/admin/publish` `{"event", "data"}`: any named event to every viewer, on every
/// transport (and, through Redis, every instance), in order with the market's own.
async fn publish(State(app): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let request: PublishRequest = read_json(body).await?;
    let event = request.event()?;
    let id = app
        .driver
        .publish(event)
        .await
        .map_err(|_| no_market(&app))?;
    Ok((StatusCode::CREATED, Json(Published { id })).into_response())
}

/// `POST /api/admin/disconnect`: ends every open stream; clients reconnect and resume.
async fn disconnect(
    State(app): State<AppState>,
    body: Body,
) -> Result<Json<Disconnected>, ApiError> {
    let DisconnectRequest {} = read_json(body).await?;
    let open = u64::try_from(app.metrics.open_streams()).unwrap_or(0);
    app.streams.end_all();
    Ok(Json(Disconnected { disconnected: open }))
}

/// The faults API answers only on a server started with `--faults`.
fn faults_enabled(app: &AppState) -> Result<(), ApiError> {
    if app.faults.enabled {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::FaultsDisabled,
        "fault injection is off: start the server with --faults (for tests, never in production)",
    ))
}

/// `POST /api/admin/faults` `{"kind", "connection"? | "transport"?, "duration_ms"?,
/// "delay_ms"?, "count"?}`: the fault starts now and ends by itself (an `epoch` happens at
/// once: the market starts a new one before the answer).
async fn inject_fault(
    State(app): State<AppState>,
    body: Body,
) -> Result<(StatusCode, Json<ActiveFault>), ApiError> {
    faults_enabled(&app)?;
    let request: FaultRequest = read_json(body).await?;
    let spec = request.spec()?;
    if spec.effect == FaultEffect::Epoch {
        if matches!(app.config.bus, BusUrl::Redis(_)) {
            // Every instance follows the market's epoch through Redis; a new one there is
            // what two markets writing at once look like, which followers refuse.
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                "an epoch fault needs the in-memory bus (--bus memory): through Redis a new \
                 epoch is taken for a second market",
            ));
        }
        app.driver.new_epoch().await.map_err(|_| no_market(&app))?;
    }
    let fault = app.faults.inject(spec);
    Ok((StatusCode::CREATED, Json(fault)))
}

/// `GET /api/admin/faults`: the faults in force.
async fn list_faults(State(app): State<AppState>) -> Result<Json<FaultList>, ApiError> {
    faults_enabled(&app)?;
    Ok(Json(FaultList {
        faults: app.faults.list(),
    }))
}

/// `DELETE /api/admin/faults`: ends them all; answers with those it ended.
async fn clear_faults(State(app): State<AppState>) -> Result<Json<FaultList>, ApiError> {
    faults_enabled(&app)?;
    Ok(Json(FaultList {
        faults: app.faults.clear(),
    }))
}
