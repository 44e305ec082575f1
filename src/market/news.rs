//! News: what a headline is, the catalogue generated news is drawn from, and how a
//! headline becomes a price effect.
//!
//! Generated news arrives as a Poisson process (`news_per_min` per logical minute, so
//! `news_per_min * step_secs / 60` per step); each arrival draws a kind from the
//! catalogue by weight, then its scope (one symbol, a sector, the market), sentiment,
//! importance and a headline and summary from that kind's templates. An instructor's
//! [`NewsDraft`] is turned into the same [`NewsItem`] by [`from_draft`] and takes the
//! same path from there.
//!
//! Invariant: publishing and moving prices are two moments. A headline is published at
//! step `s` together with its price effect, a Merton-style log-jump per touched symbol,
//! drawn at once (so the item is fully determined when it is published) but applied by
//! the price model only at step `s + news_delay_steps`. A chart therefore always shows
//! the cause before the effect, and the delay is a constant, never random.
//! `NewsItem::symbols` lists exactly the symbols the effect touches.

use std::fmt;

use super::rng::Noise;
use super::universe::Universe;

/// The kinds of news in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewsKind {
    /// Quarterly results above expectations.
    EarningsBeat,
    /// Quarterly results below expectations.
    EarningsMiss,
    /// An analyst raises the rating.
    Upgrade,
    /// An analyst cuts the rating.
    Downgrade,
    /// A takeover bid for the company (good for the target's price).
    Merger,
    /// A new product or contract.
    ProductLaunch,
    /// A lawsuit, probe or recall.
    Lawsuit,
    /// A chief executive arrives or leaves.
    ExecutiveChange,
    /// An economy-wide figure (jobs, inflation, rates): moves the whole market.
    MacroData,
    /// Something that touches a whole industry.
    SectorNews,
    /// Written by an instructor through the admin API.
    Instructor,
}

impl NewsKind {
    /// Every kind, in catalogue order.
    pub const ALL: [NewsKind; 11] = [
        NewsKind::EarningsBeat,
        NewsKind::EarningsMiss,
        NewsKind::Upgrade,
        NewsKind::Downgrade,
        NewsKind::Merger,
        NewsKind::ProductLaunch,
        NewsKind::Lawsuit,
        NewsKind::ExecutiveChange,
        NewsKind::MacroData,
        NewsKind::SectorNews,
        NewsKind::Instructor,
    ];

    /// Snake-case name (`earnings_beat`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            NewsKind::EarningsBeat => "earnings_beat",
            NewsKind::EarningsMiss => "earnings_miss",
            NewsKind::Upgrade => "upgrade",
            NewsKind::Downgrade => "downgrade",
            NewsKind::Merger => "merger",
            NewsKind::ProductLaunch => "product_launch",
            NewsKind::Lawsuit => "lawsuit",
            NewsKind::ExecutiveChange => "executive_change",
            NewsKind::MacroData => "macro_data",
            NewsKind::SectorNews => "sector_news",
            NewsKind::Instructor => "instructor",
        }
    }
}

impl fmt::Display for NewsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a headline should move prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sentiment {
    /// Prices of what it touches jump up.
    Positive,
    /// Prices of what it touches jump down.
    Negative,
    /// No expected direction: a small jump either way, and wider spreads.
    Neutral,
}

impl Sentiment {
    /// Lower-case name (`positive`, `negative`, `neutral`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
        }
    }

    /// +1, -1 or 0.
    pub fn sign(self) -> f64 {
        match self {
            Sentiment::Positive => 1.0,
            Sentiment::Negative => -1.0,
            Sentiment::Neutral => 0.0,
        }
    }
}

impl fmt::Display for Sentiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a news item is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewsScope {
    /// One company.
    Symbol(String),
    /// One sector.
    Sector(String),
    /// The whole market.
    Market,
}

impl NewsScope {
    /// `symbol`, `sector` or `market`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            NewsScope::Symbol(_) => "symbol",
            NewsScope::Sector(_) => "sector",
            NewsScope::Market => "market",
        }
    }
}

/// A published headline.
#[derive(Clone, Debug, PartialEq)]
pub struct NewsItem {
    /// The step at which it was published.
    pub step: u64,
    /// Per-market counter, 1 for the first item, no gaps.
    pub seq: u64,
    /// Catalogue kind.
    pub kind: NewsKind,
    /// One line.
    pub headline: String,
    /// A sentence or two.
    pub summary: String,
    /// Expected direction of the price effect.
    pub sentiment: Sentiment,
    /// 1 (minor) ..= 3 (major): the size of the price effect.
    pub importance: u8,
    /// What it is about.
    pub scope: NewsScope,
    /// Exactly the symbols whose prices it moves, in universe order.
    pub symbols: Vec<String>,
}

/// A headline written by an instructor.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NewsDraft {
    /// Required, one line, at most [`MAX_HEADLINE_CHARS`] characters.
    pub headline: String,
    /// Optional, at most [`MAX_SUMMARY_CHARS`] characters.
    pub summary: Option<String>,
    /// Symbols it touches (case-insensitive); empty means the whole market.
    pub symbols: Vec<String>,
    /// Direction of the effect; `None` means neutral.
    pub sentiment: Option<Sentiment>,
}

/// Longest accepted instructor headline, in characters.
pub const MAX_HEADLINE_CHARS: usize = 200;
/// Longest accepted instructor summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 1_000;
/// Most symbols an instructor headline may name.
pub const MAX_DRAFT_SYMBOLS: usize = 16;

/// Why an instructor's draft was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewsError {
    /// The headline is empty or only whitespace.
    EmptyHeadline,
    /// The headline is longer than [`MAX_HEADLINE_CHARS`].
    HeadlineTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The headline contains a line break or another control character.
    HeadlineNotOneLine,
    /// The summary is longer than [`MAX_SUMMARY_CHARS`].
    SummaryTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// More than [`MAX_DRAFT_SYMBOLS`] symbols.
    TooManySymbols {
        /// How many were given.
        count: usize,
    },
    /// A symbol that is not in the universe.
    UnknownSymbol(String),
}

impl fmt::Display for NewsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewsError::EmptyHeadline => f.write_str("the headline is empty"),
            NewsError::HeadlineTooLong { chars } => write!(
                f,
                "the headline has {chars} characters (at most {MAX_HEADLINE_CHARS})"
            ),
            NewsError::HeadlineNotOneLine => {
                f.write_str("the headline must be one line without control characters")
            }
            NewsError::SummaryTooLong { chars } => write!(
                f,
                "the summary has {chars} characters (at most {MAX_SUMMARY_CHARS})"
            ),
            NewsError::TooManySymbols { count } => {
                write!(f, "{count} symbols named (at most {MAX_DRAFT_SYMBOLS})")
            }
            NewsError::UnknownSymbol(s) => write!(f, "unknown symbol \"{s}\""),
        }
    }
}

impl std::error::Error for NewsError {}

/// A headline and the price effect it will have: `(symbol index, log-jump)` pairs, to
/// be applied `news_delay_steps` after publication.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    /// The item to publish now.
    pub item: NewsItem,
    /// Log-jumps per symbol index, applied later.
    pub jumps: Vec<(usize, f64)>,
}

// ---- the catalogue ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Symbol,
    Sector,
    Market,
}

/// `None` sentiment: drawn per item (positive, negative or neutral).
struct Entry {
    kind: NewsKind,
    reach: Reach,
    sentiment: Option<Sentiment>,
    /// Relative frequency among generated items.
    weight: f64,
    /// Relative frequency of importance 1, 2, 3.
    importance: [f64; 3],
    /// Headline templates, each for one sentiment.
    headlines: &'static [(Sentiment, &'static str)],
    /// Summary templates, each for one sentiment.
    summaries: &'static [(Sentiment, &'static str)],
}

use Sentiment::{Negative as N, Neutral as Z, Positive as P};

/// Placeholders: `{name}` `{sym}` `{sector}` `{pct}` `{firm}` `{target}` `{q}`
/// `{product}` `{figure}` `{buyer}` `{city}`.
const CATALOGUE: &[Entry] = &[
    Entry {
        kind: NewsKind::EarningsBeat,
        reach: Reach::Symbol,
        sentiment: Some(P),
        weight: 1.2,
        importance: [0.3, 0.5, 0.2],
        headlines: &[
            (P, "{name} beats {q} estimates as revenue jumps {pct}%"),
            (P, "{sym} tops Street forecasts, raises full-year guidance"),
            (P, "{name} posts record {q} profit"),
            (P, "Strong {q} for {name}: earnings {pct}% above consensus"),
        ],
        summaries: &[
            (P, "{name} reported {q} earnings well ahead of analyst expectations and lifted its outlook for the year."),
            (P, "Margins widened at {name} as demand held up; management said orders remain strong into next quarter."),
        ],
    },
    Entry {
        kind: NewsKind::EarningsMiss,
        reach: Reach::Symbol,
        sentiment: Some(N),
        weight: 1.2,
        importance: [0.3, 0.5, 0.2],
        headlines: &[
            (N, "{name} misses {q} estimates, cuts outlook"),
            (N, "{sym} {q} revenue falls {pct}% short of forecasts"),
            (N, "{name} warns of weaker demand after disappointing {q}"),
            (N, "Profit at {name} slides; guidance lowered"),
        ],
        summaries: &[
            (N, "{name} reported {q} results below expectations and trimmed its full-year forecast."),
            (N, "Rising costs squeezed margins at {name}; executives flagged a softer second half."),
        ],
    },
    Entry {
        kind: NewsKind::Upgrade,
        reach: Reach::Symbol,
        sentiment: Some(P),
        weight: 1.0,
        importance: [0.6, 0.35, 0.05],
        headlines: &[
            (P, "{firm} upgrades {sym} to buy, target ${target}"),
            (P, "{firm} turns bullish on {name}"),
            (P, "{name} raised to overweight at {firm}"),
        ],
        summaries: &[
            (P, "Analysts at {firm} see upside for {name} and set a price target of ${target}."),
            (P, "{firm} cited improving execution at {name} and an attractive valuation."),
        ],
    },
    Entry {
        kind: NewsKind::Downgrade,
        reach: Reach::Symbol,
        sentiment: Some(N),
        weight: 1.0,
        importance: [0.6, 0.35, 0.05],
        headlines: &[
            (N, "{firm} downgrades {sym} to sell, target ${target}"),
            (N, "{firm} cuts {name} to underweight"),
            (N, "{name} loses a bull: {firm} moves to neutral"),
        ],
        summaries: &[
            (N, "{firm} lowered its rating on {name}, citing slowing growth, and set a ${target} target."),
            (N, "Analysts at {firm} see limited upside for {name} after its recent run."),
        ],
    },
    Entry {
        kind: NewsKind::Merger,
        reach: Reach::Symbol,
        sentiment: Some(P),
        weight: 0.4,
        importance: [0.1, 0.4, 0.5],
        headlines: &[
            (P, "{buyer} bids for {name} at a {pct}% premium"),
            (P, "{name} agrees to be acquired in all-cash deal"),
            (P, "Report: {name} explores sale after takeover approach"),
        ],
        summaries: &[
            (P, "{name} confirmed it received an offer; the board is reviewing the proposal with advisers."),
            (P, "The deal values {name} well above its last closing price and is expected to close next year."),
        ],
    },
    Entry {
        kind: NewsKind::ProductLaunch,
        reach: Reach::Symbol,
        sentiment: Some(P),
        weight: 0.9,
        importance: [0.5, 0.4, 0.1],
        headlines: &[
            (P, "{name} unveils {product}"),
            (P, "{sym} wins major contract in {city}"),
            (P, "{name} launch of {product} draws strong early orders"),
        ],
        summaries: &[
            (P, "{name} presented {product}, its most ambitious launch in years, to a packed event in {city}."),
            (P, "The new business is expected to add to {name}'s revenue from next quarter."),
        ],
    },
    Entry {
        kind: NewsKind::Lawsuit,
        reach: Reach::Symbol,
        sentiment: Some(N),
        weight: 0.7,
        importance: [0.4, 0.4, 0.2],
        headlines: &[
            (N, "{name} faces class action over disclosures"),
            (N, "Regulators open probe into {name}"),
            (N, "{sym} recalls {product} after safety complaints"),
        ],
        summaries: &[
            (N, "The complaint, filed in {city}, seeks damages; {name} said it will defend itself vigorously."),
            (N, "{name} said it is cooperating fully; analysts warn the matter could take years to resolve."),
        ],
    },
    Entry {
        kind: NewsKind::ExecutiveChange,
        reach: Reach::Symbol,
        sentiment: None,
        weight: 0.5,
        importance: [0.5, 0.4, 0.1],
        headlines: &[
            (P, "{name} names industry veteran as chief executive"),
            (N, "{name} CEO steps down unexpectedly"),
            (Z, "{name} reshuffles leadership team"),
        ],
        summaries: &[
            (P, "Investors welcomed the appointment, which ends months of uncertainty at {name}."),
            (N, "The board of {name} gave no reason for the departure; a search for a successor is under way."),
            (Z, "{name} said the changes take effect next month and do not alter its strategy."),
        ],
    },
    Entry {
        kind: NewsKind::MacroData,
        reach: Reach::Market,
        sentiment: None,
        weight: 0.8,
        importance: [0.3, 0.5, 0.2],
        headlines: &[
            (P, "Jobs report beats forecasts: {figure}k payrolls added"),
            (P, "Inflation cools more than expected, rate cut hopes rise"),
            (N, "Inflation runs hotter than expected at {pct}%"),
            (N, "Central bank signals rates will stay higher for longer"),
            (Z, "Retail sales in line with expectations"),
            (Z, "Central bank holds rates steady, as expected"),
        ],
        summaries: &[
            (P, "Stronger data lifted sentiment across the market as traders priced in a softer landing."),
            (N, "The figures revived fears of tighter policy, weighing on stocks across the board."),
            (Z, "The numbers offered few surprises and traders looked ahead to next week's data."),
        ],
    },
    Entry {
        kind: NewsKind::SectorNews,
        reach: Reach::Sector,
        sentiment: None,
        weight: 0.8,
        importance: [0.4, 0.45, 0.15],
        headlines: &[
            (P, "{sector} stocks climb on surging demand"),
            (P, "New subsidies announced for {sector} companies"),
            (N, "{sector} shares slide as regulators tighten rules"),
            (N, "Supply crunch hits {sector} firms"),
            (Z, "{sector} conference ends without major announcements"),
        ],
        summaries: &[
            (P, "Analysts raised forecasts across {sector}, saying the tailwind should last several quarters."),
            (N, "Companies across {sector} warned of higher costs and delays in the months ahead."),
            (Z, "Executives across {sector} struck a cautious but steady tone."),
        ],
    },
];

const FIRMS: &[&str] = &[
    "Harbor & Finch",
    "Meridian Securities",
    "Blackwood Research",
    "Crane Capital",
    "Ostrava Partners",
    "Larkspur Bank",
];
const BUYERS: &[&str] = &[
    "Titan Holdings",
    "Corvid Group",
    "Alder Industries",
    "Summit Partners",
];
const PRODUCTS: &[&str] = &[
    "its next-generation platform",
    "a flagship product line",
    "a low-cost model",
    "an AI-powered service",
    "a subscription offering",
];
const CITIES: &[&str] = &["Rotterdam", "Osaka", "Denver", "Lyon", "Toronto", "Porto"];
const QUARTERS: &[&str] = &["Q1", "Q2", "Q3", "Q4"];

/// Log-jump size for importance 1, 2, 3. With per-step moves around 0.1 %, these are
/// clearly visible steps on a chart without looking absurd.
const JUMP_BY_IMPORTANCE: [f64; 3] = [0.006, 0.013, 0.025];

/// One generated news item. `bias` is the scenario's sentiment bias (see
/// `session::Effect`); `price_of(i)` gives a symbol's current price in dollars (for
/// analyst targets in templates).
pub fn generate(
    noise: &mut Noise,
    universe: &Universe,
    step: u64,
    seq: u64,
    bias: f64,
    jump_scale: f64,
    price_of: &dyn Fn(usize) -> f64,
) -> Published {
    let weights: Vec<f64> = CATALOGUE.iter().map(|e| e.weight).collect();
    let mut entry = &CATALOGUE[noise.weighted(&weights)];
    // A scenario's bias: with probability |bias| the item must lean its way.
    let wanted = if noise.chance(bias.abs()) {
        Some(if bias > 0.0 { P } else { N })
    } else {
        None
    };
    if let Some(w) = wanted {
        if entry.sentiment.is_some_and(|s| s != w) {
            entry = opposite(entry.kind).unwrap_or(entry);
        }
    }
    let sentiment = match (entry.sentiment, wanted) {
        (Some(s), _) => s,
        (None, Some(w)) => w,
        (None, None) => *noise.pick(&[P, N, Z]),
    };
    let importance = noise.weighted(&entry.importance) as u8 + 1;

    let (scope, targets): (NewsScope, Vec<usize>) = match entry.reach {
        Reach::Symbol => {
            let i = noise.index(universe.symbols.len());
            (
                NewsScope::Symbol(universe.symbols[i].symbol.clone()),
                vec![i],
            )
        }
        Reach::Sector => {
            let sector = noise.pick(&universe.sectors).clone();
            let members = members_of(universe, &sector);
            (NewsScope::Sector(sector), members)
        }
        Reach::Market => (NewsScope::Market, (0..universe.symbols.len()).collect()),
    };

    // Fill the templates. Every placeholder is drawn whether used or not, so the
    // number of random draws does not depend on which template was chosen.
    let first = targets[0];
    let spec = &universe.symbols[first];
    let magnitude = JUMP_BY_IMPORTANCE[usize::from(importance - 1)];
    let pct = format!(
        "{:.0}",
        3.0 + 30.0 * magnitude * (4.0 + noise.uniform() * 4.0)
    );
    let target_mult = 1.0 + sentiment.sign() * (0.10 + 0.2 * noise.uniform());
    let target = format!("{:.0}", (price_of(first) * target_mult).max(1.0));
    let vars: [(&str, String); 11] = [
        ("{name}", spec.name.clone()),
        ("{sym}", spec.symbol.clone()),
        ("{sector}", sector_label(&scope, &spec.sector)),
        ("{pct}", pct),
        ("{firm}", noise.pick(FIRMS).to_string()),
        ("{target}", target),
        ("{q}", noise.pick(QUARTERS).to_string()),
        ("{product}", noise.pick(PRODUCTS).to_string()),
        ("{figure}", format!("{}", noise.range_i64(120, 340))),
        ("{buyer}", noise.pick(BUYERS).to_string()),
        ("{city}", noise.pick(CITIES).to_string()),
    ];
    let headline = fill(pick_template(noise, entry.headlines, sentiment), &vars);
    let summary = fill(pick_template(noise, entry.summaries, sentiment), &vars);

    let scale = jump_scale * reach_factor(&scope);
    let jumps = draw_jumps(noise, &targets, sentiment, magnitude * scale);
    Published {
        item: NewsItem {
            step,
            seq,
            kind: entry.kind,
            headline,
            summary,
            sentiment,
            importance,
            scope,
            symbols: targets
                .iter()
                .map(|&i| universe.symbols[i].symbol.clone())
                .collect(),
        },
        jumps,
    }
}

/// Turns an instructor's draft into a news item, or says why it cannot be published.
/// Scope: no symbols is the market, one is that symbol, several in one sector are that
/// sector, several across sectors are the market (touching only those named).
pub fn from_draft(
    noise: &mut Noise,
    universe: &Universe,
    draft: NewsDraft,
    step: u64,
    seq: u64,
    jump_scale: f64,
) -> Result<Published, NewsError> {
    let headline = draft.headline.trim().to_string();
    if headline.is_empty() {
        return Err(NewsError::EmptyHeadline);
    }
    let chars = headline.chars().count();
    if chars > MAX_HEADLINE_CHARS {
        return Err(NewsError::HeadlineTooLong { chars });
    }
    if headline.chars().any(char::is_control) {
        return Err(NewsError::HeadlineNotOneLine);
    }
    let summary = draft
        .summary
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let chars = summary.chars().count();
    if chars > MAX_SUMMARY_CHARS {
        return Err(NewsError::SummaryTooLong { chars });
    }
    if draft.symbols.len() > MAX_DRAFT_SYMBOLS {
        return Err(NewsError::TooManySymbols {
            count: draft.symbols.len(),
        });
    }
    let mut targets: Vec<usize> = Vec::with_capacity(draft.symbols.len());
    for raw in &draft.symbols {
        let wanted = raw.trim().to_ascii_uppercase();
        let i = universe
            .index_of(&wanted)
            .ok_or_else(|| NewsError::UnknownSymbol(raw.clone()))?;
        if !targets.contains(&i) {
            targets.push(i);
        }
    }
    targets.sort_unstable();

    let scope = match targets.as_slice() {
        [] => NewsScope::Market,
        [one] => NewsScope::Symbol(universe.symbols[*one].symbol.clone()),
        [first, rest @ ..] => {
            let sector = &universe.symbols[*first].sector;
            if rest.iter().all(|&i| &universe.symbols[i].sector == sector) {
                NewsScope::Sector(sector.clone())
            } else {
                NewsScope::Market
            }
        }
    };
    if targets.is_empty() {
        targets = (0..universe.symbols.len()).collect();
    }
    let sentiment = draft.sentiment.unwrap_or(Z);
    // Instructors usually want a visible move: importance 2.
    let importance = 2;
    let magnitude = JUMP_BY_IMPORTANCE[1] * jump_scale * reach_factor(&scope);
    let jumps = draw_jumps(noise, &targets, sentiment, magnitude);
    Ok(Published {
        item: NewsItem {
            step,
            seq,
            kind: NewsKind::Instructor,
            headline,
            summary,
            sentiment,
            importance,
            scope,
            symbols: targets
                .iter()
                .map(|&i| universe.symbols[i].symbol.clone())
                .collect(),
        },
        jumps,
    })
}

/// The opening headline of a scenario: market-wide, no jump of its own (the scenario's
/// course moves prices), published like any other item.
pub fn scenario_headline(
    kind: super::session::ScenarioKind,
    universe: &Universe,
    step: u64,
    seq: u64,
) -> NewsItem {
    use super::session::ScenarioKind as K;
    let (kind_, sentiment, headline, summary) = match kind {
        K::Crash => (
            NewsKind::MacroData,
            N,
            "Stocks plunge as panic selling sweeps the market",
            "A wave of sell orders hit every sector at once; traders cited margin calls and a surprise credit downgrade.",
        ),
        K::Rally => (
            NewsKind::MacroData,
            P,
            "Stocks rally broadly on upbeat outlook",
            "Buyers returned across sectors after a run of strong data and easing borrowing costs.",
        ),
        K::NewsStorm => (
            NewsKind::MacroData,
            Z,
            "Busy session: headlines pile up across the market",
            "A flurry of company and economic news keeps traders on their toes.",
        ),
    };
    NewsItem {
        step,
        seq,
        kind: kind_,
        headline: headline.to_string(),
        summary: summary.to_string(),
        sentiment,
        importance: 3,
        scope: NewsScope::Market,
        symbols: universe.symbols.iter().map(|s| s.symbol.clone()).collect(),
    }
}

// ---- helpers ---------------------------------------------------------------------

/// The entry with the opposite fixed sentiment, used when a scenario bends the mix.
fn opposite(kind: NewsKind) -> Option<&'static Entry> {
    let other = match kind {
        NewsKind::EarningsBeat => NewsKind::EarningsMiss,
        NewsKind::EarningsMiss => NewsKind::EarningsBeat,
        NewsKind::Upgrade => NewsKind::Downgrade,
        NewsKind::Downgrade => NewsKind::Upgrade,
        NewsKind::Lawsuit => NewsKind::ProductLaunch,
        NewsKind::ProductLaunch | NewsKind::Merger => NewsKind::Lawsuit,
        _ => return None,
    };
    CATALOGUE.iter().find(|e| e.kind == other)
}

/// News about a whole sector or market moves each member less than company news moves
/// the company; the breadth makes up for it.
fn reach_factor(scope: &NewsScope) -> f64 {
    match scope {
        NewsScope::Symbol(_) => 1.0,
        NewsScope::Sector(_) => 0.7,
        NewsScope::Market => 0.5,
    }
}

fn sector_label(scope: &NewsScope, fallback: &str) -> String {
    match scope {
        NewsScope::Sector(s) => s.clone(),
        _ => fallback.to_string(),
    }
}

fn members_of(universe: &Universe, sector: &str) -> Vec<usize> {
    let members: Vec<usize> = (0..universe.symbols.len())
        .filter(|&i| universe.symbols[i].sector == sector)
        .collect();
    // A validated universe has no empty sector; fall back to everything regardless.
    if members.is_empty() {
        (0..universe.symbols.len()).collect()
    } else {
        members
    }
}

/// Merton-style jumps: a common size for the item times a per-symbol factor, signed by
/// the sentiment; neutral items get a small jump of random sign.
fn draw_jumps(
    noise: &mut Noise,
    targets: &[usize],
    sentiment: Sentiment,
    magnitude: f64,
) -> Vec<(usize, f64)> {
    let common = 1.0 + 0.3 * noise.normal();
    targets
        .iter()
        .map(|&i| {
            let own = noise.normal();
            let jump = match sentiment {
                Sentiment::Neutral => 0.35 * magnitude * own,
                s => s.sign() * magnitude * (common + 0.25 * own).max(0.2),
            };
            (i, jump)
        })
        .collect()
}

fn pick_template(
    noise: &mut Noise,
    templates: &'static [(Sentiment, &'static str)],
    sentiment: Sentiment,
) -> &'static str {
    let matching: Vec<&'static str> = templates
        .iter()
        .filter(|(s, _)| *s == sentiment)
        .map(|(_, t)| *t)
        .collect();
    if matching.is_empty() {
        // Every catalogue entry has a template per sentiment it can take; this is
        // only a guard against a future entry that forgets one.
        templates
            .first()
            .map(|(_, t)| *t)
            .unwrap_or("Market update")
    } else {
        matching[noise.index(matching.len())]
    }
}

fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        if out.contains(key) {
            out = out.replace(key, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::rng::Stream;
    use super::*;

    #[test]
    fn catalogue_has_templates_for_every_sentiment_it_can_take() {
        assert!(CATALOGUE.len() >= 8);
        for e in CATALOGUE {
            let sentiments: &[Sentiment] = match e.sentiment {
                Some(s) => &[s][..],
                None => &[P, N, Z][..],
            };
            for s in sentiments {
                assert!(
                    e.headlines.iter().any(|(t, _)| t == s),
                    "{:?}",
                    e.kind.as_str()
                );
                assert!(
                    e.summaries.iter().any(|(t, _)| t == s),
                    "{:?}",
                    e.kind.as_str()
                );
            }
        }
    }

    #[test]
    fn generated_items_are_filled_and_consistent() {
        let u = Universe::default_universe();
        let mut noise = Noise::new(3, Stream::News);
        for seq in 1..=300 {
            let p = generate(&mut noise, &u, 10, seq, 0.0, 1.0, &|_| 100.0);
            let item = &p.item;
            assert!(!item.headline.contains('{'), "{}", item.headline);
            assert!(!item.summary.contains('{'), "{}", item.summary);
            assert!((1..=3).contains(&item.importance));
            assert_eq!(item.symbols.len(), p.jumps.len());
            for (i, j) in &p.jumps {
                assert_eq!(
                    item.symbols
                        .iter()
                        .filter(|s| **s == u.symbols[*i].symbol)
                        .count(),
                    1
                );
                match item.sentiment {
                    Sentiment::Positive => assert!(*j > 0.0),
                    Sentiment::Negative => assert!(*j < 0.0),
                    Sentiment::Neutral => assert!(j.abs() < 0.05),
                }
            }
            match &item.scope {
                NewsScope::Symbol(s) => assert_eq!(item.symbols, vec![s.clone()]),
                NewsScope::Sector(s) => assert!(item.symbols.iter().all(|x| &u
                    .get(x)
                    .map(|x| x.sector.clone())
                    .unwrap_or_default()
                    == s)),
                NewsScope::Market => assert_eq!(item.symbols.len(), u.symbols.len()),
            }
        }
    }

    #[test]
    fn drafts_are_checked_and_scoped() {
        let u = Universe::default_universe();
        let mut noise = Noise::new(3, Stream::Desk);
        let mut draft = |headline: &str, symbols: &[&str]| {
            from_draft(
                &mut noise,
                &u,
                NewsDraft {
                    headline: headline.into(),
                    summary: None,
                    symbols: symbols.iter().map(|s| s.to_string()).collect(),
                    sentiment: Some(Sentiment::Positive),
                },
                5,
                1,
                1.0,
            )
        };
        assert_eq!(draft("  ", &[]), Err(NewsError::EmptyHeadline));
        assert_eq!(draft("a\nb", &[]), Err(NewsError::HeadlineNotOneLine));
        assert_eq!(
            draft("x", &["NOPE"]),
            Err(NewsError::UnknownSymbol("NOPE".into()))
        );
        assert!(matches!(
            draft(&"x".repeat(201), &[]),
            Err(NewsError::HeadlineTooLong { chars: 201 })
        ));
        let one = draft("Big win", &["nova"]).map(|p| p.item.scope);
        assert_eq!(one, Ok(NewsScope::Symbol("NOVA".into())));
        let sector = draft("Chips", &["QBIT", "NOVA"]).map(|p| p.item);
        assert_eq!(
            sector.as_ref().map(|i| i.scope.clone()),
            Ok(NewsScope::Sector("Technology".into()))
        );
        assert_eq!(
            sector.map(|i| i.symbols),
            Ok(vec!["NOVA".to_string(), "QBIT".to_string()])
        );
        let market = draft("Everything", &[]).map(|p| p.item);
        assert_eq!(
            market.as_ref().map(|i| i.scope.clone()),
            Ok(NewsScope::Market)
        );
        assert_eq!(market.map(|i| i.symbols.len()), Ok(8));
    }
}
