//! How numbers are shown: prices from cents, signed changes, percentages. Direction is
//! always spelled with an arrow as well as a colour, so it never rests on colour alone.

use super::feed::Latency;
use crate::wire::Cents;

/// `12345` → `"123.45"`.
pub fn price(cents: Cents) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `-150` → `"-1.50"`, `150` → `"+1.50"`.
pub fn change(cents: Cents) -> String {
    if cents > 0 {
        format!("+{}", price(cents))
    } else {
        price(cents)
    }
}

/// Change from `open` to `last` in percent, two decimals, signed.
pub fn change_pct(last: Cents, open: Cents) -> String {
    if open <= 0 {
        return "0.00%".to_owned();
    }
    // Basis points in integers, rounded half away from zero, so the text never depends on
    // floating-point formatting.
    let diff = i128::from(last - open) * 10_000;
    let open = i128::from(open);
    let bp = (diff + diff.signum() * open / 2) / open;
    let sign = match bp.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    let abs = bp.unsigned_abs();
    format!("{sign}{}.{:02}%", abs / 100, abs % 100)
}

/// A time of day from milliseconds since the Unix epoch, `HH:MM:SS` in UTC (the same on
/// the server and in every browser, so a server-rendered chart hydrates unchanged).
pub fn clock(ms: u64) -> String {
    let secs = ms / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `▲`, `▼` or `■` (unchanged) for a change.
pub fn arrow(change: Cents) -> &'static str {
    match change.signum() {
        1 => "▲",
        -1 => "▼",
        _ => "■",
    }
}

/// `up`, `down` or `flat`, for styling and for tests.
pub fn direction(change: Cents) -> &'static str {
    match change.signum() {
        1 => "up",
        -1 => "down",
        _ => "flat",
    }
}

/// A latency as the page shows it: `12 ms ± 1`. A negative value inside its uncertainty is
/// shown as it is, never clamped to zero.
pub fn latency(latency: Latency) -> String {
    format!(
        "{:.0} ms ± {:.0}",
        latency.ms,
        latency.uncertainty_ms.ceil()
    )
}

/// A byte count as a person reads it: `812 B`, `14.2 KiB`, `3.1 MiB`.
pub fn bytes(count: u64) -> String {
    let count = count as f64;
    if count < 1024.0 {
        format!("{count:.0} B")
    } else if count < 1024.0 * 1024.0 {
        format!("{:.1} KiB", count / 1024.0)
    } else {
        format!("{:.1} MiB", count / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_money_and_changes() {
        assert_eq!(price(12_345), "123.45");
        assert_eq!(price(5), "0.05");
        assert_eq!(price(-5), "-0.05");
        assert_eq!(change(150), "+1.50");
        assert_eq!(change(-150), "-1.50");
        assert_eq!(change(0), "0.00");
        assert_eq!(change_pct(10_150, 10_000), "+1.50%");
        assert_eq!(change_pct(9_850, 10_000), "-1.50%");
        assert_eq!(change_pct(10_000, 10_000), "0.00%");
        assert_eq!(change_pct(30_001, 30_000), "0.00%");
        assert_eq!(change_pct(30_002, 30_000), "+0.01%"); // 0.0067 % rounds up
        assert_eq!((arrow(1), arrow(-1), arrow(0)), ("▲", "▼", "■"));
        assert_eq!(clock(1_764_000_045_000), "16:00:45");
    }
}
