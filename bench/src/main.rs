//! circle's benchmark suite: what a person notices (delivery, catch-up, join, re-key, memory,
//! disk, start-up), measured on one machine over loopback, each figure next to the limit it
//! is compared with (raw gossipsub on the same topology, the crypto and sled rates) and to
//! js-libp2p, in one run.
//!
//! ```text
//! cargo run --release -p circle-bench -- all          # writes BENCHMARKS.md and docs/bench/*.png
//! cargo run -p circle-bench -- all --quick            # every scenario small (CI); writes target/bench-quick/
//! cargo run --release -p circle-bench -- delivery     # one scenario
//! cargo run -p circle-bench -- compare OLD.json NEW.json   # what got better or worse
//! ```
//!
//! Every run also writes its figures as JSON beside the markdown (`docs/bench/figures.json`
//! for the full run, `target/bench-quick/figures.json` otherwise, or `--json FILE`).

mod circle_net;
mod collect;
mod gossip;
mod history;
mod js;
mod json;
mod limits;
mod membership;
mod plot;
mod raw;
mod report;
mod resources;
mod web;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};

use crate::{
    collect::Scenario,
    limits::Crypto,
    report::{Figure, Report, Unit},
};

/// circle's benchmarks, against the machine's limits and against js-libp2p.
#[derive(Parser)]
#[command(name = "circle-bench")]
struct Cli {
    /// Run every scenario small (for CI: checks the harness works; numbers not comparable).
    /// Writes to target/bench-quick/, never to the repository's BENCHMARKS.md.
    #[arg(long, global = true)]
    quick: bool,
    /// Also write every figure as JSON to FILE (by default beside the markdown:
    /// docs/bench/figures.json for the full run, target/bench-quick/figures.json otherwise)
    #[arg(long, global = true, value_name = "FILE")]
    json: Option<PathBuf>,
    #[command(subcommand)]
    command: Which,
}

#[derive(Subcommand, Clone, PartialEq)]
enum Which {
    /// Every scenario; the full run writes BENCHMARKS.md and docs/bench/*.png
    All,
    /// The limits alone: ed25519 verify_strict, XChaCha20-Poly1305, sled inserts
    Limits,
    /// Delivery latency and burst throughput at N = 3, 8, 32, with raw gossipsub and js-libp2p
    Delivery,
    /// Sustained ingest on one node
    Ingest,
    /// Catch-up after reconnect (10 000 and 100 000 missed messages)
    CatchUp,
    /// Join: from invite redeemed to history readable
    Join,
    /// Re-key after removal in a circle of 32
    Rekey,
    /// A member's node taking in a page of 10 000 membership operations
    Membership,
    /// Memory, disk and start-up of the circle binary, and backup and restore (needs a node
    /// holding many messages: runs catch-up first)
    Resources,
    /// The web app's pages with a circle of many messages
    Web,
    /// Compares two runs' JSON files: what got better or worse (changes within 5 % are noise)
    Compare {
        /// The earlier run's JSON (e.g. docs/bench/figures.json)
        old: PathBuf,
        /// The later run's JSON
        new: PathBuf,
    },
}

/// How big each scenario runs.
struct Sizes {
    ns: Vec<usize>,
    gossip: Scenario,
    rekey_n: usize,
    removals: usize,
    ingest: usize,
    operations: usize,
    join_history: usize,
    catch_up: Vec<usize>,
    web_messages: usize,
    idle: Duration,
    crypto_budget: Duration,
    sled_inserts: usize,
    sled_flushes: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                ns: vec![3, 8],
                gossip: Scenario {
                    warmup: 3,
                    count: 20,
                    burst: 100,
                    gap: Duration::from_millis(10),
                    patience: Duration::from_secs(30),
                },
                rekey_n: 8,
                removals: 1,
                ingest: 2_000,
                operations: 1_000,
                join_history: 200,
                catch_up: vec![500, 2_000],
                web_messages: 500,
                idle: Duration::from_secs(2),
                crypto_budget: Duration::from_millis(200),
                sled_inserts: 5_000,
                sled_flushes: 50,
            }
        } else {
            Sizes {
                ns: vec![3, 8, 32],
                gossip: Scenario {
                    warmup: 5,
                    count: 100,
                    burst: 500,
                    gap: Duration::from_millis(20),
                    patience: Duration::from_secs(60),
                },
                rekey_n: 32,
                removals: 3,
                ingest: 20_000,
                operations: 10_000,
                join_history: 1_000,
                catch_up: vec![10_000, 100_000],
                web_messages: 10_000,
                idle: Duration::from_secs(10),
                crypto_budget: Duration::from_secs(1),
                sled_inserts: 50_000,
                sled_flushes: 500,
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Which::Compare { old, new } = &cli.command {
        return match json::compare(old, new) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, cli.quick, cli.json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository's root.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Cargo's target directory (this program lives in target/<profile>/).
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| repo().join("target"))
}

async fn run(which: Which, quick: bool, json: Option<PathBuf>) -> anyhow::Result<()> {
    let sizes = Sizes::new(quick);
    let mut report = Report::new(quick);
    report.progress(format!(
        "circle-bench {}{}",
        if quick { "--quick " } else { "" },
        match which {
            Which::All => "all",
            _ => "(one scenario)",
        }
    ));
    if cfg!(debug_assertions) && !quick {
        report.note("built without --release: numbers are not representative");
    }
    let every = which == Which::All;
    let crypto = limits_scenario(&sizes, every || which == Which::Limits, &mut report)?;
    if every || which == Which::Ingest {
        step(&mut report, "sustained ingest", |r| {
            history::ingest(sizes.ingest, crypto, r)
        });
    }
    if every || which == Which::Membership {
        step(&mut report, "membership operations", |r| {
            membership::operations(sizes.operations, r)
        });
    }
    if every || which == Which::Delivery || which == Which::Rekey {
        let ns: Vec<usize> = if which == Which::Rekey {
            vec![sizes.rekey_n]
        } else {
            sizes.ns.clone()
        };
        match gossip::run(&ns, sizes.gossip, &mut report).await {
            Ok(Some(net)) if every || which == Which::Rekey => {
                if let Err(e) = gossip::rekey(net, sizes.removals, &mut report).await {
                    failed(&mut report, "re-key after removal", &e);
                }
            }
            Ok(Some(net)) => net.shutdown().await,
            Ok(None) => {}
            Err(e) => failed(&mut report, "delivery latency", &e),
        }
    }
    if (every || which == Which::Join)
        && let Err(e) = history::join(sizes.join_history, crypto, &mut report).await
    {
        failed(&mut report, "join", &e);
    }
    if (every || which == Which::Web)
        && let Err(e) = web::pages(sizes.web_messages, &mut report).await
    {
        failed(&mut report, "web pages", &e);
    }
    if every || which == Which::CatchUp || which == Which::Resources {
        match history::catch_up(&sizes.catch_up, crypto, &mut report).await {
            Ok(holding) if every || which == Which::Resources => {
                let idle = sizes.idle;
                let mut r = std::mem::replace(&mut report, Report::new(quick));
                let (r, result) = tokio::task::spawn_blocking(move || {
                    let result = resources::run(&holding, idle, &mut r);
                    (r, result)
                })
                .await
                .map_err(|e| anyhow::anyhow!("the resource scenario failed: {e}"))?;
                report = r;
                if let Err(e) = result {
                    failed(&mut report, "memory, disk, start-up", &e);
                }
            }
            Ok(_) => {}
            Err(e) => failed(&mut report, "catch-up", &e),
        }
    }
    finish(&which, &sizes, &report, json)
}

/// Measures the crypto limits (always: other figures need them) and, if `all`, sled's.
fn limits_scenario(sizes: &Sizes, all: bool, report: &mut Report) -> anyhow::Result<Crypto> {
    report.progress("limits: ed25519 verify_strict and XChaCha20-Poly1305");
    let crypto = limits::crypto(sizes.crypto_budget)?;
    let scenario = "limits (one core)";
    report.add(Figure::new(
        scenario,
        "ed25519 verify_strict",
        crypto.verify,
        Unit::PerSec,
    ));
    report.add(Figure::new(
        scenario,
        "XChaCha20-Poly1305 decrypt, 1 KiB",
        crypto.decrypt,
        Unit::PerSec,
    ));
    report.add(
        Figure::new(
            scenario,
            "crypto bound: verify + decrypt",
            crypto.bound(),
            Unit::PerSec,
        )
        .note("messages per second if a core did nothing else"),
    );
    if all {
        report.progress("limits: sled inserts");
        match limits::sled_inserts(sizes.sled_inserts) {
            Ok(rate) => report.add(Figure::new(
                scenario,
                "sled insert, 1.3 KiB values, unflushed",
                rate,
                Unit::PerSec,
            )),
            Err(e) => failed(report, "sled insert", &e),
        }
        match limits::sled_flush(sizes.sled_flushes) {
            Ok(samples) => {
                if let Some(p50) = report::percentile(&samples, 50.0) {
                    report.add(
                        Figure::new(scenario, "sled flush after one insert, p50", p50, Unit::Ms)
                            .note(format!(
                                "p99 {:.2} ms; every share waits for one before it is gossiped",
                                report::percentile(&samples, 99.0).unwrap_or(0.0)
                            )),
                    );
                }
            }
            Err(e) => failed(report, "sled flush", &e),
        }
    }
    Ok(crypto)
}

fn step(report: &mut Report, what: &str, f: impl FnOnce(&mut Report) -> anyhow::Result<f64>) {
    if let Err(e) = f(report) {
        failed(report, what, &e);
    }
}

/// A scenario that failed is a figure not measured, with the reason: never a made-up number.
fn failed(report: &mut Report, what: &str, e: &anyhow::Error) {
    report.progress(format!("{what} failed: {e:#}"));
    report.add(Figure::missing(
        what,
        "(scenario failed)",
        Unit::Ms,
        &format!("{e:#}"),
    ));
}

fn finish(
    which: &Which,
    sizes: &Sizes,
    report: &Report,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let full = *which == Which::All && !report.quick;
    let (md_path, plot_dir, plot_link) = if full {
        (
            repo().join("BENCHMARKS.md"),
            repo().join("docs/bench"),
            "docs/bench/".to_string(),
        )
    } else {
        let dir = target_dir().join("bench-quick");
        (dir.join("BENCHMARKS.md"), dir.clone(), String::new())
    };
    let plots = match plot::latency(report, &sizes.ns, &plot_dir) {
        Ok(p) => p
            .into_iter()
            .map(|(title, file)| (title, format!("{plot_link}{file}")))
            .collect(),
        Err(e) => {
            report.progress(format!("plots failed: {e:#}"));
            Vec::new()
        }
    };
    let analysis = if full {
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ANALYSIS.md"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let md = report.markdown(&report::machine(), &plots, &analysis);
    report.write(&md_path, &md)?;
    report.progress(format!("written {}", md_path.display()));
    let json_path = json.unwrap_or_else(|| plot_dir.join("figures.json"));
    json::write(report, &json_path)?;
    report.progress(format!("written {}", json_path.display()));
    let missed: Vec<&Figure> = report
        .figures
        .iter()
        .filter(|f| f.met() == Some(false))
        .collect();
    let unmeasured = report.figures.iter().filter(|f| f.value.is_none()).count();
    println!(
        "\n{} figures, {} targets missed, {unmeasured} not measured",
        report.figures.len(),
        missed.len()
    );
    Ok(())
}
