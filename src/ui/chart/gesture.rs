//! What the reader's input means for the visible window: keys, the wheel, a drag and a
//! pinch each become an [`Action`] (pan by a fraction of the span, zoom around a point,
//! or go live), applied to the window by [`viewport`](super::viewport)'s pure functions.
//!
//! Invariant: nothing here touches the browser. The event plumbing (pointer capture,
//! positions in pixels) is in [`plot`](super::plot); this file only turns numbers into
//! actions, so every gesture's arithmetic is unit-tested.

use super::viewport::{self, Bounds, Follow, Window};

/// What a key press pans by: a tenth of the window.
const KEY_PAN: f64 = 0.1;
/// What a key press zooms by.
const KEY_ZOOM: f64 = 1.25;
/// How strongly the wheel zooms: a 100 px notch zooms by e^0.2 ≈ 1.22.
const WHEEL_ZOOM_PER_PX: f64 = 0.002;
/// Pinch fingers closer than this (in pixels) would make the ratio jumpy: ignored.
const PINCH_MIN_DISTANCE: f64 = 10.0;

/// A change of the visible window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    /// Move by this fraction of the span (negative: back in time).
    Pan(f64),
    /// Multiply the span by `factor` (below 1 zooms in) keeping the time at `anchor`
    /// (0 = left edge, 1 = right edge) where it is.
    Zoom { factor: f64, anchor: f64 },
    /// Follow the stream again.
    Live,
}

impl Action {
    /// What the chart follows after this action on `window` within `bounds`.
    pub fn apply(self, window: Window, bounds: Bounds) -> Follow {
        match self {
            Action::Pan(fraction) => {
                let delta = (fraction * window.span() as f64).round() as i64;
                Follow::Fixed(viewport::pan(window, bounds, delta))
            }
            Action::Zoom { factor, anchor } => {
                Follow::Fixed(viewport::zoom(window, bounds, factor, anchor))
            }
            Action::Live => Follow::Live,
        }
    }
}

/// The action of a key (`KeyboardEvent.key`), if the chart answers it: arrows pan, `+`
/// (or `=`, the same key unshifted) zooms in, `-` zooms out, End goes live.
pub fn key_action(key: &str) -> Option<Action> {
    let centre = 0.5;
    match key {
        "ArrowLeft" => Some(Action::Pan(-KEY_PAN)),
        "ArrowRight" => Some(Action::Pan(KEY_PAN)),
        "+" | "=" => Some(Action::Zoom {
            factor: 1.0 / KEY_ZOOM,
            anchor: centre,
        }),
        "-" | "_" => Some(Action::Zoom {
            factor: KEY_ZOOM,
            anchor: centre,
        }),
        "End" => Some(Action::Live),
        _ => None,
    }
}

/// The action of a wheel event: vertical turns zoom around `anchor` (wheel up zooms in),
/// a mostly horizontal swipe (a trackpad) pans. `delta_mode` is the DOM's: 0 pixels,
/// 1 lines, 2 pages; `width` is the plot's width in pixels.
pub fn wheel_action(
    delta_x: f64,
    delta_y: f64,
    delta_mode: u32,
    anchor: f64,
    width: f64,
) -> Option<Action> {
    let unit = match delta_mode {
        1 => 16.0,
        2 => width.max(1.0),
        _ => 1.0,
    };
    let (dx, dy) = (delta_x * unit, delta_y * unit);
    if dx.abs() > dy.abs() {
        return Some(Action::Pan(dx / width.max(1.0)));
    }
    if dy == 0.0 {
        return None;
    }
    Some(Action::Zoom {
        factor: (dy * WHEEL_ZOOM_PER_PX).exp().clamp(0.5, 2.0),
        anchor: anchor.clamp(0.0, 1.0),
    })
}

/// The pointers pressed on the plot: one drags (pans), two pinch (zoom).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pointers {
    /// (pointer id, x, y) in pixels; at most two.
    down: Vec<(i32, f64, f64)>,
}

impl Pointers {
    /// A pointer went down at (x, y). A third finger is ignored.
    pub fn press(&mut self, id: i32, x: f64, y: f64) {
        self.release(id);
        if self.down.len() < 2 {
            self.down.push((id, x, y));
        }
    }

    /// A pointer went up, or the browser took it over (`pointercancel`).
    pub fn release(&mut self, id: i32) {
        self.down.retain(|&(down, ..)| down != id);
    }

    /// Pointer `id` moved to (x, y) on a plot `width` pixels wide: the drag or pinch that
    /// makes, if it is pressed.
    pub fn moved(&mut self, id: i32, x: f64, y: f64, width: f64) -> Option<Action> {
        let index = self.down.iter().position(|&(down, ..)| down == id)?;
        let (_, old_x, old_y) = self.down[index];
        self.down[index] = (id, x, y);
        let width = width.max(1.0);
        match self.down.as_slice() {
            // Dragging right brings earlier times into view.
            [_] => (x != old_x).then_some(Action::Pan(-(x - old_x) / width)),
            [first, second] => {
                let (_, other_x, other_y) = if index == 0 { *second } else { *first };
                let before = (old_x - other_x).hypot(old_y - other_y);
                let after = (x - other_x).hypot(y - other_y);
                if before < PINCH_MIN_DISTANCE || after < PINCH_MIN_DISTANCE || before == after {
                    return None;
                }
                Some(Action::Zoom {
                    // Fingers apart: a shorter span.
                    factor: before / after,
                    anchor: ((x + other_x) / 2.0 / width).clamp(0.0, 1.0),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        oldest: 0,
        latest: 600_000,
    };
    const WINDOW: Window = Window {
        start: 300_000,
        end: 400_000,
    };

    fn span_after(action: Action) -> u64 {
        match action.apply(WINDOW, BOUNDS) {
            Follow::Fixed(w) => w.span(),
            Follow::Live => 0,
        }
    }

    #[test]
    fn keys_pan_a_tenth_and_zoom() {
        assert_eq!(
            key_action("ArrowLeft").map(|a| a.apply(WINDOW, BOUNDS)),
            Some(Follow::Fixed(Window {
                start: 290_000,
                end: 390_000
            }))
        );
        assert_eq!(
            key_action("ArrowRight").map(|a| a.apply(WINDOW, BOUNDS)),
            Some(Follow::Fixed(Window {
                start: 310_000,
                end: 410_000
            }))
        );
        for key in ["+", "="] {
            assert_eq!(key_action(key).map(span_after), Some(80_000));
        }
        assert_eq!(key_action("-").map(span_after), Some(125_000));
        assert_eq!(key_action("End"), Some(Action::Live));
        assert_eq!(key_action("a"), None);
    }

    #[test]
    fn the_wheel_zooms_around_the_pointer_and_swipes_pan() {
        let Some(Action::Zoom { factor, anchor }) = wheel_action(0.0, -100.0, 0, 0.25, 500.0)
        else {
            panic!("wheel up zooms");
        };
        assert!(factor < 1.0 && factor > 0.5);
        assert_eq!(anchor, 0.25);
        let Some(Action::Zoom { factor, .. }) = wheel_action(0.0, 3.0, 1, 0.5, 500.0) else {
            panic!("wheel down in lines zooms out");
        };
        assert!(factor > 1.0);
        assert_eq!(
            wheel_action(50.0, 5.0, 0, 0.5, 500.0),
            Some(Action::Pan(0.1))
        );
        assert_eq!(wheel_action(0.0, 0.0, 0, 0.5, 500.0), None);
    }

    #[test]
    fn a_drag_pans_against_its_direction() {
        let mut pointers = Pointers::default();
        assert_eq!(pointers.moved(1, 10.0, 0.0, 500.0), None); // not pressed: a hover
        pointers.press(1, 100.0, 50.0);
        assert_eq!(
            pointers.moved(1, 150.0, 50.0, 500.0),
            Some(Action::Pan(-0.1))
        );
        assert_eq!(pointers.moved(1, 150.0, 80.0, 500.0), None); // vertical only
        pointers.release(1);
        assert_eq!(pointers.moved(1, 200.0, 80.0, 500.0), None);
    }

    #[test]
    fn a_pinch_zooms_around_its_middle() {
        let mut pointers = Pointers::default();
        pointers.press(1, 100.0, 50.0);
        pointers.press(2, 200.0, 50.0);
        pointers.press(3, 300.0, 50.0); // a third finger changes nothing
                                        // Fingers twice as far apart: half the span, around their middle.
        assert_eq!(
            pointers.moved(2, 300.0, 50.0, 400.0),
            Some(Action::Zoom {
                factor: 0.5,
                anchor: 0.5
            })
        );
        let Some(Action::Zoom { factor, .. }) = pointers.moved(1, 200.0, 50.0, 400.0) else {
            panic!("closer fingers zoom out");
        };
        assert!(factor > 1.0);
        pointers.release(2);
        assert_eq!(
            pointers.moved(1, 190.0, 50.0, 400.0),
            Some(Action::Pan(0.025))
        );
    }
}
