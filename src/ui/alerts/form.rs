//! Setting an alert from a watchlist row: a bell button in the row, and under the row an
//! inline form — above/below, a price prefilled with the last, Set and Cancel.
//!
//! Invariant: the bell and the form never select the row. The bell stops its click and
//! its keys from reaching the row (whose Enter/Space handler would otherwise select the
//! symbol and cancel the button's own activation), and the form sits in a row of its own,
//! outside the symbol row. Only a price [`parse_price`] accepts is ever set.

use super::book::AlertBook;
use super::entry::parse_price;
use super::model::Direction;
use crate::ui::deferred::{deferred, LOADING};
use crate::ui::format;
use crate::wire::Quote;
use leptos::ev::{KeyboardEvent, MouseEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;

/// The watchlist's columns, which the form's row spans.
const COLUMNS: &str = "6";

/// The bell in a row: opens the row's alert form, or closes it. Marked while the symbol
/// has armed alerts.
#[component]
pub fn AlertButton(symbol: String, button: NodeRef<html::Button>) -> impl IntoView {
    let book = expect_context::<AlertBook>();
    let open = {
        let symbol = symbol.clone();
        move || book.editing.with(|e| e.as_deref() == Some(symbol.as_str()))
    };
    let armed = {
        let symbol = symbol.clone();
        move || {
            book.alerts.with(|alerts| {
                alerts
                    .iter()
                    .filter(|a| a.armed() && a.symbol == symbol)
                    .count()
            })
        }
    };
    let label = {
        let symbol = symbol.clone();
        let armed = armed.clone();
        move || match armed() {
            0 => format!("Set a price alert for {symbol}"),
            n => format!("Set a price alert for {symbol} ({n} armed)"),
        }
    };
    let toggle = {
        let open = open.clone();
        move |ev: MouseEvent| {
            ev.stop_propagation();
            let next = (!open()).then(|| symbol.clone());
            book.editing.set(next);
        }
    };
    view! {
        <button
            type="button"
            class="alert-button"
            data-testid="alert-button"
            data-armed=move || (armed() > 0).to_string()
            aria-label=label
            aria-expanded=move || open().to_string()
            node_ref=button
            on:click=toggle
            on:keydown=|ev: KeyboardEvent| ev.stop_propagation()
        >
            <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
                <path d="M8 1.75a4 4 0 0 0-4 4v2.6L2.5 11h11L12 8.35v-2.6a4 4 0 0 0-4-4z"/>
                <path d="M6.5 12.75a1.5 1.5 0 0 0 3 0"/>
            </svg>
        </button>
    }
}

/// The row under a symbol's row that holds its form while it is open.
#[component]
pub fn AlertFormRow(
    symbol: String,
    quote: RwSignal<Quote>,
    button: NodeRef<html::Button>,
) -> impl IntoView {
    let book = expect_context::<AlertBook>();
    let open = {
        let symbol = symbol.clone();
        move || book.editing.with(|e| e.as_deref() == Some(symbol.as_str()))
    };
    view! {
        <Show when=open>
            <tr class="alert-form-row">
                <td colspan=COLUMNS>
                    {
                        let symbol = symbol.clone();
                        move || deferred(alert_form(symbol.clone(), quote, button), LOADING)
                    }
                </td>
            </tr>
        </Show>
    }
}

/// The form, fetched the first time any bell is pressed (src/ui/deferred.rs).
#[lazy]
fn alert_form(symbol: String, quote: RwSignal<Quote>, button: NodeRef<html::Button>) -> AnyView {
    view! { <AlertForm symbol quote button/> }.into_any()
}

#[component]
fn AlertForm(
    symbol: String,
    quote: RwSignal<Quote>,
    button: NodeRef<html::Button>,
) -> impl IntoView {
    let book = expect_context::<AlertBook>();
    let direction = RwSignal::new(Direction::Above);
    let draft = RwSignal::new(format::price(quote.with_untracked(|q| q.last)));
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Input>::new();
    // Straight to the price, selected, so typing replaces the prefilled last. A frame later:
    // the input's value is set after it mounts, and setting a value drops a selection.
    Effect::new(move || {
        if input.get().is_some() {
            request_animation_frame(move || {
                if let Some(input) = input.get_untracked() {
                    let _ = input.focus();
                    input.select();
                }
            });
        }
    });
    // Closing hands the focus back to the bell, where the keyboard left off.
    let close = move || {
        book.editing.set(None);
        if let Some(button) = button.get_untracked() {
            let _ = button.focus();
        }
    };
    let submit = {
        let symbol = symbol.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let outcome = parse_price(&draft.get_untracked())
                .map_err(|err| err.to_string())
                .and_then(|price| {
                    book.add(&symbol, direction.get_untracked(), price)
                        .map_err(|full| full.to_string())
                });
            match outcome {
                Ok(()) => close(),
                Err(message) => error.set(Some(message)),
            }
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close();
        }
    };
    let hint = move || {
        format!(
            "Last {}. The alert fires once, when a trade crosses the level.",
            format::price(quote.with(|q| q.last))
        )
    };
    let error_id = format!("alert-error-{symbol}");
    view! {
        <form
            class="alert-form"
            data-testid="alert-form"
            data-symbol=symbol.clone()
            aria-label=format!("Price alert for {symbol}")
            novalidate
            on:submit=submit
            on:keydown=on_key
        >
            <label>
                {format!("Alert when {symbol} is ")}
                <select
                    data-testid="alert-direction"
                    on:change=move |ev| {
                        let chosen = Direction::from_name(&event_target_value(&ev));
                        direction.set(chosen.unwrap_or(Direction::Above));
                    }
                >
                    {Direction::ALL
                        .map(|d| view! { <option value=d.as_str()>{d.as_str()}</option> })}
                </select>
            </label>
            <label>
                "Price "
                <input
                    type="text"
                    inputmode="decimal"
                    autocomplete="off"
                    size="9"
                    data-testid="alert-price"
                    node_ref=input
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    aria-describedby=error_id.clone()
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
            </label>
            <button type="submit" data-testid="alert-set">"Set"</button>
            <button type="button" data-testid="alert-cancel" on:click=move |_| close()>
                "Cancel"
            </button>
            <p class="alert-hint">{hint}</p>
            <p class="alert-error" id=error_id role="alert" data-testid="alert-error">
                {move || error.get()}
            </p>
        </form>
    }
}
