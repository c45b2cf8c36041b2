//! Charts for Relatórios as server-rendered SVG (no script, no CDN): stacked bars per day with a
//! title, a description and a legend, so screen readers and printouts get them too.

/// One series of a stacked chart: its label and colour, and a value per day.
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub values: Vec<i64>,
}

/// Colours that stay apart for common colour blindness (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest step of 1, 2 or 5 × 10ⁿ with which four steps reach `max`.
fn nice_step(max: i64) -> i64 {
    let need = (max.max(1) + 3) / 4;
    let mut magnitude = 1;
    loop {
        for factor in [1, 2, 5] {
            if factor * magnitude >= need {
                return factor * magnitude;
            }
        }
        magnitude *= 10;
    }
}

/// Stacked bars: one bar per day (`labels`), the series stacked bottom up.
pub fn stacked_bars(id: &str, title: &str, labels: &[String], series: &[Series]) -> String {
    let (w, h, left, bottom, top) = (720.0_f64, 240.0_f64, 40.0, 28.0, 10.0);
    let days = labels.len().max(1);
    let totals: Vec<i64> = (0..days)
        .map(|d| {
            series
                .iter()
                .map(|s| s.values.get(d).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    // Four gridlines at whole, round steps: the axis tops out at 4 × step, never a repeated label.
    let step = nice_step(totals.iter().copied().max().unwrap_or(0));
    let max = (step * 4) as f64;
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let slot = plot_w / days as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-t {id}-d" data-testid="{id}"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(title),
        escape(&describe(labels, series)),
    );
    for i in 0..=4 {
        let y = top + plot_h * (1.0 - i as f64 / 4.0);
        let v = step * i;
        out.push_str(&format!(
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end" fill="#667">{v}</text>"##,
            w - 8.0,
            left - 4.0,
            y + 3.0
        ));
    }
    let every = days.div_ceil(12);
    for d in 0..days {
        let x = left + slot * d as f64 + (slot - bar) / 2.0;
        let mut y = top + plot_h;
        for s in series {
            let v = s.values.get(d).copied().unwrap_or(0);
            if v <= 0 {
                continue;
            }
            let bh = plot_h * v as f64 / max;
            y -= bh;
            out.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}" fill="{}"><title>{} · {}: {v}</title></rect>"#,
                s.color,
                escape(labels.get(d).map_or("", String::as_str)),
                escape(&s.label)
            ));
        }
        if d % every == 0 {
            out.push_str(&format!(
                r##"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#667">{}</text>"##,
                x + bar / 2.0,
                h - bottom + 14.0,
                escape(labels.get(d).map_or("", String::as_str))
            ));
        }
    }
    out.push_str("</svg>");
    out.push_str(r#"<ul class="legend">"#);
    for s in series {
        out.push_str(&format!(
            // An SVG fill, not a style attribute: the Content-Security-Policy allows no inline style.
            r#"<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><path d="M0 0h10v10H0z" fill="{}"/></svg>{}</li>"#,
            s.color,
            escape(&s.label)
        ));
    }
    out.push_str("</ul>");
    out
}

/// A sentence with the totals, for the chart's description.
fn describe(labels: &[String], series: &[Series]) -> String {
    let parts: Vec<String> = series
        .iter()
        .map(|s| format!("{}: {}", s.label, s.values.iter().sum::<i64>()))
        .collect();
    format!(
        "{} – {}: {}",
        labels.first().map_or("", String::as_str),
        labels.last().map_or("", String::as_str),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_steps_are_whole_and_round() {
        let cases = [
            (0, 1),
            (1, 1),
            (3, 1),
            (4, 1),
            (5, 2),
            (8, 2),
            (9, 5),
            (20, 5),
            (21, 10),
        ];
        for (max, step) in cases {
            assert_eq!(nice_step(max), step, "max {max}");
        }
        assert_eq!(nice_step(800_000), 200_000);
        assert_eq!(nice_step(800_001), 500_000);
    }

    #[test]
    fn a_chart_has_a_title_a_bar_per_value_and_a_legend() {
        let svg = stacked_bars(
            "c",
            "Enviadas <por dia>",
            &["01/11".into(), "02/11".into()],
            &[Series {
                label: "Lidas".into(),
                color: PALETTE[0],
                values: vec![3, 0],
            }],
        );
        assert!(svg.contains("<title id=\"c-t\">Enviadas &lt;por dia&gt;</title>"));
        assert_eq!(svg.matches("<rect").count(), 1, "zero draws no bar");
        assert!(svg.contains("Lidas: 3"));
        assert!(svg.contains("class=\"legend\""));
    }
}
