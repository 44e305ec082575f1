//! The transports most pages never use — fetch-SSE, WebSocket, and the tab-shared stream —
//! live in a WebAssembly module of their own (`#[lazy]`, cut out by the release build's
//! split), fetched the first time a page asks for one of them. SSE
//! and polling stay in the first download: SSE is the default, and long-polling is where SSE
//! falls back to.
//!
//! Invariant: the handle the page gets at once behaves like the transport's own: closing it
//! while the module is still on its way means the transport, when it arrives, never opens.

use super::link::Link;
use super::{make_adapter, share};
use crate::ui::feed::{ConnectionState, FeedControl, FeedEvent, FeedHandle, FeedRequest};
use leptos::prelude::lazy;
use std::cell::RefCell;
use std::rc::Rc;

/// Starts `request`'s transport once its module has come; the handle works from now on.
pub fn start(request: FeedRequest, on: Rc<dyn Fn(FeedEvent)>) -> FeedHandle {
    // What the link will say first, said now: the module may take a while on a slow network.
    on(FeedEvent::State(ConnectionState::Connecting));
    let slot = Rc::new(RefCell::new(Slot::Loading));
    let filled = Rc::downgrade(&slot);
    leptos::task::spawn_local(async move {
        let handle = start_loaded(request, on).await;
        if let Some(slot) = filled.upgrade() {
            let mut slot = slot.borrow_mut();
            if matches!(*slot, Slot::Loading) {
                *slot = Slot::Running(handle);
            }
        }
        // Otherwise the page closed it meanwhile: `handle` drops here, closing it.
    });
    FeedHandle::new(Pending(slot))
}

/// Builds the transport; its first call fetches the module.
#[lazy]
fn start_loaded(request: FeedRequest, on: Rc<dyn Fn(FeedEvent)>) -> FeedHandle {
    if request.shared {
        share::start(request, on)
    } else {
        FeedHandle::new(Link::start(make_adapter(request.kind), request, on))
    }
}

enum Slot {
    Loading,
    Running(FeedHandle),
    Closed,
}

/// The page's handle while (and after) the module loads.
struct Pending(Rc<RefCell<Slot>>);

impl FeedControl for Pending {
    fn close(&self) {
        // Dropping the running handle closes its connection.
        *self.0.borrow_mut() = Slot::Closed;
    }

    // Before the transport runs there is no connection to kill or to drop.
    fn kill(&self) {
        if let Slot::Running(handle) = &*self.0.borrow() {
            handle.kill();
        }
    }

    fn drop_by_server(&self) {
        if let Slot::Running(handle) = &*self.0.borrow() {
            handle.drop_by_server();
        }
    }
}
