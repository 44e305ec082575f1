//! The lessons page's `EventSource`s: one on the named stream, one on `?events=unnamed`,
//! each with an `onmessage` handler and a `tick` listener, reporting which one heard what.

use crate::ui::lessons::{Heard, LessonStream, ListenerLesson};
use crate::wire::http::{query, SSE_PATH};
use crate::wire::EventNaming;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};

/// The lesson streams, as the lessons page gets them.
pub fn listener_lesson() -> ListenerLesson {
    ListenerLesson(start)
}

/// An EventSource with its two listeners; dropping it closes the stream.
struct Lesson {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_tick: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Lesson {
    fn drop(&mut self) {
        self.source.close();
    }
}

fn start(naming: EventNaming, on: Rc<dyn Fn(Heard)>) -> LessonStream {
    let url = match naming {
        EventNaming::Named => SSE_PATH.to_owned(),
        EventNaming::Unnamed => format!("{SSE_PATH}?{}={}", query::EVENTS, naming.as_str()),
    };
    let Ok(source) = EventSource::new(&url) else {
        return LessonStream::new(());
    };
    let heard = on.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
        heard(Heard::OnMessage);
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let on_tick = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| on(Heard::Tick));
    // Fails only for an invalid listener; ours is a function.
    let _ = source.add_event_listener_with_callback("tick", on_tick.as_ref().unchecked_ref());
    LessonStream::new(Lesson {
        source,
        _on_message: on_message,
        _on_tick: on_tick,
    })
}
