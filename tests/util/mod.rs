//! Helpers for multi-node tests: real nodes on 127.0.0.1, real sled stores in temp dirs.
#![allow(dead_code)]

pub mod fixture;
pub mod forge;

use std::{future::Future, path::Path, time::Duration};

use circle::crypto::CircleId;
use circle::node::{Circles, Home, Node, NodeConfig};
use tempfile::TempDir;

/// The passphrase every test node uses.
pub const PASSPHRASE: &[u8] = b"tests only: a long enough passphrase";
/// Generous bound for anything that crosses the network.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A member with a node running in this process.
pub struct Member {
    pub name: String,
    pub dir: TempDir,
    pub node: Node,
}

impl Member {
    /// A new member with a fresh home and a running node.
    pub async fn new(name: &str) -> Member {
        Member::with_config(name, NodeConfig::local()).await
    }

    /// A new member whose node runs with `config`.
    pub async fn with_config(name: &str, config: NodeConfig) -> Member {
        init_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Home::new(dir.path())
            .with_cheap_kdf_for_tests()
            .init(PASSPHRASE, name)
            .expect("init");
        let node = Node::start(Circles::load(store).expect("load"), config)
            .await
            .expect("start");
        Member {
            name: name.to_string(),
            dir,
            node,
        }
    }

    /// Stops the node; the home stays.
    pub async fn stop(self) -> (String, TempDir) {
        self.node.shutdown().await;
        (self.name, self.dir)
    }

    /// Starts the node again on an existing home.
    pub async fn restart(name: String, dir: TempDir) -> Member {
        let store = Home::new(dir.path())
            .with_cheap_kdf_for_tests()
            .open(PASSPHRASE, Duration::from_secs(10), |_| {})
            .expect("reopen");
        let node = start(store).await;
        Member { name, dir, node }
    }

    pub fn circles(&self) -> &Circles {
        self.node.circles()
    }

    /// Texts of the shares in this member's feed of `circle`.
    pub fn shares(&self, circle: &CircleId) -> Vec<String> {
        self.circles()
            .feed(circle, 0, None)
            .expect("feed")
            .into_iter()
            .filter(|i| i.kind == circle::node::contract::Kind::Share)
            .map(|i| i.text)
            .collect()
    }

    /// Invites and admits `other` into `circle`; returns when `other` holds the circle.
    pub async fn bring_in(&self, circle: &CircleId, other: &Member) {
        let invite = self
            .node
            .invite(circle, Duration::from_secs(3600), 1)
            .await
            .expect("invite");
        let joined = other
            .node
            .join(&invite.to_token(), None)
            .await
            .expect("join");
        assert_eq!(&joined, circle);
    }
}

/// Logs to the test output when CIRCLE_LOG is set (e.g. `CIRCLE_LOG=circle_node=debug`).
pub fn init_logging() {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("CIRCLE_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
}

async fn start(store: circle::node::Store) -> Node {
    let circles = Circles::load(store).expect("load");
    Node::start(circles, NodeConfig::local())
        .await
        .expect("start")
}

/// Waits until `check` holds, or panics with `what` after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {PATIENCE:?} waiting until {what}");
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Whether `needle` occurs in any file under `dir`.
pub fn disk_contains(dir: &Path, needle: &[u8]) -> Option<std::path::PathBuf> {
    files_under(dir).into_iter().find(|f| {
        let bytes = std::fs::read(f).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

// In-process nodes (used by tests/hostile.rs): a node's `Circles` in a temp home and no
// network. Messages move between them by hand through the same calls the network task makes,
// so a test needs no sockets and no waiting.

/// A node's circles in a fresh home, with no network running.
pub fn offline_node(nick: &str) -> (Circles, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Home::new(dir.path())
        .with_cheap_kdf_for_tests()
        .init(PASSPHRASE, nick)
        .expect("init");
    (Circles::load(store).expect("load"), dir)
}

/// The peer id of an in-process node.
pub fn peer_of(circles: &Circles) -> circle::node::PeerId {
    circle::node::PeerId::from_bytes(circles.node_id()).expect("a node id is a peer id")
}

/// `admin` invites `joiner` into `circle` and admits it through the real join path (invite,
/// join request, admission, welcome). Returns what `admin` wrote: the invite's registration
/// and the admission, which the other members' nodes need.
pub fn admit_offline(
    admin: &Circles,
    circle: &CircleId,
    joiner: &Circles,
    nick: &str,
) -> Vec<circle::crypto::Envelope> {
    use circle::node::{JoinResponse, now_secs};
    let (invite, mut written) = admin
        .create_invite(circle, now_secs() + 3600, 1, None, vec![])
        .expect("invite");
    let secret = joiner.join_secret(&invite).expect("join secret");
    let request =
        Circles::join_request(&invite, &secret, nick, joiner.node_id()).expect("join request");
    match admin
        .admit(&request, now_secs(), vec![], joiner.node_id())
        .expect("admit")
    {
        (JoinResponse::Welcome(welcome), admitted) => {
            let joined = joiner
                .accept_welcome(&invite, secret, &welcome)
                .expect("welcome");
            assert_eq!(&joined, circle);
            written.extend(admitted);
            written
        }
        (JoinResponse::Refused { reason }, _) => panic!("{nick} was refused: {reason}"),
        (JoinResponse::Preview(_), _) => panic!("a join was answered as a preview"),
    }
}

/// `to` catches up with `from` on `circle` through the real sync exchange (request, answer,
/// proof of the answer, page). Returns how many messages were new to `to`.
pub fn sync_offline(to: &Circles, from: &Circles, circle: &CircleId) -> usize {
    use circle::node::SyncResponse;
    let (local, remote) = (peer_of(to), peer_of(from));
    let mut new = 0;
    loop {
        let request = to
            .sync_request(circle, &local, &remote)
            .expect("sync request");
        let page = match from
            .answer_sync(&request, &local, &remote, vec![])
            .expect("answer")
        {
            SyncResponse::Page(page) => page,
            SyncResponse::Refused { reason } => panic!("sync refused: {reason}"),
        };
        to.check_page(circle, &page, &remote, &local)
            .expect("a page from a member");
        let got = to
            .apply_sync_page(circle, &page.ops, &page.envelopes, &page.forks)
            .expect("apply page");
        new += got;
        // As a node does: a page that stored nothing new is not followed up.
        if !page.more || got == 0 {
            return new;
        }
    }
}

/// Waits until `check` returns `Ok`, or panics after `timeout` with `what` and the last
/// complaint `check` gave (say who lacks what). Returns how long it took, for tests that
/// report convergence times.
pub async fn settles<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let start = tokio::time::Instant::now();
    loop {
        let complaint = match check().await {
            Ok(()) => return start.elapsed(),
            Err(complaint) => complaint,
        };
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting until {what}:\n{complaint}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
