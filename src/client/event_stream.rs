//! An event stream read with `fetch`: the response body's chunks, as they arrive, through the
//! project's own WHATWG parser ([`Parser`], the same code the server's tests read with). This
//! is all an SSE "polyfill" is — and unlike `EventSource` it can send any method, body and
//! header (`Last-Event-ID` as a real header, `Authorization`, a JSON question).
//!
//! Used by the `fetch` transport and by the streamed analyst note (`POST /api/explain`).
//! Cancelling is aborting: drop the [`AbortController`] the request was made with.

use crate::wire::sse::{Item, Parser};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, ReadableStreamDefaultReader, RequestInit, Response};

/// A request to make: method, URL, headers, an optional body, and the signal that aborts it.
pub struct StreamRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Where.
    pub url: &'a str,
    /// Extra headers (`Accept: text/event-stream` is always sent).
    pub headers: &'a [(&'a str, String)],
    /// A JSON body, for a `POST`.
    pub json: Option<String>,
    /// Aborts the request and its body.
    pub signal: Option<&'a AbortSignal>,
}

/// An open event stream: call [`EventStream::next`] until it says the stream ended.
pub struct EventStream {
    reader: ReadableStreamDefaultReader,
    parser: Parser,
}

/// What came back instead of a stream.
#[derive(Debug)]
pub enum OpenError {
    /// The network failed (or the request was aborted).
    Network(String),
    /// The server answered with this status (and body, often a JSON error).
    Status(u16, String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Network(message) => write!(f, "{message}"),
            OpenError::Status(status, _) => write!(f, "HTTP {status}"),
        }
    }
}

fn js_error(value: JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            value
                .dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
        })
        .unwrap_or_else(|| format!("{value:?}"))
}

impl EventStream {
    /// Makes the request; `Ok` once a 200 answer with a body has started.
    pub async fn open(request: StreamRequest<'_>) -> Result<EventStream, OpenError> {
        let headers = Headers::new().map_err(|e| OpenError::Network(js_error(e)))?;
        let mut all = vec![("Accept", "text/event-stream".to_owned())];
        if request.json.is_some() {
            all.push(("Content-Type", "application/json".to_owned()));
        }
        all.extend(request.headers.iter().cloned());
        for (name, value) in &all {
            headers
                .set(name, value)
                .map_err(|e| OpenError::Network(js_error(e)))?;
        }
        let init = RequestInit::new();
        init.set_method(request.method);
        init.set_headers(&headers);
        init.set_cache(web_sys::RequestCache::NoStore);
        if let Some(json) = &request.json {
            init.set_body(&JsValue::from_str(json));
        }
        if let Some(signal) = request.signal {
            init.set_signal(Some(signal));
        }
        let window = web_sys::window().ok_or_else(|| OpenError::Network("no window".into()))?;
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(request.url, &init))
            .await
            .map_err(|e| OpenError::Network(js_error(e)))?
            .unchecked_into();
        if !response.ok() {
            let text = match response.text() {
                Ok(promise) => JsFuture::from(promise)
                    .await
                    .ok()
                    .and_then(|t| t.as_string())
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            return Err(OpenError::Status(response.status(), text));
        }
        let body = response
            .body()
            .ok_or_else(|| OpenError::Network("the answer has no body".into()))?;
        Ok(EventStream {
            reader: body.get_reader().unchecked_into(),
            parser: Parser::new(),
        })
    }

    /// The next chunk's items, with the chunk's size in bytes; `Ok(None)` at the end of
    /// the stream.
    pub async fn next(&mut self) -> Result<Option<(Vec<Item>, usize)>, String> {
        let result = JsFuture::from(self.reader.read()).await.map_err(js_error)?;
        let done = Reflect::get(&result, &JsValue::from_str("done"))
            .map_err(js_error)?
            .as_bool()
            .unwrap_or(true);
        if done {
            return Ok(None);
        }
        let value = Reflect::get(&result, &JsValue::from_str("value")).map_err(js_error)?;
        let bytes = value.dyn_into::<Uint8Array>().map_err(js_error)?.to_vec();
        Ok(Some((self.parser.feed(&bytes), bytes.len())))
    }
}
