//! Never a fork of yourself: a node restored from an old backup catches up with its own
//! messages from another member before it numbers anything, keeps what the person writes
//! meanwhile and sends it after; the old machine's node, when it comes back, is told it was
//! replaced and stops writing. No number is reused, nothing is lost, nobody sees a fork.
//!
//! Real nodes on 127.0.0.1 with real sled homes in temp dirs. A "restore" is what restoring
//! an old backup leaves: a copy of alice's whole home taken while her node was stopped, with
//! the `catching-up` file in it.

mod util;

use std::{path::Path, time::Duration};

use circle::crypto::CircleId;
use circle::node::{
    CATCHING_UP_FILE, CATCHING_UP_REFUSAL, CircleLog, Circles, Home, Ingest, Node, NodeConfig,
    REPLACED_REFUSAL, contract::Kind,
};
use tempfile::TempDir;
use util::{Member, PASSPHRASE, admit_offline, eventually, offline_node, sync_offline};

/// Copies a stopped node's home, every file (what a backup holds).
fn copy_home(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_home(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Opens a home's circles as `circle up` does, reading the `catching-up` file.
fn open_circles(home: &Path) -> Circles {
    let store = Home::new(home)
        .with_cheap_kdf_for_tests()
        .open(PASSPHRASE, Duration::from_secs(10), |_| {})
        .expect("open");
    let circles = Circles::load(store).expect("load");
    circles.catch_up_after_restore(home).expect("catch up");
    circles
}

/// `circle`'s log as `node` holds it.
fn log_of(node: &Circles, circle: &CircleId) -> CircleLog {
    node.log_health()
        .unwrap()
        .into_iter()
        .find(|l| l.id == circle.to_string())
        .expect("the circle's log")
}

/// alice's shares in `node`'s feed of `circle`, as (seq, text, fork), by seq.
fn alices_shares(node: &Circles, circle: &CircleId, alice: &str) -> Vec<(u64, String, bool)> {
    let mut out: Vec<_> = node
        .feed(circle, 0, None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == Kind::Share && i.author == alice)
        .map(|i| (i.seq, i.text, i.fork))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_backup_restored_after_more_writes_catches_up_then_sends_and_the_old_laptop_stops() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Tuesday", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    let alice_key = alice.circles().my_key(&circle).unwrap().to_string();

    alice
        .node
        .share(&circle, "before the backup")
        .await
        .unwrap();
    eventually("bob has the share from before the backup", || async {
        bob.shares(&circle)
            .contains(&"before the backup".to_string())
    })
    .await;

    // The backup: her whole home, copied while her node is stopped.
    let (name, home) = alice.stop().await;
    let backup = TempDir::new().unwrap();
    copy_home(home.path(), backup.path());
    let alice = Member::restart(name, home).await;

    // She writes more, bob gets it, and her laptop dies.
    for text in ["after the backup", "and after that"] {
        alice.node.share(&circle, text).await.unwrap();
    }
    eventually("bob has what she wrote after the backup", || async {
        let shares = bob.shares(&circle);
        shares.contains(&"after the backup".to_string())
            && shares.contains(&"and after that".to_string())
    })
    .await;
    let (name, old_home) = alice.stop().await;

    // The restore of the old backup, on another machine.
    std::fs::write(backup.path().join(CATCHING_UP_FILE), b"").unwrap();
    {
        // She writes at once, with no network yet: kept, not numbered, not sent.
        let restored = open_circles(backup.path());
        assert!(restored.is_catching_up(&circle));
        let sent = restored
            .share(&circle, "written while catching up")
            .unwrap();
        assert!(
            sent.is_empty(),
            "nothing is numbered or sent while catching up"
        );
        let log = log_of(&restored, &circle);
        assert!(log.catching_up && log.queued == 1, "{log:?}");
    }
    // Kept on disk: still there after a restart.
    let restored = open_circles(backup.path());
    assert_eq!(restored.queued_count(&circle), 1);
    let restored = Node::start(restored, NodeConfig::local()).await.unwrap();

    eventually(
        "the restored node caught up from bob and sent what it kept",
        || async {
            bob.shares(&circle)
                .contains(&"written while catching up".to_string())
        },
    )
    .await;
    assert!(!restored.circles().is_catching_up(&circle));
    assert_eq!(restored.circles().queued_count(&circle), 0);
    assert!(
        !backup.path().join(CATCHING_UP_FILE).exists(),
        "the marker goes once every circle is caught up"
    );

    // Nothing lost, no number used twice, and no fork anywhere.
    let expected = [
        "before the backup",
        "after the backup",
        "and after that",
        "written while catching up",
    ];
    for (who, node) in [
        ("bob", bob.circles()),
        ("the restored node", restored.circles()),
    ] {
        let shares = alices_shares(node, &circle, &alice_key);
        let texts: Vec<&str> = shares.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(texts, expected, "{who} holds every share of hers, in order");
        assert!(shares.iter().all(|(_, _, fork)| !fork), "{who}: {shares:?}");
        let mut seqs: Vec<u64> = shares.iter().map(|(s, _, _)| *s).collect();
        seqs.dedup();
        assert_eq!(seqs.len(), expected.len(), "{who}: no number reused");
        assert!(
            log_of(node, &circle).complete(),
            "{who}: {:?}",
            log_of(node, &circle)
        );
    }

    // The old laptop comes back online: it reads its own chain written elsewhere and stops.
    let old = Member::restart(name, old_home).await;
    eventually("the old laptop's node was told it was replaced", || async {
        old.circles().is_replaced()
    })
    .await;
    let refused = old
        .node
        .share(&circle, "from the old laptop")
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), REPLACED_REFUSAL);
    assert!(log_of(old.circles(), &circle).replaced);
    eventually("the old laptop's node has left the network", || async {
        old.node.status().await.is_ok_and(|s| s.connected == 0)
    })
    .await;

    // The restored node goes on writing; bob gets it, and nobody sees a fork.
    restored
        .share(&circle, "still here, on the new laptop")
        .await
        .unwrap();
    eventually("bob has what the restored node wrote after", || async {
        bob.shares(&circle)
            .contains(&"still here, on the new laptop".to_string())
    })
    .await;
    assert!(!restored.circles().is_replaced());
    for (who, node) in [
        ("bob", bob.circles()),
        ("the restored node", restored.circles()),
        ("the old laptop", old.circles()),
    ] {
        let log = log_of(node, &circle);
        assert!(
            log.authors.iter().all(|a| a.forks.is_empty()),
            "{who}: {log:?}"
        );
    }
    assert!(log_of(bob.circles(), &circle).complete());
}

/// The old laptop wrote while offline, after the backup, and comes back after the restored
/// copy moved: the two messages share a number (a fork nobody can prevent: both were signed
/// before either knew of the other). The restored copy, which wrote `Moved`, goes on writing;
/// the old one stops at the `Moved`. Nodes with no network: messages move by hand through the
/// calls the network task makes.
#[test]
fn the_copy_that_moved_keeps_writing_and_the_old_laptop_that_wrote_offline_stops() {
    let (alice, alice_dir) = offline_node("alice");
    let (bob, _bob_dir) = offline_node("bob");
    let circle = alice.create("Tuesday", None).unwrap();
    admit_offline(&alice, &circle, &bob, "bob");
    alice.share(&circle, "before the backup").unwrap();
    sync_offline(&bob, &alice, &circle);
    let me = alice.my_key(&circle).unwrap();
    drop(alice);

    let backup = TempDir::new().unwrap();
    copy_home(alice_dir.path(), backup.path());
    let old = open_circles(alice_dir.path());
    let offline = old
        .share(&circle, "written on the old laptop, offline")
        .unwrap();

    std::fs::write(backup.path().join(CATCHING_UP_FILE), b"").unwrap();
    let restored = open_circles(backup.path());
    assert!(restored.share(&circle, "kept").unwrap().is_empty());
    // No change to the circle while catching up (an invite is one).
    let refused = restored
        .create_invite(&circle, circle::node::now_secs() + 3600, 1, None, vec![])
        .map(|_| ())
        .expect_err("an invite is refused while catching up");
    assert_eq!(refused.to_string(), CATCHING_UP_REFUSAL);
    sync_offline(&restored, &bob, &circle);
    let sent = restored.caught_up(&circle).unwrap();
    assert_eq!(sent.len(), 2, "its Moved, then what it kept");
    assert!(!backup.path().join(CATCHING_UP_FILE).exists());
    for envelope in &sent {
        assert_eq!(bob.ingest(envelope).unwrap(), Ingest::New);
    }

    // The old laptop's offline message reaches the restored copy: another version of the
    // number its Moved took. It comes from an older copy: the restored one goes on.
    assert_eq!(offline[0].header().author, me);
    assert_eq!(restored.ingest(&offline[0]).unwrap(), Ingest::Fork);
    assert!(!restored.is_replaced());
    assert!(!restored.share(&circle, "still writing").unwrap().is_empty());

    // The restored copy's Moved reaches the old laptop: it stops, for good.
    assert_eq!(old.ingest(&sent[0]).unwrap(), Ingest::Fork);
    assert!(old.is_replaced());
    let refused = old
        .share(&circle, "one more from the old laptop")
        .unwrap_err();
    assert_eq!(refused.to_string(), REPLACED_REFUSAL);
    drop(old);
    let old = open_circles(alice_dir.path());
    assert!(old.is_replaced(), "replaced survives a restart");
    assert!(old.share(&circle, "after a restart").is_err());
}
