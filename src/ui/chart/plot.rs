//! The plot: the SVG that shows a [`Geometry`] (drawn by [`markup`]: gridlines, axes, the
//! line or the candles, volume, news markers, the last-price line and its tag, the
//! crosshair), the focusable frame around it that measures the width, and the browser
//! events that zoom and pan.
//!
//! Invariants: the SVG's `viewBox` is the frame's width and height, and once the browser
//! has measured the frame that width is the SVG's own, so one unit is one pixel. The
//! server and the browser's first render both use [`DEFAULT_WIDTH`](super::layout) (a
//! signal's initial value), so hydration finds the very markup the server sent; the width
//! changes only in an effect, and effects run in the browser after hydration. Only the
//! SVG itself takes pointer events (CSS: `pointer-events: none` on everything drawn but
//! the news markers), so an event's `offsetX` is always relative to the SVG.

use super::gesture::{self, Action, Pointers};
use super::layout::{Geometry, Mode};
use super::markup;
use super::viewport::Follow;
use crate::wire::Cents;
use leptos::prelude::*;

/// The plot of the chart. `last` is the symbol's last price and open (for the tag), `width`
/// is where the measured width goes, `follow` what zooming and panning change.
#[component]
pub fn ChartPlot(
    geometry: Memo<Geometry>,
    mode: RwSignal<Mode>,
    follow: RwSignal<Follow>,
    width: RwSignal<f64>,
    last: Memo<Option<(Cents, Cents)>>,
    label: Signal<String>,
) -> impl IntoView {
    let frame = NodeRef::<leptos::html::Div>::new();
    measure(frame, width);
    let hover = RwSignal::new(None::<(f64, f64)>);
    let pointers = StoredValue::new(Pointers::default());
    let act = move |action: Action| {
        let view = geometry.with_untracked(|g| g.window.zip(g.bounds));
        if let Some((window, bounds)) = view {
            follow.set(action.apply(window, bounds));
        }
    };
    let plot_width = move || geometry.with_untracked(|g| g.frame.plot_right);
    let svg_width = move || geometry.with_untracked(|g| g.frame.width);

    let on_down = move |ev: leptos::ev::PointerEvent| {
        // A mouse drags with its main button only; a news marker is a link, not a drag.
        if ev.pointer_type() == "mouse" && ev.button() != 0 {
            return;
        }
        let Some((x, y)) = browser::position(&ev, svg_width()) else {
            return;
        };
        browser::capture(&ev);
        pointers.update_value(|p| p.press(ev.pointer_id(), x, y));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some((x, y)) = browser::position(&ev, svg_width()) else {
            return;
        };
        hover.set(Some((x, y)));
        if ev.pointer_type() == "mouse" && ev.buttons() == 0 {
            // Released where we did not hear it: a hover, not a drag.
            pointers.update_value(|p| p.release(ev.pointer_id()));
        }
        let action = pointers
            .try_update_value(|p| p.moved(ev.pointer_id(), x, y, plot_width()))
            .flatten();
        if let Some(action) = action {
            act(action);
        }
    };
    let on_up = move |ev: leptos::ev::PointerEvent| {
        pointers.update_value(|p| p.release(ev.pointer_id()));
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        // The page does not scroll under a chart being zoomed.
        ev.prevent_default();
        let anchor =
            browser::position(&ev, svg_width()).map_or(0.5, |(x, _)| x / plot_width().max(1.0));
        let action = gesture::wheel_action(
            ev.delta_x(),
            ev.delta_y(),
            ev.delta_mode(),
            anchor,
            plot_width(),
        );
        if let Some(action) = action {
            act(action);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return; // the browser's own zoom and shortcuts
        }
        if let Some(action) = gesture::key_action(&ev.key()) {
            ev.prevent_default();
            act(action);
        }
    };

    let size = move || geometry.with(|g| (g.frame.width, g.frame.height));
    view! {
        <div
            class="chart-frame"
            data-testid="chart-plot"
            node_ref=frame
            tabindex="0"
            role="group"
            aria-label="Chart view: arrow keys pan, plus and minus zoom, End follows the stream"
            on:keydown=on_key
        >
            <svg
                class="chart-plot"
                viewBox=move || {
                    let (w, h) = size();
                    format!("0 0 {w} {h}")
                }
                role="img"
                aria-label=move || label.get()
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointercancel=on_up
                on:lostpointercapture=on_up
                on:pointerleave=move |_| hover.set(None)
                on:wheel=on_wheel
            >
                // Drawn as markup (src/ui/chart/markup.rs): one write per frame of history,
                // and one per pointer move for the crosshair.
                <g
                    class="drawing"
                    inner_html=move || {
                        let (mode, last) = (mode.get(), last.get());
                        geometry.with(|g| markup::drawing(g, mode, last))
                    }
                ></g>
                <g inner_html=move || geometry.with(|g| markup::crosshair(g, hover.get()))></g>
            </svg>
        </div>
    }
}

/// Measures the frame once hydrated and whenever its size changes (a window resize, a
/// scrollbar, the layout reflowing around it), and puts the width where the layout reads it
/// (only when it changed: a relayout redraws).
fn measure(frame: NodeRef<leptos::html::Div>, width: RwSignal<f64>) {
    // Effects run only in the browser, after hydration: the server's markup is matched
    // first, with the default width, then the chart redraws at the measured one.
    Effect::new(move || {
        let Some(element) = frame.get() else {
            return;
        };
        let update = move || {
            let Some(element) = frame.get_untracked() else {
                return;
            };
            let measured = f64::from(element.client_width());
            if measured > 0.0 && measured != width.get_untracked() {
                width.set(measured);
            }
        };
        update();
        #[cfg(feature = "hydrate")]
        observe_resizes(&element, update);
        #[cfg(not(feature = "hydrate"))]
        let _ = element;
    });
}

/// Calls `update` whenever `element` changes size, until the chart is unmounted.
#[cfg(feature = "hydrate")]
fn observe_resizes(element: &leptos::web_sys::Element, update: impl Fn() + 'static) {
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries| update());
    let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) else {
        return;
    };
    observer.observe(element);
    // The observer and its callback live exactly as long as the chart.
    let kept = StoredValue::new_local(Some((observer, callback)));
    on_cleanup(move || {
        if let Some((observer, _callback)) = kept.try_update_value(Option::take).flatten() {
            observer.disconnect();
        }
    });
}

/// The browser's side of the events; handlers never run on the server.
mod browser {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{Element, MouseEvent, PointerEvent};

    /// Where the event is, in SVG units (pixels once measured; `svg_width` converts while
    /// the SVG is still scaled from the server's default width). `None` when it is over
    /// something other than the SVG itself (a news marker), whose `offsetX` would be
    /// relative to that.
    pub fn position(ev: &MouseEvent, svg_width: f64) -> Option<(f64, f64)> {
        let current = ev.current_target()?;
        if ev.target().as_ref() != Some(&current) {
            return None;
        }
        let css_width = f64::from(current.dyn_into::<Element>().ok()?.client_width());
        if css_width <= 0.0 {
            return None;
        }
        let scale = svg_width / css_width;
        Some((
            f64::from(ev.offset_x()) * scale,
            f64::from(ev.offset_y()) * scale,
        ))
    }

    /// Keeps the pointer's events coming to the SVG while it is pressed, even outside it,
    /// so a drag does not stop at the chart's edge.
    pub fn capture(ev: &PointerEvent) {
        if let Some(element) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<Element>().ok())
        {
            // Fails only for a pointer that is no longer active: nothing to capture then.
            let _ = element.set_pointer_capture(ev.pointer_id());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::{sample_geometry, DEFAULT_WIDTH};
    use super::*;

    /// What the server sends: laid out at the default width, with every part a test finds.
    #[test]
    fn the_server_renders_the_default_width() {
        let owner = Owner::new();
        owner.set();
        let sample = sample_geometry(Mode::Line, &[]);
        let geometry = Memo::new(move |_| sample.clone());
        let html = view! {
            <ChartPlot
                geometry
                mode=RwSignal::new(Mode::Line)
                follow=RwSignal::new(Follow::Live)
                width=RwSignal::new(DEFAULT_WIDTH)
                last=Memo::new(|_| Some((17_888, 17_800)))
                label=Signal::derive(|| "NOVA · Novatek Systems".to_owned())
            />
        }
        .to_html();
        assert!(html.contains(r#"viewBox="0 0 800 320""#), "{html}");
        let count = |testid: &str| html.matches(&format!(r#"data-testid="{testid}""#)).count();
        assert!((4..=8).contains(&count("chart-price-tick")), "{html}");
        assert!((3..=8).contains(&count("chart-time-tick")), "{html}");
        assert_eq!(count("chart-line"), 1);
        assert_eq!(count("chart-high"), 1);
        assert!(html.contains(r#"data-testid="chart-last-tag" data-direction="up""#));
        assert!(html.contains(">178.88<"));
        assert_eq!(count("chart-readout"), 0); // no pointer on the server
    }
}
