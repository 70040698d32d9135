//! Figures, their limits and targets, and BENCHMARKS.md.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Instant};

/// What a figure's number means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    Ms,
    Secs,
    PerSec,
    MiB,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::Ms if v < 10.0 => format!("{v:.2} ms"),
            Unit::Ms => format!("{v:.1} ms"),
            Unit::Secs if v < 10.0 => format!("{v:.3} s"),
            Unit::Secs => format!("{v:.1} s"),
            Unit::PerSec if v >= 10_000.0 => format!("{:.1}k/s", v / 1000.0),
            Unit::PerSec => format!("{v:.0}/s"),
            Unit::MiB => format!("{v:.1} MiB"),
        }
    }
}

/// What a figure is compared with: the best the machine or a simpler stack does.
#[derive(Clone, Debug)]
pub struct Limit {
    pub name: String,
    pub value: f64,
}

/// The issue's target for a figure: on the figure itself or on its ratio to the limit.
#[derive(Clone, Debug)]
pub struct Target {
    pub text: String,
    pub on_ratio: bool,
    pub at_most: bool,
    pub bound: f64,
}

impl Target {
    pub fn ratio_at_most(bound: f64, text: &str) -> Target {
        Target {
            text: text.into(),
            on_ratio: true,
            at_most: true,
            bound,
        }
    }
    pub fn ratio_at_least(bound: f64, text: &str) -> Target {
        Target {
            text: text.into(),
            on_ratio: true,
            at_most: false,
            bound,
        }
    }
    pub fn at_most(bound: f64, text: &str) -> Target {
        Target {
            text: text.into(),
            on_ratio: false,
            at_most: true,
            bound,
        }
    }
}

/// One measured (or, honestly, not measured) number.
#[derive(Clone, Debug)]
pub struct Figure {
    pub scenario: String,
    pub name: String,
    pub value: Option<f64>,
    pub unit: Unit,
    pub limit: Option<Limit>,
    pub target: Option<Target>,
    /// Why it is missing, or what to know when reading it.
    pub note: String,
}

impl Figure {
    pub fn new(scenario: &str, name: &str, value: f64, unit: Unit) -> Figure {
        Figure {
            scenario: scenario.into(),
            name: name.into(),
            value: Some(value),
            unit,
            limit: None,
            target: None,
            note: String::new(),
        }
    }

    pub fn missing(scenario: &str, name: &str, unit: Unit, why: &str) -> Figure {
        Figure {
            value: None,
            note: why.into(),
            ..Figure::new(scenario, name, 0.0, unit)
        }
    }

    pub fn limit(mut self, name: &str, value: Option<f64>) -> Figure {
        if let Some(value) = value.filter(|v| *v > 0.0 && v.is_finite()) {
            self.limit = Some(Limit {
                name: name.into(),
                value,
            });
        }
        self
    }

    pub fn target(mut self, target: Target) -> Figure {
        self.target = Some(target);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Figure {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        Some(self.value? / self.limit.as_ref()?.value)
    }

    /// Whether the target is met: `None` when there is no target or nothing to judge.
    pub fn met(&self) -> Option<bool> {
        let t = self.target.as_ref()?;
        let v = if t.on_ratio {
            self.ratio()?
        } else {
            self.value?
        };
        Some(if t.at_most {
            v <= t.bound
        } else {
            v >= t.bound
        })
    }

    fn value_text(&self) -> String {
        match self.value {
            Some(v) => self.unit.show(v),
            None => "not measured".into(),
        }
    }

    fn limit_text(&self) -> String {
        match &self.limit {
            Some(l) => format!("{} ({})", self.unit.show(l.value), l.name),
            None => "-".into(),
        }
    }

    fn ratio_text(&self) -> String {
        self.ratio()
            .map(|r| format!("{r:.2}x"))
            .unwrap_or_else(|| "-".into())
    }

    fn verdict(&self) -> String {
        match (&self.target, self.met()) {
            (Some(t), Some(true)) => format!("{}: met", t.text),
            (Some(t), Some(false)) => format!("{}: **missed**", t.text),
            (Some(t), None) => format!("{}: not judged", t.text),
            (None, _) => String::new(),
        }
    }
}

/// Everything one run measured, with what the plots need.
pub struct Report {
    pub quick: bool,
    pub figures: Vec<Figure>,
    /// Latency samples (ms) by series name ("circle N=8", "raw gossipsub N=8", ...).
    pub samples: BTreeMap<String, Vec<f64>>,
    pub notes: Vec<String>,
    started: Instant,
}

impl Report {
    pub fn new(quick: bool) -> Report {
        START.get_or_init(Instant::now);
        Report {
            quick,
            figures: Vec::new(),
            samples: BTreeMap::new(),
            notes: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Prints progress with the time since the run started.
    pub fn progress(&self, what: impl AsRef<str>) {
        progress(what);
    }

    /// Adds a figure and prints it with its limit and ratio.
    pub fn add(&mut self, figure: Figure) {
        let mut line = format!(
            "  = {} / {}: {}",
            figure.scenario,
            figure.name,
            figure.value_text()
        );
        if figure.limit.is_some() {
            let _ = write!(
                line,
                " | limit {} | ratio {}",
                figure.limit_text(),
                figure.ratio_text()
            );
        }
        let verdict = figure.verdict();
        if !verdict.is_empty() {
            let _ = write!(line, " | {}", verdict.replace("**", ""));
        }
        if !figure.note.is_empty() {
            let _ = write!(line, " ({})", figure.note);
        }
        println!("{line}");
        self.figures.push(figure);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("  note: {note}");
        self.notes.push(note);
    }

    /// The report as Markdown. `analysis` is the hand-written part (profiles, misses).
    pub fn markdown(&self, machine: &str, plots: &[(String, String)], analysis: &str) -> String {
        let mut md = String::new();
        let mode = if self.quick {
            "quick (every scenario small: not for comparison)"
        } else {
            "full"
        };
        let _ = writeln!(
            md,
            "# Benchmarks\n\nWritten by `cargo run --release -p circle-bench -- all` ({mode} run, \
             {:.0} s). Every figure is measured in this run on one machine over loopback, next to \
             the limit it is compared with; the ratio is figure / limit. Do not edit by hand: \
             run the command again.\n",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(md, "## Machine\n\n{machine}\n");
        let _ = writeln!(md, "## Figures\n");
        let _ = writeln!(
            md,
            "| scenario | figure | measured | limit | ratio | target | note |\n|---|---|---|---|---|---|---|"
        );
        for f in &self.figures {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                f.scenario,
                f.name,
                f.value_text(),
                f.limit_text(),
                f.ratio_text(),
                f.verdict(),
                f.note.replace('|', "/")
            );
        }
        let _ = writeln!(md, "\n## Targets\n");
        for f in self.figures.iter().filter(|f| f.target.is_some()) {
            let _ = writeln!(
                md,
                "- {} / {}: {} — {}",
                f.scenario,
                f.name,
                f.value_text(),
                f.verdict()
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(md, "\n## Notes from this run\n");
            for n in &self.notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        if !plots.is_empty() {
            let _ = writeln!(md, "\n## Plots\n");
            for (title, path) in plots {
                let _ = writeln!(md, "![{title}]({path})\n");
            }
        }
        if !analysis.trim().is_empty() {
            let _ = writeln!(md, "\n{}", analysis.trim());
        }
        md
    }

    pub fn write(&self, path: &Path, markdown: &str) -> anyhow::Result<()> {
        use anyhow::Context;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        std::fs::write(path, markdown)
            .with_context(|| format!("could not write {}", path.display()))
    }
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Prints progress on standard error with the time since the run started.
pub fn progress(what: impl AsRef<str>) {
    let start = START.get_or_init(Instant::now);
    eprintln!("[{:7.1}s] {}", start.elapsed().as_secs_f64(), what.as_ref());
}

/// Nearest-rank percentile of `sorted` (ascending), `p` in 0..=100.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Sorts samples for percentiles (NaNs cannot occur: they are durations).
pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Machine details for the report: cores, CPU, memory, kernel, rustc, node.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let out = |cmd: &str, arg: &str| {
        std::process::Command::new(cmd)
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "not found".into())
    };
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "- cores: {cores}\n- CPU: {cpu}\n- memory: {mem}\n- kernel: {}\n- rustc: {}\n- node: {}\n- build profile: {profile}",
        out("uname", "-r"),
        out("rustc", "--version"),
        out("node", "--version"),
    )
}
