//! The streamed analyst note, as the browser asks for it: `fetch` with a `POST` and a JSON
//! body (which `EventSource` cannot send), read by the page's own event-stream parser.
//! Cancelling aborts the request; the server sees the connection go and stops writing. The
//! asking and reading come in a module of their own, fetched on the first question.

use super::event_stream::{EventStream, OpenError, StreamRequest};
use crate::ui::explain::{ExplainApi, ExplainEvent, ExplainHandle};
use crate::wire::explain::{
    Done, ExplainRequest, Token, DONE_EVENT, ERROR_EVENT, EXPLAIN_PATH, TOKEN_EVENT,
};
use crate::wire::sse::Item;
use crate::wire::ErrorBody;
use leptos::prelude::lazy;
use std::rc::Rc;
use web_sys::{AbortController, AbortSignal};

/// The explain calls, as the panel gets them.
pub fn explain_api() -> ExplainApi {
    ExplainApi(start)
}

fn start(symbol: String, on: Rc<dyn Fn(ExplainEvent)>) -> ExplainHandle {
    let controller = AbortController::new().ok();
    let signal = controller.as_ref().map(AbortController::signal);
    leptos::task::spawn_local(ask(symbol, signal, on));
    ExplainHandle::new(move || {
        if let Some(controller) = controller {
            controller.abort();
        }
    })
}

/// Asks for `symbol`'s note and reports the answer as it streams. It lives in a module of
/// its own (`#[lazy]`), fetched the first time anyone asks: most visitors never do.
#[lazy]
async fn ask(symbol: String, signal: Option<AbortSignal>, on: Rc<dyn Fn(ExplainEvent)>) {
    let body = serde_json::to_string(&ExplainRequest { symbol }).unwrap_or_default();
    let opened = EventStream::open(StreamRequest {
        method: "POST",
        url: EXPLAIN_PATH,
        headers: &[],
        json: Some(body),
        signal: signal.as_ref(),
    })
    .await;
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(OpenError::Status(status, text)) => {
            let message = ErrorBody::decode(&text)
                .map_or_else(|| format!("HTTP {status}"), |body| body.error.message);
            return on(ExplainEvent::Failed(message));
        }
        Err(err) => return on(ExplainEvent::Failed(err.to_string())),
    };
    loop {
        match stream.next().await {
            Ok(Some((items, _))) => {
                for item in items {
                    if let Some(event) = explain_event(&item) {
                        let finished = !matches!(event, ExplainEvent::Token(_));
                        on(event);
                        if finished {
                            return;
                        }
                    }
                }
            }
            Ok(None) => return on(ExplainEvent::Failed("the answer was cut short".into())),
            // Aborted (Cancel) or the network failed; the panel already knows which.
            Err(err) => return on(ExplainEvent::Failed(err)),
        }
    }
}

/// What one parsed item of the answer means.
fn explain_event(item: &Item) -> Option<ExplainEvent> {
    let Item::Event { event, data, .. } = item else {
        return None;
    };
    match event.as_str() {
        TOKEN_EVENT => serde_json::from_str::<Token>(data)
            .ok()
            .map(|token| ExplainEvent::Token(token.text)),
        DONE_EVENT => serde_json::from_str::<Done>(data)
            .ok()
            .map(|_| ExplainEvent::Done),
        ERROR_EVENT => Some(ExplainEvent::Failed(
            ErrorBody::decode(data).map_or_else(|| data.clone(), |body| body.error.message),
        )),
        _ => None,
    }
}
