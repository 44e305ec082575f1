//! The curve of BENCHMARKS.md: p99 latency and server CPU per delivery (both on log scales,
//! as the servers differ by orders of magnitude) against the number of clients, one line per server and transport, drawn as a standalone SVG from
//! the same results as the tables.
//!
//! Invariant: only measured points are drawn (a series needs two cells at the rate), and an
//! overloaded cell is drawn hollow, never hidden or interpolated.

use super::{transport_name, who};
use crate::clients::TransportKind;
use crate::result::RunResult;
use std::fmt::Write as _;

const PANEL_W: f64 = 440.0;
const PANEL_H: f64 = 260.0;
const MARGIN_L: f64 = 60.0;
const MARGIN_T: f64 = 34.0;
const GAP: f64 = 70.0;
const LEGEND_ROW: f64 = 18.0;
/// One colour per server, in order of appearance (tickstream first).
const COLOURS: [&str; 6] = [
    "#2563eb", "#dc2626", "#d97706", "#059669", "#7c3aed", "#475569",
];

/// One line: a server's cells over one transport, by clients.
struct Series<'a> {
    name: String,
    colour: &'static str,
    dashed: bool,
    points: Vec<&'a RunResult>,
}

/// The whole SVG document.
pub fn draw(rows: &[RunResult], rate: f64) -> String {
    let series = series(rows, rate);
    let clients: Vec<f64> = {
        let mut all: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|row| row.clients as f64))
            .collect();
        all.sort_by(f64::total_cmp);
        all.dedup();
        all
    };
    let width = MARGIN_L * 2.0 + PANEL_W * 2.0 + GAP;
    let legend_top = MARGIN_T + PANEL_H + 50.0;
    let height = legend_top + LEGEND_ROW * ((series.len() as f64 / 2.0).ceil() + 1.0) + 12.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    if clients.len() < 2 {
        let _ = writeln!(
            svg,
            r#"<text x="20" y="40">Fewer than two client counts at {rate} msg/s: no curve.</text></svg>"#
        );
        return svg;
    }
    let x_axis = LogAxis {
        low: clients[0],
        high: clients[clients.len() - 1],
    };
    let p99: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|row| row.p99_ms))
        .collect();
    let cpu: Vec<f64> = series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .filter_map(|row| row.server_cpu_us_per_delivery)
        })
        .collect();
    let p99_axis = LogAxis::decades(
        p99.iter().copied().fold(f64::MAX, f64::min).max(0.1),
        p99.iter().copied().fold(0.0, f64::max).max(1.0),
    );
    let cpu_axis = LogAxis::decades(
        cpu.iter().copied().fold(f64::MAX, f64::min).max(0.1),
        cpu.iter().copied().fold(0.0, f64::max).max(1.0),
    );
    let panels = [
        Panel {
            left: MARGIN_L,
            title: format!("p99 publish → receive, ms (log scale), {rate} msg/s"),
            y: Box::new(move |v| p99_axis.at(v)),
            ticks: p99_axis.ticks(),
            value: |row: &RunResult| row.p99_ms,
        },
        Panel {
            left: MARGIN_L * 2.0 + PANEL_W + GAP - MARGIN_L,
            title: format!("server CPU µs per delivery (log scale), {rate} msg/s"),
            y: Box::new(move |v| cpu_axis.at(v)),
            ticks: cpu_axis.ticks(),
            value: |row: &RunResult| row.server_cpu_us_per_delivery,
        },
    ];
    for panel in &panels {
        panel.frame(&mut svg, &clients, &x_axis);
        for s in &series {
            panel.line(&mut svg, s, &x_axis);
        }
    }
    legend(&mut svg, &series, legend_top);
    svg.push_str("</svg>\n");
    svg
}

/// The series at `rate`, tickstream first, each with at least two points.
fn series(rows: &[RunResult], rate: f64) -> Vec<Series<'_>> {
    let mut names: Vec<&str> = Vec::new();
    for row in rows {
        if !names.contains(&who(row)) {
            names.push(who(row));
        }
    }
    // tickstream first, so that it always has the first colour.
    names.sort_by_key(|name| *name != "tickstream");
    let mut out = Vec::new();
    for (at, name) in names.iter().enumerate() {
        for transport in [TransportKind::Sse, TransportKind::Ws] {
            let mut points: Vec<&RunResult> = rows
                .iter()
                .filter(|row| who(row) == *name && row.transport == transport && row.rate == rate)
                .collect();
            points.sort_by_key(|row| row.clients);
            points.dedup_by_key(|row| row.clients);
            if points.len() >= 2 {
                out.push(Series {
                    name: format!("{name} {}", transport_name(transport)),
                    colour: COLOURS[at % COLOURS.len()],
                    dashed: transport == TransportKind::Ws,
                    points,
                });
            }
        }
    }
    out
}

/// A logarithmic axis mapping [low, high] to [0, 1].
#[derive(Clone, Copy)]
struct LogAxis {
    low: f64,
    high: f64,
}

impl LogAxis {
    /// Whole decades around the data, so the ticks are round.
    fn decades(low: f64, high: f64) -> LogAxis {
        let low = 10f64.powf(low.log10().floor());
        let high = 10f64.powf(high.log10().ceil()).max(low * 10.0);
        LogAxis { low, high }
    }

    fn at(&self, value: f64) -> f64 {
        (value.max(self.low).log10() - self.low.log10()) / (self.high.log10() - self.low.log10())
    }

    /// 1, 10, 100… within the axis.
    fn ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        let mut tick = self.low;
        while tick <= self.high * 1.0001 {
            ticks.push(tick);
            tick *= 10.0;
        }
        ticks
    }
}

struct Panel {
    left: f64,
    title: String,
    /// A value's height in the panel, 0 (bottom) to 1 (top).
    y: Box<dyn Fn(f64) -> f64>,
    ticks: Vec<f64>,
    value: fn(&RunResult) -> Option<f64>,
}

impl Panel {
    fn px(&self, x_axis: &LogAxis, clients: f64) -> f64 {
        self.left + x_axis.at(clients) * PANEL_W
    }

    fn py(&self, value: f64) -> f64 {
        MARGIN_T + PANEL_H * (1.0 - (self.y)(value).clamp(0.0, 1.0))
    }

    fn frame(&self, svg: &mut String, clients: &[f64], x_axis: &LogAxis) {
        let (top, bottom) = (MARGIN_T, MARGIN_T + PANEL_H);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"#,
            self.left,
            top - 14.0,
            self.title
        );
        for tick in &self.ticks {
            let y = self.py(*tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#374151">{}</text>"##,
                self.left,
                self.left + PANEL_W,
                self.left - 6.0,
                y + 4.0,
                label(*tick)
            );
        }
        for c in clients {
            let x = self.px(x_axis, *c);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top:.1}" y2="{bottom:.1}" stroke="#f3f4f6"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#374151">{}</text>"##,
                bottom + 16.0,
                label(*c)
            );
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{:.1}" y="{top:.1}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#9ca3af"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#374151">clients (log scale)</text>"##,
            self.left,
            self.left + PANEL_W / 2.0,
            bottom + 34.0
        );
    }

    fn line(&self, svg: &mut String, series: &Series, x_axis: &LogAxis) {
        let points: Vec<(f64, f64, bool)> = series
            .points
            .iter()
            .filter_map(|row| {
                let value = (self.value)(row)?;
                Some((
                    self.px(x_axis, row.clients as f64),
                    self.py(value),
                    row.overloaded.is_some(),
                ))
            })
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>"#,
            path.join(" "),
            series.colour,
            if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            }
        );
        for (x, y, overloaded) in points {
            let fill = if overloaded { "#ffffff" } else { series.colour };
            let _ = writeln!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{fill}" stroke="{}" stroke-width="2"/>"#,
                series.colour
            );
        }
    }
}

fn legend(svg: &mut String, series: &[Series], top: f64) {
    for (at, s) in series.iter().enumerate() {
        let x = MARGIN_L + (at % 2) as f64 * (PANEL_W + GAP);
        let y = top + (at / 2) as f64 * LEGEND_ROW;
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"{}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 28.0,
            s.colour,
            if s.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            },
            x + 36.0,
            y + 4.0,
            s.name
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" fill="#6b7280">solid: SSE · dashed: WebSocket · hollow point: overloaded cell</text>"##,
        MARGIN_L,
        top + LEGEND_ROW * (series.len() as f64 / 2.0).ceil() + 4.0
    );
}

/// 1000 → "1k", 2.5 → "2.5", 0.1 → "0.1".
fn label(value: f64) -> String {
    if value >= 1000.0 {
        format!("{}k", trim(value / 1000.0))
    } else {
        trim(value)
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.1}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
