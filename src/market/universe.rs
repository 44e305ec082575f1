//! The universe: which symbols exist, in which sector, and how each one behaves.
//!
//! A [`Universe`] is plain data. It comes either from [`Universe::default_universe`]
//! (eight fictional tickers in three sectors) or from a TOML file the operator passes
//! with `--universe FILE`; the server reads the file, this module only parses text.
//!
//! Invariant: every `Universe` that exists has passed [`Universe::validate`]:
//! at least one symbol, unique symbols made of `[A-Z0-9.]` (1–8 characters), a start
//! price of at least one cent, finite drift and volatility in a sane range, and a
//! non-empty sector that appears in `sectors`. The simulator relies on this and never
//! re-checks. A bad file is rejected with an error that names the line and the field,
//! because the person reading it has the file open in an editor.
//!
//! The file format (every key is required unless marked optional):
//!
//! ```toml
//! # optional: the sector order shown in the UI; if given, every symbol's sector must be listed
//! sectors = ["Technology", "Energy"]
//!
//! [[symbol]]
//! symbol = "NOVA"              # [A-Z0-9.], 1-8 characters, unique
//! name = "Novatek Systems"     # display name
//! sector = "Technology"
//! start_price = 182.40         # dollars; rounded to whole cents, at least 0.01
//! drift = 0.12                 # annual drift (0.12 = +12 % a year), -2.0 ..= 2.0
//! volatility = 0.32            # annual volatility, 0.01 ..= 3.0
//! ```

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::Cents;

/// Lowest and highest annual volatility a universe may configure. Below 1 % a symbol
/// looks frozen on a chart; above 300 % the per-step moves stop looking like a market.
pub const VOLATILITY_RANGE: (f64, f64) = (0.01, 3.0);
/// Allowed annual drift. Wide enough for a story ("a meme stock"), narrow enough that a
/// typo such as `12` instead of `0.12` is caught.
pub const DRIFT_RANGE: (f64, f64) = (-2.0, 2.0);
/// Most symbols a universe may hold: every tick and snapshot carries all of them.
pub const MAX_SYMBOLS: usize = 64;
/// Longest display name or sector name, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// One tradable symbol and the parameters of its price process.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolSpec {
    /// Ticker, `[A-Z0-9.]`, 1–8 characters, unique in the universe.
    pub symbol: String,
    /// Display name ("Novatek Systems").
    pub name: String,
    /// Sector name; always one of [`Universe::sectors`].
    pub sector: String,
    /// Price at the start of the first session, in cents (> 0).
    pub start_price: Cents,
    /// Annual drift of the log price (0.12 = 12 % a year).
    pub drift: f64,
    /// Annual volatility (0.30 = 30 % a year).
    pub volatility: f64,
}

/// The set of symbols the market simulates, in display order, and their sectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Universe {
    /// Symbols in display order; quotes and ticks follow this order.
    pub symbols: Vec<SymbolSpec>,
    /// Sector names in display order; every symbol's sector is one of these.
    pub sectors: Vec<String>,
}

impl Default for Universe {
    fn default() -> Self {
        Universe::default_universe()
    }
}

impl Universe {
    /// Eight fictional tickers in three sectors, with varied prices and temperaments:
    /// a calm utility, a jumpy growth stock, and the rest in between.
    pub fn default_universe() -> Universe {
        // (symbol, name, sector, start price in cents, annual drift, annual volatility)
        const DEFAULTS: [(&str, &str, &str, Cents, f64, f64); 8] = [
            ("NOVA", "Novatek Systems", "Technology", 18_240, 0.12, 0.32),
            ("QBIT", "Qubit Labs", "Technology", 6_415, 0.18, 0.48),
            ("HALO", "Halo Cloud", "Technology", 12_180, 0.10, 0.28),
            ("SOLR", "Solaris Power", "Energy", 4_320, 0.08, 0.36),
            ("PTRX", "Petrex Energy", "Energy", 7_855, 0.05, 0.26),
            ("GRID", "Gridline Utilities", "Energy", 3_690, 0.04, 0.16),
            ("MEDI", "Medica Therapeutics", "Health", 9_730, 0.09, 0.30),
            ("VITA", "Vitalis Health", "Health", 15_260, 0.07, 0.20),
        ];
        let symbols = DEFAULTS
            .iter()
            .map(
                |&(symbol, name, sector, start_price, drift, volatility)| SymbolSpec {
                    symbol: symbol.to_string(),
                    name: name.to_string(),
                    sector: sector.to_string(),
                    start_price,
                    drift,
                    volatility,
                },
            )
            .collect();
        let sectors = ["Technology", "Energy", "Health"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Universe { symbols, sectors }
    }

    /// Parses and validates a universe file (format in the module header).
    pub fn from_toml_str(text: &str) -> Result<Universe, UniverseError> {
        let file: UniverseFile =
            toml::from_str(text).map_err(|e| UniverseError::from_toml(text, &e))?;
        check_symbol_count(file.symbol.len())?;
        let mut reader = FileReader {
            text,
            declared: file.sectors.is_some(),
            sectors: declared_sectors(text, file.sectors.as_ref())?,
            symbols: Vec::with_capacity(file.symbol.len()),
            first_lines: Vec::with_capacity(file.symbol.len()),
        };
        for entry in &file.symbol {
            reader.add(entry)?;
        }
        // A declared sector without symbols would be an empty row in the UI; drop it
        // rather than fail, the file is still meaningful.
        let FileReader {
            mut sectors,
            symbols,
            ..
        } = reader;
        sectors.retain(|s| symbols.iter().any(|x| &x.sector == s));
        let universe = Universe { symbols, sectors };
        debug_assert!(universe.validate().is_ok());
        Ok(universe)
    }

    /// Checks the invariant in the module header. Useful for a universe built in code;
    /// files are checked field by field (with line numbers) by [`Universe::from_toml_str`].
    pub fn validate(&self) -> Result<(), UniverseError> {
        if self.symbols.is_empty() {
            return Err(UniverseError::new(
                None,
                "symbol",
                "the universe has no symbols",
            ));
        }
        if self.symbols.len() > MAX_SYMBOLS {
            return Err(UniverseError::new(None, "symbol", "too many symbols"));
        }
        for (i, s) in self.symbols.iter().enumerate() {
            let bad = |field: &str, msg: String| {
                Err(UniverseError::new(
                    None,
                    field,
                    format!("{}: {msg}", s.symbol),
                ))
            };
            if let Err(m) = check_symbol(&s.symbol) {
                return bad("symbol", m);
            }
            if self.symbols[..i].iter().any(|o| o.symbol == s.symbol) {
                return bad("symbol", "duplicate symbol".into());
            }
            if s.name.trim().is_empty() {
                return bad("name", "empty name".into());
            }
            if !self.sectors.iter().any(|x| x == &s.sector) || s.sector.trim().is_empty() {
                return bad("sector", format!("unknown sector \"{}\"", s.sector));
            }
            if s.start_price < 1 {
                return bad("start_price", "start price must be > 0".into());
            }
            check_range(s.drift, DRIFT_RANGE, None, "drift")?;
            check_range(s.volatility, VOLATILITY_RANGE, None, "volatility")?;
        }
        Ok(())
    }

    /// Position of `symbol` in [`Universe::symbols`], if it exists.
    pub fn index_of(&self, symbol: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s.symbol == symbol)
    }

    /// Looks a symbol up by ticker.
    pub fn get(&self, symbol: &str) -> Option<&SymbolSpec> {
        self.symbols.iter().find(|s| s.symbol == symbol)
    }
}

/// A universe file that could not be used. `Display` reads like
/// `universe file, line 7, field `volatility`: volatility must be in 0.01..=3, got 12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniverseError {
    /// 1-based line in the file, when the problem has one.
    pub line: Option<usize>,
    /// The key at fault (`symbol`, `start_price`, …), or `document` for syntax errors.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl UniverseError {
    fn new(line: Option<usize>, field: &str, message: impl Into<String>) -> Self {
        UniverseError {
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Turns a TOML/serde error into one naming the line and, as well as can be
    /// told, the field: the key the message quotes (`missing field `drift``), else the
    /// key written on the offending line.
    fn from_toml(text: &str, err: &toml::de::Error) -> Self {
        let message = err.message().trim().to_string();
        let line = err.span().map(|s| line_of(text, s.start));
        let field = backticked(&message)
            .or_else(|| line.and_then(|l| key_on_line(text, l)))
            .unwrap_or_else(|| "document".to_string());
        UniverseError {
            line,
            field,
            message,
        }
    }
}

impl fmt::Display for UniverseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "universe file, line {line}, field `{}`: {}",
                self.field, self.message
            ),
            None => write!(f, "universe file, field `{}`: {}", self.field, self.message),
        }
    }
}

impl std::error::Error for UniverseError {}

// ---- the file format -------------------------------------------------------------

/// The file as serde sees it. Every value is `Spanned` so validation errors can point
/// at a line; unknown keys are errors because a misspelt `volatilty` would otherwise
/// be silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UniverseFile {
    sectors: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    symbol: Vec<SymbolEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolEntry {
    symbol: Spanned<String>,
    name: Spanned<String>,
    sector: Spanned<String>,
    start_price: Spanned<Dollars>,
    drift: Spanned<f64>,
    volatility: Spanned<f64>,
}

/// A price in dollars written either as `42` or `42.5` (TOML keeps the two apart).
struct Dollars(f64);

impl<'de> Deserialize<'de> for Dollars {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Num {
            Int(i64),
            Float(f64),
        }
        match Num::deserialize(d) {
            Ok(Num::Int(i)) => Ok(Dollars(i as f64)),
            Ok(Num::Float(x)) => Ok(Dollars(x)),
            Err(_) => Err(serde::de::Error::custom(
                "expected a number of dollars, such as 42.50",
            )),
        }
    }
}

// ---- reading a file, symbol by symbol ---------------------------------------------

/// The 1-based line of a byte offset.
fn line_at(text: &str, span: Range<usize>) -> usize {
    line_of(text, span.start)
}

fn check_symbol_count(count: usize) -> Result<(), UniverseError> {
    if count == 0 {
        return Err(UniverseError::new(
            None,
            "symbol",
            "the universe has no symbols: add at least one [[symbol]] table",
        ));
    }
    if count > MAX_SYMBOLS {
        return Err(UniverseError::new(
            None,
            "symbol",
            format!("{count} symbols is too many (at most {MAX_SYMBOLS})"),
        ));
    }
    Ok(())
}

/// The `sectors` list, if the file has one: non-empty and unique names.
fn declared_sectors(
    text: &str,
    list: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Result<Vec<String>, UniverseError> {
    let mut sectors: Vec<String> = Vec::new();
    for s in list.map(Spanned::get_ref).into_iter().flatten() {
        let name = s.get_ref().trim();
        let line = Some(line_at(text, s.span()));
        check_label(name, line, "sectors")?;
        if sectors.iter().any(|x| x == name) {
            return Err(UniverseError::new(
                line,
                "sectors",
                format!("sector \"{name}\" is listed twice"),
            ));
        }
        sectors.push(name.to_string());
    }
    Ok(sectors)
}

/// What has been read of a file so far.
struct FileReader<'a> {
    text: &'a str,
    /// Whether the file lists its sectors (then a symbol may not name another).
    declared: bool,
    sectors: Vec<String>,
    symbols: Vec<SymbolSpec>,
    /// The line each symbol was defined on, for duplicate errors.
    first_lines: Vec<usize>,
}

impl FileReader<'_> {
    fn at(&self, span: Range<usize>) -> usize {
        line_at(self.text, span)
    }

    /// Checks one `[[symbol]]` table field by field and adds it.
    fn add(&mut self, entry: &SymbolEntry) -> Result<(), UniverseError> {
        let sym_line = self.at(entry.symbol.span());
        let symbol = entry.symbol.get_ref().as_str();
        check_symbol(symbol).map_err(|m| UniverseError::new(Some(sym_line), "symbol", m))?;
        if let Some(i) = self.symbols.iter().position(|s| s.symbol == symbol) {
            return Err(UniverseError::new(
                Some(sym_line),
                "symbol",
                format!(
                    "duplicate symbol \"{symbol}\" (first defined on line {})",
                    self.first_lines[i]
                ),
            ));
        }
        let name = entry.name.get_ref().trim();
        check_label(name, Some(self.at(entry.name.span())), "name")?;
        let sector = self.sector(entry)?;
        let start_price = self.start_price(entry)?;
        let drift = *entry.drift.get_ref();
        check_range(
            drift,
            DRIFT_RANGE,
            Some(self.at(entry.drift.span())),
            "drift",
        )?;
        let volatility = *entry.volatility.get_ref();
        check_range(
            volatility,
            VOLATILITY_RANGE,
            Some(self.at(entry.volatility.span())),
            "volatility",
        )?;
        self.first_lines.push(sym_line);
        self.symbols.push(SymbolSpec {
            symbol: symbol.to_string(),
            name: name.to_string(),
            sector,
            start_price,
            drift,
            volatility,
        });
        Ok(())
    }

    /// The symbol's sector: one of the declared ones, or (without a list) a new one.
    fn sector(&mut self, entry: &SymbolEntry) -> Result<String, UniverseError> {
        let line = Some(self.at(entry.sector.span()));
        let sector = entry.sector.get_ref().trim();
        check_label(sector, line, "sector")?;
        if !self.sectors.iter().any(|s| s == sector) {
            if self.declared {
                return Err(UniverseError::new(
                    line,
                    "sector",
                    format!(
                        "unknown sector \"{sector}\" (the file's `sectors` list has: {})",
                        self.sectors.join(", ")
                    ),
                ));
            }
            self.sectors.push(sector.to_string());
        }
        Ok(sector.to_string())
    }

    /// The start price, from dollars to whole cents.
    fn start_price(&self, entry: &SymbolEntry) -> Result<Cents, UniverseError> {
        let line = Some(self.at(entry.start_price.span()));
        let dollars = entry.start_price.get_ref().0;
        // Round to cents in f64 first so that 0.004 is rejected rather than silently 0.
        let cents = libm::round(dollars * 100.0);
        if !dollars.is_finite() || cents < 1.0 {
            return Err(UniverseError::new(
                line,
                "start_price",
                format!("start price must be at least 0.01 (dollars), got {dollars}"),
            ));
        }
        if cents > 1.0e11 {
            return Err(UniverseError::new(
                line,
                "start_price",
                format!("start price {dollars} is unreasonably large"),
            ));
        }
        Ok(cents as Cents)
    }
}

// ---- checks ------------------------------------------------------------------------

fn check_symbol(symbol: &str) -> Result<(), String> {
    let ok_chars = symbol
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.');
    if symbol.is_empty() || symbol.len() > 8 || !ok_chars {
        return Err(format!(
            "symbol \"{symbol}\" must be 1-8 characters of A-Z, 0-9 and '.'"
        ));
    }
    Ok(())
}

fn check_label(value: &str, line: Option<usize>, field: &str) -> Result<(), UniverseError> {
    if value.is_empty() {
        return Err(UniverseError::new(
            line,
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > MAX_NAME_CHARS || value.chars().any(char::is_control) {
        return Err(UniverseError::new(
            line,
            field,
            format!("{field} must be one line of at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_range(
    value: f64,
    (lo, hi): (f64, f64),
    line: Option<usize>,
    field: &str,
) -> Result<(), UniverseError> {
    if !(value.is_finite() && value >= lo && value <= hi) {
        return Err(UniverseError::new(
            line,
            field,
            format!("{field} must be in {lo}..={hi} (annual, 0.3 = 30 %), got {value}"),
        ));
    }
    Ok(())
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The first `` `word` `` in a serde message, e.g. `missing field `drift``.
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let word = &message[start..start + len];
    let is_key = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_key.then(|| word.to_string())
}

/// The bare key written on a 1-based line (`volatility = "high"` → `volatility`).
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let raw = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = raw.split_once('=')?;
    let key = key.trim();
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_key.then(|| key.to_string())
}
