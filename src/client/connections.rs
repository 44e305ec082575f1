//! The connection-limit lab's streams: N `EventSource`s on the quiet part of the stream
//! (session events only), each reported open once its first event arrives.

use crate::ui::connections::{ConnectionLab, LabStreams, StreamState};
use crate::wire::http::{query, SSE_PATH};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, MessageEvent};

/// The lab's streams, as the connections page gets them.
pub fn connection_lab() -> ConnectionLab {
    ConnectionLab(open)
}

/// One stream and its callbacks; dropping it closes the stream.
struct Stream {
    source: EventSource,
    _on_event: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
}

fn open(count: usize, on: Rc<dyn Fn(usize, StreamState)>) -> LabStreams {
    let url = format!("{SSE_PATH}?{}=market", query::TYPES);
    let streams: Vec<Stream> = (0..count)
        .filter_map(|index| {
            let source = EventSource::new(&url).ok()?;
            let heard = on.clone();
            let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
                heard(index, StreamState::Open);
            });
            // The first event of every stream is its `hello`.
            let _ =
                source.add_event_listener_with_callback("hello", on_event.as_ref().unchecked_ref());
            let failed = on.clone();
            let weak_source = source.clone();
            let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if weak_source.ready_state() == EventSource::CLOSED {
                    failed(index, StreamState::Failed);
                }
            });
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            Some(Stream {
                source,
                _on_event: on_event,
                _on_error: on_error,
            })
        })
        .collect();
    LabStreams::new(streams)
}
