//! Every figure of a run as JSON, beside the markdown, and `circle-bench compare OLD NEW`:
//! what got better or worse between two runs.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::report::{Figure, Report, Unit};

/// The JSON file's format version: bump it when a field changes meaning.
pub const VERSION: u32 = 1;

/// A whole run, as written to `--json FILE`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Run {
    pub version: u32,
    /// "full" or "quick" (quick numbers are not for comparison with full ones).
    pub mode: String,
    pub figures: Vec<JsonFigure>,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One figure: its value (null when not measured), the limit it is compared with, the ratio
/// and whether the target is met (null when it has no target or nothing to judge).
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonFigure {
    pub scenario: String,
    pub name: String,
    pub value: Option<f64>,
    pub unit: String,
    pub limit: Option<JsonLimit>,
    pub ratio: Option<f64>,
    pub target: Option<JsonTarget>,
    pub met: Option<bool>,
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonLimit {
    pub name: String,
    pub value: f64,
}

/// The target: `bound` applies to the ratio when `on_ratio`, else to the value; `at_most`
/// says which side is good.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonTarget {
    pub text: String,
    pub on_ratio: bool,
    pub at_most: bool,
    pub bound: f64,
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Ms => "ms",
        Unit::Secs => "s",
        Unit::PerSec => "per_s",
        Unit::MiB => "MiB",
    }
}

impl From<&Figure> for JsonFigure {
    fn from(f: &Figure) -> JsonFigure {
        JsonFigure {
            scenario: f.scenario.clone(),
            name: f.name.clone(),
            value: f.value,
            unit: unit_name(f.unit).into(),
            limit: f.limit.as_ref().map(|l| JsonLimit {
                name: l.name.clone(),
                value: l.value,
            }),
            ratio: f.ratio(),
            target: f.target.as_ref().map(|t| JsonTarget {
                text: t.text.clone(),
                on_ratio: t.on_ratio,
                at_most: t.at_most,
                bound: t.bound,
            }),
            met: f.met(),
            note: f.note.clone(),
        }
    }
}

/// The report as a JSON document.
pub fn run_of(report: &Report) -> Run {
    Run {
        version: VERSION,
        mode: if report.quick { "quick" } else { "full" }.into(),
        figures: report.figures.iter().map(JsonFigure::from).collect(),
        notes: report.notes.clone(),
    }
}

pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&run_of(report))?;
    report.write(path, &(text + "\n"))
}

fn read(path: &Path) -> anyhow::Result<Run> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let run: Run = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a circle-bench JSON file", path.display()))?;
    anyhow::ensure!(
        run.version == VERSION,
        "{} is format {}, this circle-bench reads format {VERSION}",
        path.display(),
        run.version
    );
    Ok(run)
}

/// Changes smaller than this (relative) are reported as the same: runs on a shared machine
/// vary by a few percent.
const NOISE: f64 = 0.05;

impl JsonFigure {
    /// The number to compare between runs: the ratio when the target is on the ratio (its
    /// limit was measured in the same run, so machine load cancels out), else the value.
    fn compared(&self) -> Option<f64> {
        match &self.target {
            Some(t) if t.on_ratio => self.ratio,
            _ => self.value,
        }
    }

    /// Whether a smaller number is better: from the target if there is one, else from the
    /// unit (rates are better higher, times and sizes lower).
    fn lower_is_better(&self) -> bool {
        match &self.target {
            Some(t) => t.at_most,
            None => self.unit != "per_s",
        }
    }
}

/// What happened to one figure between two runs.
#[derive(Debug, PartialEq)]
pub enum Change {
    Better,
    Worse,
    Same,
    /// Measured in one run only, or in neither.
    Unmatched,
}

/// Compares the figure in two runs.
pub fn change(old: &JsonFigure, new: &JsonFigure) -> Change {
    let (Some(a), Some(b)) = (old.compared(), new.compared()) else {
        return Change::Unmatched;
    };
    let rel = if a == 0.0 {
        if b == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (b - a) / a.abs()
    };
    if rel.abs() <= NOISE {
        Change::Same
    } else if (rel < 0.0) == new.lower_is_better() {
        Change::Better
    } else {
        Change::Worse
    }
}

/// The comparison as text: worse first, then better, then what only one run has.
pub fn compare_text(old: &Run, new: &Run) -> String {
    let key = |f: &JsonFigure| (f.scenario.clone(), f.name.clone());
    let before: BTreeMap<_, _> = old.figures.iter().map(|f| (key(f), f)).collect();
    let mut worse = Vec::new();
    let mut better = Vec::new();
    let mut same = 0;
    let mut only_new = Vec::new();
    for f in &new.figures {
        let Some(o) = before.get(&key(f)) else {
            only_new.push(format!("{} / {}", f.scenario, f.name));
            continue;
        };
        let line = || {
            let show = |x: Option<f64>| x.map_or("not measured".into(), |v| format!("{v:.3}"));
            let what = match &f.target {
                Some(t) if t.on_ratio => "ratio".to_string(),
                _ => f.unit.clone(),
            };
            let verdict = match (o.met, f.met) {
                (Some(true), Some(false)) => ", target now missed",
                (Some(false), Some(true)) => ", target now met",
                _ => "",
            };
            format!(
                "{} / {}: {} -> {} {what}{verdict}",
                f.scenario,
                f.name,
                show(o.compared()),
                show(f.compared())
            )
        };
        match change(o, f) {
            Change::Worse => worse.push(line()),
            Change::Better => better.push(line()),
            Change::Same => same += 1,
            Change::Unmatched => only_new.push(line()),
        }
    }
    let now: std::collections::BTreeSet<_> = new.figures.iter().map(key).collect();
    let gone: Vec<String> = old
        .figures
        .iter()
        .filter(|f| !now.contains(&key(f)))
        .map(|f| format!("{} / {}", f.scenario, f.name))
        .collect();
    let mut out = String::new();
    if old.mode != new.mode {
        let _ = writeln!(
            out,
            "note: comparing a {} run with a {} run: sizes differ",
            old.mode, new.mode
        );
    }
    for (title, lines) in [
        ("worse", &worse),
        ("better", &better),
        (
            "not comparable (in one run only, or not measured)",
            &only_new,
        ),
        ("no longer measured", &gone),
    ] {
        if !lines.is_empty() {
            let _ = writeln!(out, "{title}:");
            for l in lines.iter() {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    let _ = writeln!(
        out,
        "{} worse, {} better, {same} within {:.0} %",
        worse.len(),
        better.len(),
        NOISE * 100.0
    );
    out
}

/// `circle-bench compare OLD NEW`.
pub fn compare(old: &Path, new: &Path) -> anyhow::Result<()> {
    let text = compare_text(&read(old)?, &read(new)?);
    print!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Target;

    fn report() -> Report {
        let mut r = Report::new(true);
        r.figures.push(
            Figure::new("memory", "holding 110000 messages", 60.0, Unit::MiB)
                .limit("idle node", Some(20.0))
                .target(Target::at_most(80.0, "≤ 80 MiB")),
        );
        r.figures.push(
            Figure::new("ingest", "one node, 1 KiB", 5000.0, Unit::PerSec)
                .limit("crypto bound", Some(10000.0))
                .target(Target::ratio_at_least(0.7, "≥ 0.7x")),
        );
        r.figures.push(Figure::missing(
            "join",
            "(scenario failed)",
            Unit::Ms,
            "boom",
        ));
        r
    }

    #[test]
    fn every_figure_is_written_with_value_unit_limit_ratio_and_verdict() {
        let json = serde_json::to_value(run_of(&report())).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["mode"], "quick");
        let figures = json["figures"].as_array().unwrap();
        assert_eq!(figures.len(), 3);
        let memory = &figures[0];
        assert_eq!(memory["scenario"], "memory");
        assert_eq!(memory["name"], "holding 110000 messages");
        assert_eq!(memory["value"], 60.0);
        assert_eq!(memory["unit"], "MiB");
        assert_eq!(memory["limit"]["name"], "idle node");
        assert_eq!(memory["limit"]["value"], 20.0);
        assert_eq!(memory["ratio"], 3.0);
        assert_eq!(memory["target"]["bound"], 80.0);
        assert_eq!(memory["target"]["at_most"], true);
        assert_eq!(memory["met"], true);
        let ingest = &figures[1];
        assert_eq!(ingest["unit"], "per_s");
        assert_eq!(ingest["ratio"], 0.5);
        assert_eq!(ingest["met"], false);
        let failed = &figures[2];
        assert!(failed["value"].is_null());
        assert!(failed["limit"].is_null());
        assert!(failed["met"].is_null());
        assert_eq!(failed["note"], "boom");
    }

    #[test]
    fn a_run_compared_with_itself_reads_back_the_same() {
        let text = serde_json::to_string(&run_of(&report())).unwrap();
        let old: Run = serde_json::from_str(&text).unwrap();
        let new: Run = serde_json::from_str(&text).unwrap();
        let out = compare_text(&old, &new);
        assert!(out.ends_with("0 worse, 0 better, 2 within 5 %\n"), "{out}");
    }

    #[test]
    fn less_memory_is_better_and_a_lower_ratio_to_a_rate_is_worse() {
        let old = run_of(&report());
        let mut r = report();
        r.figures[0].value = Some(40.0);
        r.figures[1].value = Some(8000.0);
        // The limit moved too: the ratio is what is compared (0.5 -> 0.4).
        r.figures[1].limit.as_mut().unwrap().value = 20000.0;
        let new = run_of(&r);
        assert_eq!(change(&old.figures[0], &new.figures[0]), Change::Better);
        assert_eq!(change(&old.figures[1], &new.figures[1]), Change::Worse);
        assert_eq!(change(&old.figures[2], &new.figures[2]), Change::Unmatched);
        let out = compare_text(&old, &new);
        assert!(
            out.starts_with("worse:\n  ingest / one node, 1 KiB: 0.500 -> 0.400 ratio\n"),
            "{out}"
        );
        assert!(
            out.contains("better:\n  memory / holding 110000 messages: 60.000 -> 40.000 MiB\n"),
            "{out}"
        );
    }
}
