//! The HTTP surface: which path is served by what. [`app`] builds the whole router from the
//! shared state, so tests can serve exactly what production serves.
//!
//! Pages, JSON and static files are compressed and given a `Cache-Control` ([`assets`]); the
//! transports are not. Around every route: the security headers and page CSP ([`headers`]), the body cap
//! ([`limits::limit_body`]), CORS when origins are configured, and a request log that names
//! method, path and status only — never headers, so the admin token cannot reach it.

use super::admin;
use super::assets;
use super::clock;
use super::error::{self, ApiError};
use super::explain;
use super::headers;
use super::limits::{self, MaxBody};
use super::meter;
use super::state::AppState;
use super::transport;
use crate::ui::app::ClientPolicy;
use crate::ui::{shell, App};
use crate::wire::explain::EXPLAIN_PATH;
use crate::wire::health::{BusKind, Health, LinkState, Liveness, Readiness, ReadyStatus};
use crate::wire::http::{SNAPSHOT_PATH, TIME_PATH, USAGE_PATH};
use crate::wire::usage::{ServerTime, WireUsage};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// The whole application: every route and every layer around them.
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let hub = state.hub.clone();
    let leptos = state.leptos.clone();
    let policy = ClientPolicy {
        hidden_grace_ms: state.config.hidden_grace_secs.saturating_mul(1_000),
    };
    let page_context = move || {
        headers::provide_page_nonce();
        provide_context(hub.snapshot());
        provide_context(policy);
    };
    let not_found_context = headers::provide_page_nonce;
    // Everything but the transports: compressed on the fly when the client accepts it
    // (static files come precompressed, and keep their own encoding).
    let documents = Router::new()
        .merge(admin::routes(state.config.admin_token.clone()))
        .route(SNAPSHOT_PATH, get(snapshot))
        .route(&format!("{USAGE_PATH}/{{client}}"), get(usage))
        .route(TIME_PATH, get(time))
        .route(EXPLAIN_PATH, post(explain::handler))
        .route("/api/{*rest}", get(unknown_api).post(unknown_api))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // The page is rendered from the same snapshot a stream would start with.
        .leptos_routes_with_context(&state, routes, page_context, move || shell(leptos.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(not_found_context, shell))
        .layer(middleware::from_fn(assets::cache_policy))
        .layer(CompressionLayer::new());
    // The transports are never compressed: an event stream must reach the client event by
    // event (a compressor holds bytes back until it has enough), and SSE, WebSocket and
    // polling carry the same bytes so that the lab compares framing and headers alone.
    let router = Router::new()
        .merge(transport::routes())
        .merge(documents)
        .layer(middleware::from_fn_with_state(
            MaxBody(state.config.max_body_bytes),
            limits::limit_body,
        ))
        // Outside the body cap and the routes, so their bare rejections become JSON too.
        .layer(middleware::from_fn(error::json_errors))
        .layer(middleware::from_fn_with_state(
            state.meters.clone(),
            meter::claim_connection,
        ));
    let router = match headers::cors(&state.config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(middleware::from_fn(headers::security_headers))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                // Method and path only: headers hold the admin token, queries are the
                // client's business.
                tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}

/// `GET /api/snapshot`: the current state as one envelope, the same bytes a new SSE client
/// receives as its first event.
async fn snapshot(State(app): State<AppState>) -> Response {
    let encoded = app.hub.snapshot_event();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        encoded.json.clone(),
    )
        .into_response()
}

/// `GET /api/usage/{client}`: what a client has cost on the wire, as counted at the socket.
async fn usage(
    State(app): State<AppState>,
    Path(client): Path<String>,
) -> Result<Json<WireUsage>, ApiError> {
    app.meters
        .usage(&client)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no client by that id has made a request here"))
}

/// `GET /api/time`: the server's clock, for a page's clock-offset estimate. Never cached.
async fn time() -> Response {
    let body = Json(ServerTime {
        now: clock::now_millis(),
    });
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// `GET /healthz`: the process is alive.
async fn healthz() -> Json<Health> {
    Json(Health {
        status: Liveness::Ok,
    })
}

/// `GET /readyz`: the market has published, the server is not shutting down, and with
/// `--bus redis://…` the link to Redis is up and in step (`"redis"` says where it stands:
/// `connecting`, `syncing`, `conflict` or `ready`).
async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let link = app.link.as_ref().map(|link| link.get());
    let ready = app.hub.latest().is_some()
        && !app.shutdown.is_cancelled()
        && link.is_none_or(|state| state == LinkState::Ready);
    let (code, status) = if ready {
        (StatusCode::OK, ReadyStatus::Ready)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, ReadyStatus::NotReady)
    };
    let body = Readiness {
        status,
        latest_id: app.hub.latest(),
        bus: if link.is_some() {
            BusKind::Redis
        } else {
            BusKind::Memory
        },
        redis: link,
    };
    (code, Json(body))
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn unknown_api(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("there is no API at {}", uri.path()))
}
