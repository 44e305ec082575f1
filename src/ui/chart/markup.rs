//! The plot's picture as SVG markup: everything drawn from a [`Geometry`] (gridlines, axes,
//! the line or the candles, volume, the legend, news markers, the last-price line and its
//! tag) in one string, and the crosshair in another. The plot sets each as the content of
//! its layer in one write.
//!
//! Why strings and not components: the picture is redrawn whole on every frame of new
//! history anyway, and a few hundred SVG elements written as text cost the browser one
//! parse, while the same picture as reactive views cost the first download about 28 KB of
//! WebAssembly (issue 19 measured it).
//!
//! Invariants: every text that reaches the markup — headlines anyone may publish, labels —
//! goes through [`escape`], so nothing in it can become markup; numbers are written as
//! Rust's `Display` writes them, the same on the server and in the browser, so the first
//! render in the browser is the server's, byte for byte.

use super::layout::{Geometry, Mode, AXIS_WIDTH};
use super::readout::readout;
use crate::ui::format;
use crate::wire::Cents;
use std::fmt::Write;

/// Everything but the crosshair. `last` is the symbol's last price and open (for the tag).
pub fn drawing(g: &Geometry, mode: Mode, last: Option<(Cents, Cents)>) -> String {
    let mut svg = String::with_capacity(16 * 1024);
    let f = g.frame;
    // `write!` to a String cannot fail; the results are ignored throughout.
    let _ = write!(
        svg,
        r#"<defs><clipPath id="chart-clip"><rect x="0" y="0" width="{}" height="{}"/></clipPath></defs>"#,
        f.plot_right, f.volume.1
    );
    grid(&mut svg, g);
    svg.push_str(r#"<g clip-path="url(#chart-clip)">"#);
    match mode {
        Mode::Line => {
            let _ = write!(
                svg,
                r#"<path class="line" data-testid="chart-line" d="{}"/>"#,
                g.line
            );
        }
        Mode::Candles => candles(&mut svg, g),
    }
    volume(&mut svg, g);
    svg.push_str("</g>");
    let _ = write!(
        svg,
        r#"<text class="legend" x="4" y="{}">H <tspan data-testid="chart-high">{}</tspan> L <tspan data-testid="chart-low">{}</tspan></text>"#,
        f.price.0 + 10.0,
        format::price(g.high),
        format::price(g.low)
    );
    markers(&mut svg, g);
    if let Some(last) = last {
        last_price(&mut svg, g, last);
    }
    svg
}

/// Gridlines, the axes' lines, and the tick labels of both axes.
fn grid(svg: &mut String, g: &Geometry) {
    let f = g.frame;
    svg.push_str(r#"<g class="grids">"#);
    for t in &g.price_ticks {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="0" x2="{}" y1="{}" y2="{}"/>"#,
            f.plot_right, t.at, t.at
        );
    }
    for t in &g.time_ticks {
        let _ = write!(
            svg,
            r#"<line class="grid time" x1="{}" x2="{}" y1="{}" y2="{}"/>"#,
            t.at, t.at, f.price.0, f.volume.1
        );
    }
    svg.push_str("</g>");
    for (y1, y2, x1, x2) in [
        (f.price.1, f.price.1, 0.0, f.plot_right),
        (f.volume.1, f.volume.1, 0.0, f.plot_right),
        (f.price.0, f.volume.1, f.plot_right, f.plot_right),
    ] {
        let _ = write!(
            svg,
            r#"<line class="axis" x1="{x1}" x2="{x2}" y1="{y1}" y2="{y2}"/>"#
        );
    }
    svg.push_str(r#"<g class="price-axis">"#);
    for t in &g.price_ticks {
        let _ = write!(
            svg,
            r#"<text class="label" data-testid="chart-price-tick" x="{}" y="{}">{}</text>"#,
            f.plot_right + 6.0,
            t.label_at,
            escape(&t.label)
        );
    }
    svg.push_str(r#"</g><g class="time-axis">"#);
    for t in &g.time_ticks {
        let _ = write!(
            svg,
            r#"<text class="label" data-testid="chart-time-tick" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            t.label_at,
            f.time_labels,
            escape(&t.label)
        );
    }
    svg.push_str("</g>");
}

fn candles(svg: &mut String, g: &Geometry) {
    let width = g.candle_width;
    svg.push_str(r#"<g class="candles" data-testid="chart-candles">"#);
    for c in &g.candles {
        let _ = write!(
            svg,
            r#"<g class="candle" data-up="{}"><line x1="{}" x2="{}" y1="{}" y2="{}"/><rect x="{}" y="{}" width="{}" height="{}"/></g>"#,
            c.up,
            c.x,
            c.x,
            c.wick_top,
            c.wick_bottom,
            c.x - width / 2.0,
            c.body_top,
            width,
            c.body_height.max(1.0)
        );
    }
    svg.push_str("</g>");
}

fn volume(svg: &mut String, g: &Geometry) {
    svg.push_str(r#"<g class="volume">"#);
    for &(x, top, height) in &g.volume {
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{top}" width="{}" height="{height}"/>"#,
            x - g.bar_width / 2.0,
            g.bar_width
        );
    }
    svg.push_str("</g>");
}

/// A triangle under the plot where each headline came out, linking to it in the feed.
fn markers(svg: &mut String, g: &Geometry) {
    let (top, bottom) = g.frame.price;
    svg.push_str(r#"<g class="markers">"#);
    for (x, mark) in &g.markers {
        let _ = write!(
            svg,
            r##"<a href="#news-{}" data-testid="chart-marker" data-sentiment="{}"><title>{}</title><line class="marker-line" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/><polygon points="{},{} {},{} {x},{}"/></a>"##,
            mark.seq,
            mark.sentiment.as_str(),
            escape(&mark.headline),
            x - 5.0,
            bottom + 12.0,
            x + 5.0,
            bottom + 12.0,
            bottom + 3.0
        );
    }
    svg.push_str("</g>");
}

/// The last price: a dashed line across the plot and a tag in the price axis, coloured by
/// the change since the open (the watchlist's notion), showing exactly the watchlist's
/// Last. Off the scale (the reader looks at the past) it sits on the pane's edge.
fn last_price(svg: &mut String, g: &Geometry, (price, open): (Cents, Cents)) {
    if g.window.is_none() {
        return; // no points: no scale to put the price on
    }
    let f = g.frame;
    let y = g.y_of(price).clamp(f.price.0, f.price.1);
    let direction = format::direction(price - open);
    let _ = write!(
        svg,
        r#"<line class="last-line" data-direction="{direction}" x1="0" x2="{}" y1="{y}" y2="{y}"/><g class="last-tag" data-testid="chart-last-tag" data-direction="{direction}">"#,
        f.plot_right
    );
    axis_tag(svg, g, y, price);
    svg.push_str("</g>");
}

/// A price in a tag on the price axis at height `y`: the last price's and the crosshair's.
fn axis_tag(svg: &mut String, g: &Geometry, y: f64, price: Cents) {
    let right = g.frame.plot_right;
    let _ = write!(
        svg,
        r#"<rect x="{right}" y="{}" width="{AXIS_WIDTH}" height="18" rx="3"/><text x="{}" y="{}">{}</text>"#,
        y - 9.0,
        right + 6.0,
        y + 4.0,
        format::price(price)
    );
}

/// The crosshair at `hover` (pixels), if the pointer is over the plot: a vertical line at
/// the point or candle read out, a horizontal one with its price in the axis, and the
/// readout under the legend. Empty otherwise.
pub fn crosshair(g: &Geometry, hover: Option<(f64, f64)>) -> String {
    let mut svg = String::new();
    let Some((x, y)) = hover else {
        return svg;
    };
    let f = g.frame;
    if x > f.plot_right {
        return svg; // over the price axis
    }
    let Some(read) = readout(g, x) else {
        return svg;
    };
    let (top, bottom) = f.price;
    let _ = write!(
        svg,
        r#"<g class="crosshair"><line x1="{}" x2="{}" y1="{top}" y2="{}"/>"#,
        read.x, read.x, f.volume.1
    );
    if (top..=bottom).contains(&y) {
        let _ = write!(
            svg,
            r#"<line class="crosshair-level" x1="0" x2="{}" y1="{y}" y2="{y}"/><g class="crosshair-price" data-testid="chart-crosshair-price">"#,
            f.plot_right
        );
        axis_tag(&mut svg, g, y, g.price_at(y));
        svg.push_str("</g>");
    }
    // On a phone the volume goes on a line of its own.
    let tail_at = if f.narrow() { r#" x="4" dy="15""# } else { "" };
    let _ = write!(
        svg,
        r#"<text class="readout" data-testid="chart-readout" x="4" y="{}"><tspan>{}</tspan><tspan{tail_at}>{}</tspan></text></g>"#,
        top + 26.0,
        escape(&read.head),
        escape(&read.tail)
    );
    svg
}

/// `text` as SVG character data or an attribute value: nothing in it is markup.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::super::layout::{sample_geometry, NewsMark};
    use super::*;
    use crate::wire::Sentiment;

    /// The sample minute with one headline in its middle.
    fn geometry(headline: &str, mode: Mode) -> Geometry {
        let news = [NewsMark {
            ts: 1_764_000_030_000,
            seq: 7,
            headline: headline.to_owned(),
            sentiment: Sentiment::Negative,
        }];
        sample_geometry(mode, &news)
    }

    #[test]
    fn a_headline_is_a_title_never_markup() {
        let svg = drawing(
            &geometry(r#"</title><script>x()</script>"#, Mode::Line),
            Mode::Line,
            None,
        );
        assert!(svg.contains(r##"<a href="#news-7" data-testid="chart-marker" data-sentiment="negative"><title>&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;</title>"##), "{svg}");
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn candles_replace_the_line() {
        let line = drawing(&geometry("h", Mode::Line), Mode::Line, None);
        let candles = drawing(&geometry("h", Mode::Candles), Mode::Candles, None);
        assert_eq!(line.matches(r#"data-testid="chart-line""#).count(), 1);
        assert!(!line.contains("chart-candles"));
        assert!(!candles.contains("chart-line"));
        assert!(
            candles.matches(r#"<g class="candle" data-up="#).count() >= 10,
            "{candles}"
        );
    }

    #[test]
    fn the_crosshair_reads_out_where_the_pointer_is_over_the_plot() {
        let g = geometry("h", Mode::Line);
        assert_eq!(crosshair(&g, None), "");
        assert_eq!(crosshair(&g, Some((g.frame.plot_right + 1.0, 50.0))), ""); // the axis
        let over = crosshair(&g, Some((g.frame.plot_right / 2.0, 50.0)));
        assert_eq!(
            over.matches(r#"data-testid="chart-readout""#).count(),
            1,
            "{over}"
        );
        assert_eq!(
            over.matches(r#"data-testid="chart-crosshair-price""#)
                .count(),
            1
        );
    }

    #[test]
    fn nothing_in_a_text_becomes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("NOVA · 178.88"), "NOVA · 178.88");
    }
}
