//! The js-libp2p peer: the same gossip scenario run by `js/gossip.mjs` with js-libp2p and
//! @chainsafe/libp2p-gossipsub, installed by `js/install.sh` from the lockfile.

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde::Deserialize;

use crate::{
    collect::{GossipResult, Scenario},
    report::Report,
};

/// The js peer's folder in this repository.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

#[derive(Deserialize)]
struct Output {
    latencies_ms: Vec<f64>,
    lost: usize,
    throughput: Option<f64>,
    burst_missing: usize,
}

/// Whether Node and npm are here, and the peer is installed (installing it if not). `Err`
/// says plainly why the js figures cannot be measured.
async fn ready(report: &Report) -> Result<(), String> {
    for tool in ["node", "npm"] {
        let found = tokio::process::Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false);
        if !found {
            return Err(format!(
                "not measured: `{tool}` is not installed (the js-libp2p peer needs Node 20+ and npm)"
            ));
        }
    }
    if dir().join("node_modules").exists() {
        return Ok(());
    }
    report.progress("js peer: installing it with bench/js/install.sh (npm ci)");
    let out = tokio::process::Command::new("bash")
        .arg(dir().join("install.sh"))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("not measured: could not run bench/js/install.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "not measured: bench/js/install.sh failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Runs the gossip scenario on `n` js-libp2p nodes connected along `edges`.
pub async fn run(
    n: usize,
    edges: &[(usize, usize)],
    heartbeat: Duration,
    scenario: Scenario,
    report: &Report,
) -> Result<GossipResult, String> {
    ready(report).await?;
    let edges = edges
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(",");
    let child = tokio::process::Command::new("node")
        .arg(dir().join("gossip.mjs"))
        .args(["--n", &n.to_string()])
        .args(["--warmup", &scenario.warmup.to_string()])
        .args(["--count", &scenario.count.to_string()])
        .args(["--burst", &scenario.burst.to_string()])
        .args(["--gap-ms", &scenario.gap.as_millis().to_string()])
        .args(["--heartbeat-ms", &heartbeat.as_millis().to_string()])
        .args(["--patience-ms", &scenario.patience.as_millis().to_string()])
        .args(["--edges", &edges])
        .current_dir(dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("not measured: could not start node: {e}"))?;
    let limit = scenario.patience * 4 + Duration::from_secs(300);
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| format!("not measured: the js peer did not finish within {limit:?}"))?
        .map_err(|e| format!("not measured: the js peer failed: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(format!(
            "not measured: the js peer exited with {}: {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| "not measured: the js peer printed no result".to_string())?;
    let parsed: Output = serde_json::from_str(line)
        .map_err(|e| format!("not measured: the js peer's result does not parse: {e}"))?;
    Ok(GossipResult {
        latencies: parsed.latencies_ms,
        lost: parsed.lost,
        throughput: parsed.throughput,
        burst_missing: parsed.burst_missing,
    })
}
