//! `/lessons`: the seed articles' lessons that are not a transport of their own, each one
//! runnable here.
//!
//! The first runs live on this page: two `EventSource`s on the same stream, one with named
//! events (the default) and one with `?events=unnamed`, each with an `onmessage` handler and
//! an `addEventListener("tick")` listener. `onmessage` hears only unnamed events; a `tick`
//! listener hears only events named `tick`. The others point to where the lesson runs.
//!
//! The page opens no connection itself: the browser build provides a [`ListenerLesson`]
//! (the same seam as the live feed); the server renders the counters at zero.

use super::masthead::Masthead;
use crate::wire::EventNaming;
use leptos::prelude::*;
use std::rc::Rc;

/// Which listener of a lesson stream heard an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// The `onmessage` handler (events without a name, or named `message`).
    OnMessage,
    /// The `addEventListener("tick", …)` listener.
    Tick,
}

/// A running lesson stream; dropping it closes it.
pub struct LessonStream {
    _open: Box<dyn std::any::Any>,
}

impl LessonStream {
    /// Keeps `connection` open for as long as the handle lives.
    pub fn new(connection: impl std::any::Any) -> LessonStream {
        LessonStream {
            _open: Box::new(connection),
        }
    }
}

/// Opens an `EventSource` that names its events or not, reporting which listener heard what.
pub type StartLesson = fn(EventNaming, Rc<dyn Fn(Heard)>) -> LessonStream;

/// The browser build's lesson streams, provided as context (absent on the server).
#[derive(Clone, Copy)]
pub struct ListenerLesson(pub StartLesson);

/// The lessons page.
#[component]
pub fn LessonsPage() -> impl IntoView {
    view! {
        <div class="page lessons">
            <Masthead
                path="/lessons"
                title="tickstream lessons"
                tagline="What the SSE articles teach, each one runnable"
            />
            <main class="lessons-main">
                <section class="lesson" data-testid="lesson-listeners">
                    <h2>"onmessage hears only unnamed events"</h2>
                    <p>
                        "An event with an " <code>"event: tick"</code> " line goes to the listeners of "
                        <code>"tick"</code> "; only an event without one (or named " <code>"message"</code>
                        ") reaches " <code>"onmessage"</code> ". Two EventSources on the same market, "
                        "each with both kinds of listener:"
                    </p>
                    <div class="lesson-streams">
                        <ListenerCounts naming=EventNaming::Named/>
                        <ListenerCounts naming=EventNaming::Unnamed/>
                    </div>
                </section>
                <section class="lesson">
                    <h2>"A stream that ends: the streamed answer"</h2>
                    <p>
                        "Most SSE people meet today is a finite answer written word by word. On the "
                        <a href="/">"market page"</a> ", press " <em>"Explain this move"</em>
                        " under the chart: " <code>"POST /api/explain"</code> " streams "
                        <code>"token"</code> " events, then " <code>"done"</code> ", and the response "
                        "ends. It is read with " <code>"fetch"</code> ": an EventSource can only GET."
                    </p>
                    <pre><code>"curl -N -d '{\"symbol\":\"NOVA\"}' http://127.0.0.1:3000/api/explain"</code></pre>
                </section>
                <section class="lesson">
                    <h2>"SSE without EventSource: the fetch polyfill"</h2>
                    <p>
                        "SSE needs no fallback protocol on the server: a few lines of " <code>"fetch"</code>
                        " and a parser read the same stream, and can send any header — "
                        <code>"Last-Event-ID"</code> " as a real header, " <code>"Authorization"</code>
                        ". The " <a href="/lab">"lab"</a> "'s fetch-SSE panel and "
                        <code>"?transport=fetch"</code> " on the market page run it."
                    </p>
                </section>
                <section class="lesson">
                    <h2>"Publish anything to everyone"</h2>
                    <p>
                        "The Flask + Redis article's " <code>"/post"</code> ": any named event, with any "
                        "JSON, reaches every viewer on every transport and every instance. An "
                        <code>"announcement"</code> " shows as a banner on the market page."
                    </p>
                    <pre><code>"curl -H 'Authorization: Bearer TOKEN' -d '{\"event\":\"announcement\",\"data\":\"Lunch at noon\"}' http://127.0.0.1:3000/api/admin/publish\nredis-cli XADD tickstream:publish '*' event announcement data '\"Lunch at noon\"'"</code></pre>
                </section>
            </main>
        </div>
    }
}

/// One lesson stream and what each of its listeners heard.
#[component]
fn ListenerCounts(naming: EventNaming) -> impl IntoView {
    let on_message = RwSignal::new(0u64);
    let ticks = RwSignal::new(0u64);
    let running = StoredValue::new_local(None::<LessonStream>);
    if let Some(lesson) = use_context::<ListenerLesson>() {
        Effect::new(move || {
            let on = Rc::new(move |heard| match heard {
                Heard::OnMessage => on_message.update(|n| *n += 1),
                Heard::Tick => ticks.update(|n| *n += 1),
            });
            running.set_value(Some((lesson.0)(naming, on)));
        });
    }
    let (title, url) = match naming {
        EventNaming::Named => ("Named events", "/api/sse"),
        EventNaming::Unnamed => ("Unnamed events", "/api/sse?events=unnamed"),
    };
    let id = naming.as_str();
    view! {
        <div class="lesson-stream" data-testid=format!("lesson-{id}")>
            <h3>{title} " " <code>{url}</code></h3>
            <dl>
                <dt><code>"onmessage"</code></dt>
                <dd data-testid=format!("lesson-{id}-onmessage")>{move || on_message.get()}</dd>
                <dt><code>"addEventListener(\"tick\")"</code></dt>
                <dd data-testid=format!("lesson-{id}-tick")>{move || ticks.get()}</dd>
            </dl>
        </div>
    }
}
