//! The raw-gossipsub limit: plain libp2p nodes (TCP + Noise + Yamux + gossipsub with circle's
//! gossip settings) on the same topology as a circle, with no crypto and no storage.

use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::StreamExt;
use libp2p::{
    Multiaddr, Swarm, gossipsub, noise,
    swarm::{DialError, SwarmEvent},
    tcp, yamux,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::collect::{self, Arrival, Collector, GossipResult, Scenario};

const TOPIC: &str = "circle-bench";

enum Cmd {
    Publish(Vec<u8>, oneshot::Sender<()>),
    Dial(Multiaddr, oneshot::Sender<Result<(), DialError>>),
}

struct RawNode {
    cmds: mpsc::Sender<Cmd>,
    addr: Multiaddr,
    /// How many peers' subscriptions this node has seen.
    subscribed: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<()>,
}

/// Gossipsub as a circle node configures it, without the validation step (nothing to check).
fn config(heartbeat: Duration) -> anyhow::Result<gossipsub::Config> {
    gossipsub::ConfigBuilder::default()
        .heartbeat_interval(heartbeat)
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(blake3::hash(&m.data).as_bytes().to_vec())
        })
        .max_transmit_size(circle_crypto::MAX_ENVELOPE_BYTES + 1024)
        .flood_publish(true)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| anyhow!("gossipsub config: {e}"))
}

fn swarm(heartbeat: Duration) -> anyhow::Result<Swarm<gossipsub::Behaviour>> {
    let config = config(heartbeat)?;
    Ok(libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .context("tcp transport")?
        .with_behaviour(|_| {
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
                .map_err(|e| Box::<dyn std::error::Error + Send + Sync>::from(e.to_string()))
        })
        .map_err(|e| anyhow!("gossipsub behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build())
}

async fn start(
    index: usize,
    heartbeat: Duration,
    arrivals: mpsc::UnboundedSender<Arrival>,
) -> anyhow::Result<RawNode> {
    let mut swarm = swarm(heartbeat)?;
    let topic = gossipsub::IdentTopic::new(TOPIC);
    swarm
        .behaviour_mut()
        .subscribe(&topic)
        .map_err(|e| anyhow!("subscribe: {e}"))?;
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse()?)
        .context("listen on loopback")?;
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    let (cmds, mut rx) = mpsc::channel::<Cmd>(1024);
    let (subs_tx, subscribed) = watch::channel(0usize);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Publish(data, done)) => {
                        if let Err(e) = swarm.behaviour_mut().publish(topic.clone(), data) {
                            eprintln!("raw gossipsub: publish failed: {e}");
                        }
                        let _ = done.send(());
                    }
                    Some(Cmd::Dial(addr, done)) => {
                        let _ = done.send(swarm.dial(addr));
                    }
                    None => break,
                },
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) => {
                        if let Some(k) = collect::number(&message.data) {
                            let _ = arrivals.send((index, k, std::time::Instant::now()));
                        }
                    }
                    SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) => {
                        subs_tx.send_modify(|n| *n += 1);
                    }
                    _ => {}
                },
            }
        }
    });
    Ok(RawNode {
        cmds,
        addr,
        subscribed,
        task,
    })
}

/// Runs the gossip scenario on `n` raw nodes connected along `edges`, node 0 publishing.
pub async fn run(
    n: usize,
    edges: &[(usize, usize)],
    heartbeat: Duration,
    scenario: Scenario,
    progress: impl Fn(String),
) -> anyhow::Result<GossipResult> {
    let (tx, mut collector) = Collector::new();
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        nodes.push(start(i, heartbeat, tx.clone()).await?);
    }
    let mut degree = vec![0usize; n];
    for &(a, b) in edges {
        let (done, rx) = oneshot::channel();
        nodes[a]
            .cmds
            .send(Cmd::Dial(nodes[b].addr.clone(), done))
            .await
            .map_err(|_| anyhow!("raw node {a} stopped"))?;
        rx.await
            .map_err(|_| anyhow!("raw node {a} stopped"))?
            .map_err(|e| anyhow!("raw node {a} could not dial {b}: {e}"))?;
        degree[a] += 1;
        degree[b] += 1;
    }
    // Every node has heard every neighbour's subscription: the same state a circle is in.
    for (i, node) in nodes.iter_mut().enumerate() {
        let want = degree[i];
        tokio::time::timeout(
            Duration::from_secs(30),
            node.subscribed.wait_for(|s| *s >= want),
        )
        .await
        .map_err(|_| anyhow!("raw node {i} did not hear its neighbours' subscriptions"))?
        .map_err(|_| anyhow!("raw node {i} stopped"))?;
    }
    let publisher = nodes[0].cmds.clone();
    let result = collect::run(
        scenario,
        n - 1,
        &mut collector,
        |k| {
            let publisher = publisher.clone();
            async move {
                let (done, rx) = oneshot::channel();
                publisher
                    .send(Cmd::Publish(
                        collect::payload(k, crate::limits::MESSAGE_BYTES),
                        done,
                    ))
                    .await
                    .map_err(|_| anyhow!("raw publisher stopped"))?;
                rx.await.map_err(|_| anyhow!("raw publisher stopped"))
            }
        },
        progress,
    )
    .await;
    for node in nodes {
        node.task.abort();
    }
    result
}
