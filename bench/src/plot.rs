//! PNG plots with plotters' bitmap backend; text drawn with an embedded font (DejaVu Sans,
//! Bitstream Vera licence: assets/DejaVuSans-LICENSE.txt), so no system font library is needed.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::report::{Report, percentile, sorted};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() -> anyhow::Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the embedded font does not load"))
}

/// One latency-distribution plot per N (circle, raw gossipsub, js-libp2p): the share of
/// deliveries (y) that took at most x ms. Returns (title, file name) of each.
pub fn latency(report: &Report, ns: &[usize], dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    register_font()?;
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for &n in ns {
        let series: Vec<(String, Vec<f64>, RGBColor)> = [
            (format!("circle N={n}"), RGBColor(200, 40, 40)),
            (format!("raw gossipsub N={n}"), RGBColor(40, 90, 200)),
            (format!("js-libp2p N={n}"), RGBColor(40, 150, 60)),
        ]
        .into_iter()
        .filter_map(|(name, color)| {
            let s = sorted(report.samples.get(&name)?.clone());
            (!s.is_empty()).then_some((name, s, color))
        })
        .collect();
        if series.is_empty() {
            continue;
        }
        // Up to the largest p99.5, so one slow outlier does not squash the curves.
        let x_max = series
            .iter()
            .filter_map(|(_, s, _)| percentile(s, 99.5))
            .fold(0.0f64, f64::max)
            * 1.1;
        let file = format!("latency-n{n}.png");
        let title = format!("Delivery latency, N={n}, 1 KiB messages");
        let path = dir.join(&file);
        {
            let root = BitMapBackend::new(&path, (900, 540)).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&title, ("sans-serif", 24))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max.max(0.1), 0.0..1.0)?;
            chart
                .configure_mesh()
                .x_desc("latency (ms): share to readable / publish to received")
                .y_desc("share of deliveries")
                .label_style(("sans-serif", 15))
                .draw()?;
            for (name, s, color) in &series {
                let len = s.len() as f64;
                let points = s
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v.min(x_max), (i + 1) as f64 / len));
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                    .label(format!(
                        "{name} (p50 {:.2} ms, p99 {:.2} ms)",
                        percentile(s, 50.0).unwrap_or(0.0),
                        percentile(s, 99.0).unwrap_or(0.0)
                    ))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font(("sans-serif", 15))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
        }
        out.push((title, file));
    }
    Ok(out)
}
