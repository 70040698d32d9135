//! Collecting arrivals (which node got which message when) and the gossip scenario's two
//! measurements, shared by circle and raw gossipsub.

use std::{
    collections::HashMap,
    future::Future,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

/// (receiving node, message number, when it was readable there)
pub type Arrival = (usize, u64, Instant);

/// Arrivals from every receiver, kept until asked for.
pub struct Collector {
    rx: mpsc::UnboundedReceiver<Arrival>,
    seen: HashMap<u64, Vec<(usize, Instant)>>,
}

impl Collector {
    pub fn new() -> (mpsc::UnboundedSender<Arrival>, Collector) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            tx,
            Collector {
                rx,
                seen: HashMap::new(),
            },
        )
    }

    /// Waits until message `k` has reached `receivers` nodes; returns when it reached each, or
    /// `None` after `timeout`.
    pub async fn all_of(
        &mut self,
        k: u64,
        receivers: usize,
        timeout: Duration,
    ) -> Option<Vec<Instant>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.seen.get(&k).map_or(0, Vec::len) >= receivers {
                return self
                    .seen
                    .remove(&k)
                    .map(|v| v.into_iter().map(|(_, t)| t).collect());
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((node, n, at))) => self.seen.entry(n).or_default().push((node, at)),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits until every message in `range` has reached `receivers` nodes; returns when the
    /// last one arrived, or how many arrivals were missing after `timeout`.
    pub async fn all_in(
        &mut self,
        range: std::ops::Range<u64>,
        receivers: usize,
        timeout: Duration,
    ) -> Result<Instant, usize> {
        let deadline = tokio::time::Instant::now() + timeout;
        let want = (range.end - range.start) as usize * receivers;
        let mut got = 0;
        let mut last = None;
        for k in range.clone() {
            if let Some(v) = self.seen.remove(&k) {
                got += v.len();
                last = v.iter().map(|(_, t)| *t).chain(last).max();
            }
        }
        while got < want {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((_, n, at))) if range.contains(&n) => {
                    got += 1;
                    last = Some(last.map_or(at, |l: Instant| l.max(at)));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return Err(want - got),
            }
        }
        last.ok_or(0)
    }

    /// Forgets everything collected so far (late duplicates of earlier rounds).
    pub fn clear(&mut self) {
        while self.rx.try_recv().is_ok() {}
        self.seen.clear();
    }
}

/// What the gossip scenario measured on one stack.
#[derive(Clone, Debug, Default)]
pub struct GossipResult {
    /// Delivery latencies in ms, every (message, receiver) pair.
    pub latencies: Vec<f64>,
    /// Messages that did not reach every receiver in time.
    pub lost: usize,
    /// Messages per second from the first send until every receiver held the whole burst.
    pub throughput: Option<f64>,
    /// Arrivals still missing when the burst timed out.
    pub burst_missing: usize,
}

/// How the gossip scenario runs: `warmup` unmeasured messages, `count` measured one at a
/// time, then a burst of `burst` back to back.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub warmup: u64,
    pub count: u64,
    pub burst: u64,
    /// Pause between latency messages, so each is measured on a quiet network.
    pub gap: Duration,
    pub patience: Duration,
}

/// Runs the scenario: `send(k)` sends message `k` (and returns once the stack took it);
/// arrivals come in through `collector` from `receivers` nodes.
pub async fn run<F, Fut>(
    scenario: Scenario,
    receivers: usize,
    collector: &mut Collector,
    mut send: F,
    progress: impl Fn(String),
) -> anyhow::Result<GossipResult>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut out = GossipResult::default();
    let total = scenario.warmup + scenario.count;
    for k in 0..total {
        let start = Instant::now();
        send(k).await?;
        match collector.all_of(k, receivers, scenario.patience).await {
            Some(times) if k >= scenario.warmup => out.latencies.extend(
                times
                    .iter()
                    .map(|t| t.duration_since(start).as_secs_f64() * 1000.0),
            ),
            Some(_) => {}
            None => out.lost += 1,
        }
        if (k + 1) % 50 == 0 {
            progress(format!("{}/{total} latency messages", k + 1));
        }
        tokio::time::sleep(scenario.gap).await;
    }
    collector.clear();
    if scenario.burst > 0 {
        let first = total;
        let range = first..first + scenario.burst;
        let start = Instant::now();
        for k in range.clone() {
            send(k).await?;
        }
        progress(format!("burst of {} sent", scenario.burst));
        match collector
            .all_in(range, receivers, scenario.patience * 4)
            .await
        {
            Ok(last) => {
                let secs = last.duration_since(start).as_secs_f64();
                out.throughput = Some(scenario.burst as f64 / secs.max(1e-9));
            }
            Err(missing) => out.burst_missing = missing,
        }
    }
    Ok(out)
}

/// The payload of message `k`: its number, then filler up to `len` bytes.
pub fn payload(k: u64, len: usize) -> Vec<u8> {
    let mut v = vec![b'.'; len.max(8)];
    v[..8].copy_from_slice(&k.to_be_bytes());
    v
}

/// The number in a payload made by [`payload`].
pub fn number(data: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(..8)?.try_into().ok()?))
}
