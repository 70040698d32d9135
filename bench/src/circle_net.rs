//! Circles of real nodes in this process, on loopback: building them, and watching what each
//! member can read.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};
use circle_crypto::CircleId;
use circle_node::{Circles, Home, Node, NodeConfig};
use tempfile::TempDir;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::collect::Arrival;

/// The passphrase of every benchmark node.
pub const PASSPHRASE: &[u8] = b"benchmarks only: a long enough passphrase";

/// How long anything that crosses the network may take before the run gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Node settings for the benchmarks: [`NodeConfig::local`] (loopback, 100 ms heartbeat, 2 s
/// sync), with the per-author gossip limit (a flood defence of 10 messages a second) raised,
/// so bursts measure the stack rather than the limiter, and the door's per-address limits
/// raised (every member joins from 127.0.0.1, all at once).
pub fn config() -> NodeConfig {
    NodeConfig::local()
        .with_author_limit(1_000_000, 1_000_000)
        .with_door_limits(100_000, 1_000_000)
}

/// A member with a node running in this process.
pub struct Member {
    pub name: String,
    pub dir: TempDir,
    pub node: Node,
}

impl Member {
    /// A new member with a fresh home and a running node.
    pub async fn new(name: &str) -> anyhow::Result<Member> {
        let dir = tempfile::tempdir().context("could not make a temporary home")?;
        let store = Home::new(dir.path())
            .init(PASSPHRASE, name)
            .with_context(|| format!("could not set up {name}'s home"))?;
        let node = Node::start(Circles::load(store)?, config())
            .await
            .with_context(|| format!("could not start {name}'s node"))?;
        Ok(Member {
            name: name.into(),
            dir,
            node,
        })
    }

    /// Stops the node; the home stays.
    /// Stops the node as `circle up` does on Ctrl-C: shuts it down, lets go of its store and
    /// settles it (`Home::settle`), so its next start does not read this run's log again.
    pub async fn stop(self) -> (String, TempDir) {
        self.node.shutdown().await;
        let Member { name, dir, node } = self;
        drop(node);
        let home = Home::new(dir.path());
        let settled =
            tokio::task::spawn_blocking(move || home.settle(Duration::from_secs(5))).await;
        if !matches!(settled, Ok(Ok(()))) {
            crate::report::progress(format!("{name}'s store was not settled"));
        }
        (name, dir)
    }

    /// Opens a stopped member's home again (the store, not yet the network).
    pub fn reopen(dir: &TempDir) -> anyhow::Result<Circles> {
        let store = Home::new(dir.path())
            .open(PASSPHRASE, Duration::from_secs(10), |_| {})
            .context("could not reopen a home")?;
        Ok(Circles::load(store)?)
    }

    pub fn circles(&self) -> &Circles {
        self.node.circles()
    }
}

/// A circle of members' nodes; `members[0]` founded it.
pub struct Net {
    pub circle: CircleId,
    pub members: Vec<Member>,
}

impl Net {
    /// Starts `n` nodes, founds a circle on the first and lets the others in through one
    /// invite, then waits until every node is connected to every other.
    pub async fn build(n: usize, progress: &impl Fn(String)) -> anyhow::Result<Net> {
        let founder = Member::new("m0").await?;
        let circle = founder.node.create("benchmarks", None).await?;
        let uses = u32::try_from(n).unwrap_or(u32::MAX);
        let invite = founder
            .node
            .invite(&circle, Duration::from_secs(3600), uses)
            .await?
            .to_token();
        let mut members = vec![founder];
        for i in 1..n {
            let m = Member::new(&format!("m{i}")).await?;
            let joined = tokio::time::timeout(PATIENCE, m.node.join(&invite, None))
                .await
                .map_err(|_| anyhow!("m{i} could not join within {PATIENCE:?}"))??;
            anyhow::ensure!(joined == circle, "m{i} joined another circle");
            members.push(m);
            if (i + 1) % 8 == 0 {
                progress(format!("{}/{n} members in", i + 1));
            }
        }
        let net = Net { circle, members };
        net.wait_connected(progress).await?;
        Ok(net)
    }

    /// Waits until every node knows every member and is connected to every other node.
    pub async fn wait_connected(&self, progress: &impl Fn(String)) -> anyhow::Result<()> {
        let n = self.members.len();
        let start = Instant::now();
        loop {
            let mut worst = usize::MAX;
            for m in &self.members {
                let members = m.circles().members(&self.circle)?.len();
                let connected = m.node.status().await?.connected;
                worst = worst.min(connected.min(members.saturating_sub(1)));
            }
            if worst >= n - 1 {
                progress(format!(
                    "{n} nodes fully connected after {:.1} s",
                    start.elapsed().as_secs_f64()
                ));
                return Ok(());
            }
            if start.elapsed() > PATIENCE * 2 {
                progress(format!(
                    "not fully connected after {:?} (a node has {worst} of {} peers): measuring as is",
                    PATIENCE * 2,
                    n - 1
                ));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The connections between the nodes, as index pairs (a < b).
    pub async fn edges(&self) -> anyhow::Result<Vec<(usize, usize)>> {
        let index: HashMap<String, usize> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.node.peer_id().to_string(), i))
            .collect();
        let mut edges = Vec::new();
        for (a, m) in self.members.iter().enumerate() {
            for peer in m.node.status().await?.peers {
                if let Some(&b) = index.get(&peer.peer_id)
                    && a < b
                {
                    edges.push((a, b));
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        Ok(edges)
    }

    pub async fn shutdown(self) {
        for m in self.members {
            m.node.shutdown().await;
        }
    }
}

/// The text of benchmark message `k`: a tag, the number, then filler to `len` bytes.
pub fn text(tag: &str, k: u64, len: usize) -> String {
    let mut t = format!("bench {tag} {k:012} ");
    while t.len() < len {
        t.push('.');
    }
    t.truncate(len);
    t
}

/// The number in a benchmark message's text with `tag`.
pub fn number(tag: &str, text: &str) -> Option<u64> {
    let rest = text
        .strip_prefix("bench ")?
        .strip_prefix(tag)?
        .strip_prefix(' ')?;
    rest.get(..12)?.parse().ok()
}

/// Reports every benchmark message with `tag` as soon as `circles` can read it: each time a
/// message is stored, the new part of the feed is read (decrypted) as a person's feed would be.
pub fn watch_feed(
    index: usize,
    circles: Circles,
    circle: CircleId,
    tag: &'static str,
    arrivals: mpsc::UnboundedSender<Arrival>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut changed = circles.watch();
        let mut cursor = 0;
        loop {
            let items = match circles.feed(&circle, cursor, None) {
                Ok(items) => items,
                Err(e) => {
                    eprintln!("feed of node {index} failed: {e}");
                    return;
                }
            };
            let now = Instant::now();
            for item in items {
                cursor = cursor.max(item.cursor);
                if let Some(k) = number(tag, &item.text)
                    && arrivals.send((index, k, now)).is_err()
                {
                    return;
                }
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    })
}

/// Waits until `check` holds on every node of `circles`, re-checking each time one stores a
/// message; returns when it came to hold on each (in no order), or fails after `timeout`.
pub async fn each_until(
    circles: &[Circles],
    timeout: Duration,
    check: impl Fn(&Circles) -> anyhow::Result<bool> + Clone + Send + 'static,
) -> anyhow::Result<Vec<Instant>> {
    let mut tasks = tokio::task::JoinSet::new();
    for c in circles {
        let (c, check) = (c.clone(), check.clone());
        tasks.spawn(async move {
            let mut changed = c.watch();
            loop {
                if check(&c)? {
                    return Ok::<Instant, anyhow::Error>(Instant::now());
                }
                if changed.changed().await.is_err() {
                    anyhow::bail!("a node stopped");
                }
            }
        });
    }
    // Dropping the set on a timeout stops the watchers still waiting.
    let all = async {
        let mut times = Vec::new();
        while let Some(r) = tasks.join_next().await {
            times.push(r.map_err(|e| anyhow!("a watcher failed: {e}"))??);
        }
        Ok::<_, anyhow::Error>(times)
    };
    match tokio::time::timeout(timeout, all).await {
        Ok(r) => r,
        Err(_) => anyhow::bail!("not every node got there within {timeout:?}"),
    }
}
