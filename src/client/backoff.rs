//! Reconnection delays: exponential backoff with full jitter, so that a thousand clients
//! dropped at once (a restart, an instructor's disconnect) do not all come back in the same
//! millisecond. Attempt 0 waits up to 0.5 s, then 1, 2, 4 … capped at 30 s.

const BASE_MS: f64 = 500.0;
const CAP_MS: f64 = 30_000.0;

/// Where a reconnecting transport stands in its backoff.
#[derive(Debug, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The delay before the next attempt, in milliseconds.
    pub fn next_delay(&mut self) -> u32 {
        let ceiling = (BASE_MS * 2f64.powi(self.attempt.min(16) as i32)).min(CAP_MS);
        self.attempt += 1;
        // Full jitter: anywhere between nothing and the ceiling.
        (js_sys::Math::random() * ceiling) as u32
    }

    /// A connection succeeded: start again from the shortest delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Resolves after `delay`.
pub async fn sleep(delay: std::time::Duration) {
    let ms = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A pending `setTimeout`: its id, and the callback the browser will call.
type Pending = (i32, wasm_bindgen::closure::Closure<dyn FnMut()>);

/// At most one pending timer: setting a new one cancels the old, and so does dropping it.
///
/// The callback is owned here, not handed to the browser for good: a timer cancelled
/// before it fires frees its callback (a one-shot closure given away would leak, and a
/// watchdog re-armed often would leak often). Dropping the callback from inside itself —
/// a timer that sets itself again — is safe: wasm-bindgen frees it once the call returns.
#[derive(Default)]
pub struct Timer(std::cell::RefCell<Option<Pending>>);

impl Timer {
    /// Runs `then` after `delay`, cancelling whatever was set before.
    pub fn set(&self, delay: std::time::Duration, then: impl FnOnce() + 'static) {
        use wasm_bindgen::JsCast;
        self.cancel();
        let Some(window) = web_sys::window() else {
            return;
        };
        let mut then = Some(then);
        let callback = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            if let Some(then) = then.take() {
                then();
            }
        });
        let ms = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
        match window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            ms,
        ) {
            Ok(id) => *self.0.borrow_mut() = Some((id, callback)),
            Err(err) => leptos::logging::warn!("cannot set a timer: {err:?}"),
        }
    }

    /// Cancels what was set, if it has not run yet.
    pub fn cancel(&self) {
        // Taken out before the callback is dropped: no borrow is held while it goes.
        let pending = self.0.borrow_mut().take();
        if let Some((id, _callback)) = pending {
            if let Some(window) = web_sys::window() {
                window.clear_timeout_with_handle(id);
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}
