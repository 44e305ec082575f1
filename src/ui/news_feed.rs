//! The news feed: newest first, with a sentiment badge (word and arrow, not colour alone),
//! importance, and symbol chips that select the symbol on the chart. Screen readers hear
//! new headlines through a polite live region, at most one every [`ANNOUNCE_EVERY`], so a
//! news storm does not drown everything else out.

use super::format;
use super::store::MarketStore;
use crate::wire::{News, Sentiment};
use leptos::prelude::*;
use std::time::Duration;

const ANNOUNCE_EVERY: Duration = Duration::from_secs(10);

#[component]
pub fn NewsFeed() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let announcement = RwSignal::new(String::new());
    Effect::new(move || {
        let announced =
            std::cell::Cell::new(store.news.with_untracked(|n| n.first().map(|n| n.seq)));
        let handle = set_interval_with_handle(
            move || {
                let latest = store
                    .news
                    .with_untracked(|n| n.first().map(|n| (n.seq, n.headline.clone())));
                if let Some((seq, headline)) = latest {
                    if announced.replace(Some(seq)) != Some(seq) {
                        announcement.set(format!("News: {headline}"));
                    }
                }
            },
            ANNOUNCE_EVERY,
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <section class="news" aria-labelledby="news-heading">
            <h2 id="news-heading">"News"</h2>
            <div class="visually-hidden" aria-live="polite" data-testid="news-announcer">
                {move || announcement.get()}
            </div>
            <ol class="news-feed" data-testid="news-feed">
                <For
                    each=move || store.news.get()
                    key=|item| item.seq
                    children=move |item| view! { <NewsItem item/> }
                />
            </ol>
            <Show when=move || store.news.with(Vec::is_empty)>
                <p class="news-empty">"No headlines yet."</p>
            </Show>
        </section>
    }
}

#[component]
fn NewsItem(item: News) -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let (arrow, word) = match item.sentiment {
        Sentiment::Positive => ("▲", "Positive"),
        Sentiment::Negative => ("▼", "Negative"),
        Sentiment::Neutral => ("●", "Neutral"),
    };
    let importance = match item.importance {
        3 => "Major",
        2 => "Notable",
        _ => "Minor",
    };
    view! {
        <li
            class="news-item"
            id=format!("news-{}", item.seq)
            data-testid="news-item"
            data-sentiment=item.sentiment.as_str()
            data-importance=item.importance
        >
            <div class="news-meta">
                <span class="badge" data-sentiment=item.sentiment.as_str()>
                    <span aria-hidden="true">{arrow}" "</span>{word}
                </span>
                <span class="importance">{importance}</span>
                <time>{format::clock(item.ts)}</time>
            </div>
            <p class="headline">{item.headline.clone()}</p>
            <p class="summary">{item.summary.clone()}</p>
            <div class="chips">
                {item
                    .symbols
                    .iter()
                    .map(|symbol| {
                        let symbol = symbol.clone();
                        let chosen = symbol.clone();
                        view! {
                            <button
                                type="button"
                                class="chip"
                                data-testid="news-chip"
                                data-symbol=symbol.clone()
                                aria-label=format!("Show {symbol} on the chart")
                                on:click=move |_| store.selected.set(Some(chosen.clone()))
                            >
                                {symbol.clone()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
        </li>
    }
}
