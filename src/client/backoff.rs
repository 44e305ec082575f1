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

/// At most one pending timer: setting a new one cancels the old, and so does dropping it.
#[derive(Default)]
pub struct Timer(std::cell::RefCell<Option<leptos::prelude::TimeoutHandle>>);

impl Timer {
    /// Runs `then` after `delay`, cancelling whatever was set before.
    pub fn set(&self, delay: std::time::Duration, then: impl FnOnce() + 'static) {
        self.cancel();
        match leptos::prelude::set_timeout_with_handle(then, delay) {
            Ok(handle) => *self.0.borrow_mut() = Some(handle),
            Err(err) => leptos::logging::warn!("cannot set a timer: {err:?}"),
        }
    }

    /// Cancels what was set, if it has not run yet.
    pub fn cancel(&self) {
        if let Some(handle) = self.0.borrow_mut().take() {
            handle.clear();
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}
