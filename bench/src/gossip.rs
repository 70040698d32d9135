//! Delivery latency and burst throughput in circles of N nodes, next to raw gossipsub and
//! js-libp2p on the same topology; re-keying after a removal in the largest circle.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::{
    circle_net::{self, Net, PATIENCE},
    collect::{self, Collector, GossipResult, Scenario},
    js, limits, raw,
    report::{Figure, Report, Target, Unit, percentile, sorted},
};

/// Heartbeat of [`circle_net::config`], used for the raw and js nodes too.
const HEARTBEAT: Duration = Duration::from_millis(100);

/// The gossip scenario on a circle: the founder shares, every other member reads. Also
/// returns how long each `share` call took on the author's node (seal, sign, store, flush),
/// in ms.
async fn on_circle(
    net: &Net,
    scenario: Scenario,
    report: &Report,
) -> anyhow::Result<(GossipResult, Vec<f64>)> {
    let local = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, mut collector) = Collector::new();
    let watchers: Vec<_> = net.members[1..]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            circle_net::watch_feed(i + 1, m.circles().clone(), net.circle, "g", tx.clone())
        })
        .collect();
    let (node, circle) = (net.members[0].node.clone(), net.circle);
    let result = collect::run(
        scenario,
        net.members.len() - 1,
        &mut collector,
        |k| {
            let (node, local) = (node.clone(), local.clone());
            async move {
                let start = Instant::now();
                node.share(&circle, &circle_net::text("g", k, limits::MESSAGE_BYTES))
                    .await
                    .map_err(|e| anyhow!("share failed: {e}"))?;
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                if let Ok(mut local) = local.lock() {
                    local.push(ms);
                }
                Ok(())
            }
        },
        |s| report.progress(format!("  circle: {s}")),
    )
    .await;
    for w in watchers {
        w.abort();
    }
    let local = local.lock().map(|l| l.clone()).unwrap_or_default();
    Ok((result?, local))
}

fn pct(r: &GossipResult, p: f64) -> Option<f64> {
    percentile(&sorted(r.latencies.clone()), p)
}

/// Runs latency and throughput for each N; the last circle stays up for the re-key scenario
/// and is returned.
pub async fn run(
    ns: &[usize],
    scenario: Scenario,
    report: &mut Report,
) -> anyhow::Result<Option<Net>> {
    let mut last = None;
    for (i, &n) in ns.iter().enumerate() {
        report.progress(format!("delivery: building a circle of {n} nodes"));
        let net = Net::build(n, &|s| report.progress(format!("  {s}"))).await?;
        let edges = net.edges().await?;
        report.progress(format!(
            "delivery N={n}: {} connections; {} messages one at a time, then a burst of {}",
            edges.len(),
            scenario.count,
            scenario.burst
        ));
        let (circle, local) = on_circle(&net, scenario, report).await?;
        report.progress(format!(
            "delivery N={n}: raw gossipsub on the same topology"
        ));
        let raw = raw::run(n, &edges, HEARTBEAT, scenario, |s| {
            report.progress(format!("  raw: {s}"))
        })
        .await?;
        report.progress(format!("delivery N={n}: js-libp2p on the same topology"));
        let js = js::run(n, &edges, HEARTBEAT, scenario, report).await;
        figures(n, &edges, &circle, &raw, &js, report);
        // The author's own part of the delivery time: where the rest of the ratio comes from.
        let local = sorted(local);
        if let Some(p50) = percentile(&local, 50.0) {
            report.add(
                Figure::new(
                    "delivery latency (share to readable)",
                    &format!("of which the author's share call, p50, N={n}"),
                    p50,
                    Unit::Ms,
                )
                .limit("raw gossipsub p50", pct(&raw, 50.0))
                .note(format!(
                    "seal, sign, store and flush before gossiping; p99 {:.2} ms",
                    percentile(&local, 99.0).unwrap_or(0.0)
                )),
            );
        }
        if i + 1 == ns.len() {
            last = Some(net);
        } else {
            net.shutdown().await;
        }
    }
    Ok(last)
}

fn figures(
    n: usize,
    edges: &[(usize, usize)],
    circle: &GossipResult,
    raw: &GossipResult,
    js: &Result<GossipResult, String>,
    report: &mut Report,
) {
    let full = n * (n - 1) / 2;
    let topo = if edges.len() == full {
        "full mesh".to_string()
    } else {
        format!("{} of {full} links", edges.len())
    };
    for (p, name) in [(50.0, "p50"), (95.0, "p95"), (99.0, "p99")] {
        let scenario = "delivery latency (share to readable)";
        let label = format!("{name}, N={n} ({topo})");
        let Some(v) = pct(circle, p) else {
            report.add(Figure::missing(
                scenario,
                &label,
                Unit::Ms,
                "no message arrived",
            ));
            continue;
        };
        let mut f = Figure::new(scenario, &label, v, Unit::Ms)
            .limit(&format!("raw gossipsub {name}"), pct(raw, p));
        if p == 99.0 {
            f = f.target(Target::ratio_at_most(2.0, "p99 ≤ 2x raw gossipsub"));
        }
        if circle.lost > 0 {
            f = f.note(format!(
                "{} messages not delivered to all in time",
                circle.lost
            ));
        }
        report.add(f);
    }
    let scenario = "gossip burst throughput";
    let label = format!("N={n}, 1 KiB, every member holds all");
    match circle.throughput {
        Some(t) => report.add(
            Figure::new(scenario, &label, t, Unit::PerSec)
                .limit("raw gossipsub", raw.throughput)
                .note("each share is sealed, signed and flushed to disk before it is sent"),
        ),
        None => report.add(Figure::missing(
            scenario,
            &label,
            Unit::PerSec,
            &format!(
                "{} arrivals missing after the timeout",
                circle.burst_missing
            ),
        )),
    }
    let scenario = "js-libp2p peer (ratio against circle)";
    match js {
        Ok(js) => {
            for (p, name) in [(50.0, "p50"), (99.0, "p99")] {
                if let Some(v) = pct(js, p) {
                    report.add(
                        Figure::new(scenario, &format!("latency {name}, N={n}"), v, Unit::Ms)
                            .limit(&format!("circle {name}"), pct(circle, p)),
                    );
                }
            }
            match js.throughput {
                Some(t) => report.add(
                    Figure::new(
                        scenario,
                        &format!("burst throughput, N={n}"),
                        t,
                        Unit::PerSec,
                    )
                    .limit("circle", circle.throughput),
                ),
                None => report.add(Figure::missing(
                    scenario,
                    &format!("burst throughput, N={n}"),
                    Unit::PerSec,
                    &format!("{} arrivals missing after the timeout", js.burst_missing),
                )),
            }
            report
                .samples
                .insert(format!("js-libp2p N={n}"), js.latencies.clone());
        }
        Err(why) => report.add(Figure::missing(scenario, &format!("N={n}"), Unit::Ms, why)),
    }
    report
        .samples
        .insert(format!("circle N={n}"), circle.latencies.clone());
    report
        .samples
        .insert(format!("raw gossipsub N={n}"), raw.latencies.clone());
}

/// Removes members one after another from the circle; each time, how long until every
/// remaining member holds the new key. Compared with raw gossipsub's p99 at that size.
pub async fn rekey(mut net: Net, removals: usize, report: &mut Report) -> anyhow::Result<()> {
    let n = net.members.len();
    let raw_p99 = report
        .samples
        .get(&format!("raw gossipsub N={n}"))
        .and_then(|s| percentile(&sorted(s.clone()), 99.0));
    let mut times = Vec::new();
    for r in 0..removals {
        if net.members.len() < 3 {
            break;
        }
        let victim = net
            .members
            .pop()
            .ok_or_else(|| anyhow!("no member to remove"))?;
        let founder = &net.members[0];
        report.progress(format!(
            "re-key: removing {} from a circle of {}",
            victim.name,
            net.members.len() + 1
        ));
        let start = Instant::now();
        founder.node.remove(&net.circle, &victim.name).await?;
        let epochs = founder.circles().store().keys(&net.circle)?.len();
        let others: Vec<_> = net.members[1..]
            .iter()
            .map(|m| m.circles().clone())
            .collect();
        let circle = net.circle;
        let done = circle_net::each_until(&others, PATIENCE, move |c| {
            Ok(c.store().keys(&circle)?.len() >= epochs)
        })
        .await?;
        let last = done.into_iter().max().unwrap_or(start);
        times.push(last.duration_since(start).as_secs_f64() * 1000.0);
        victim.node.shutdown().await;
        report.progress(format!("  removal {}: {:.1} ms", r + 1, times[r]));
    }
    let times = sorted(times);
    if let Some(&worst) = times.last() {
        report.add(
            Figure::new(
                "re-key after removal",
                &format!(
                    "N={n}: slowest of {} removals, until every remaining member holds the new key",
                    times.len()
                ),
                worst,
                Unit::Ms,
            )
            .limit(&format!("raw gossipsub p99 at N={n}"), raw_p99)
            .note(format!(
                "each: {}",
                times
                    .iter()
                    .map(|t| format!("{t:.1} ms"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    net.shutdown().await;
    Ok(())
}
