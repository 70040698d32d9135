//! A circle on real nodes: invite, join, share, catch up, and nothing readable on disk.

mod util;

use std::time::Duration;

use circle::crypto::CircleId;
use util::{Member, disk_contains, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_invite_join_share_and_everyone_sees_everything() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;

    let circle = alice.node.create("Tuesday evening", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    alice.bring_in(&circle, &carol).await;

    for m in [&alice, &bob, &carol] {
        eventually(&format!("{} sees three members", m.name), || async {
            m.circles().members(&circle).unwrap().len() == 3
        })
        .await;
    }

    alice.node.share(&circle, "Day 30 today.").await.unwrap();
    bob.node
        .share(&circle, "Proud of you, alice.")
        .await
        .unwrap();
    carol
        .node
        .share(&circle, "Rough night, but I called my sponsor.")
        .await
        .unwrap();

    for m in [&alice, &bob, &carol] {
        eventually(&format!("{} sees all three shares", m.name), || async {
            m.shares(&circle).len() == 3
        })
        .await;
        let feed = m.circles().feed(&circle, 0, None).unwrap();
        let by_carol = feed
            .iter()
            .find(|i| i.text.starts_with("Rough night"))
            .unwrap();
        assert_eq!(by_carol.author_name, "carol");
        assert_eq!(
            by_carol.author,
            carol.circles().my_key(&circle).unwrap().to_string()
        );
    }
    let members = bob.circles().members(&circle).unwrap();
    let roles: Vec<_> = members
        .iter()
        .map(|m| (m.name.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [("alice", "admin"), ("bob", "member"), ("carol", "member")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_offline_during_hundreds_of_messages_catches_up_after_restart() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Morning check-in", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;

    let (name, dir) = bob.stop().await;
    const MISSED: usize = 600;
    for i in 0..MISSED {
        alice
            .node
            .share(&circle, &format!("message {i}"))
            .await
            .unwrap();
    }

    let bob = Member::restart(name, dir).await;
    eventually("bob has caught up on every missed message", || async {
        bob.shares(&circle).len() == MISSED
    })
    .await;
    let texts = bob.shares(&circle);
    for i in 0..MISSED {
        assert!(
            texts.contains(&format!("message {i}")),
            "missing message {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_written_offline_is_sent_when_the_node_next_runs() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Evenings", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;

    let (name, dir) = bob.stop().await;
    {
        // Like `circle share` with no node running: straight into the store.
        let store = circle::node::Home::new(dir.path())
            .with_cheap_kdf_for_tests()
            .open(util::PASSPHRASE, Duration::from_secs(5), |_| {})
            .unwrap();
        let circles = circle::node::Circles::load(store).unwrap();
        circles.share(&circle, "written while offline").unwrap();
    }
    let bob = Member::restart(name, dir).await;
    eventually("alice receives bob's offline share", || async {
        alice
            .shares(&circle)
            .contains(&"written while offline".to_string())
    })
    .await;
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_history_from_a_member_when_the_inviter_is_gone() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let carol = Member::new("carol").await;
    let circle = alice.node.create("Weekend", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    alice.node.share(&circle, "before carol").await.unwrap();
    eventually("bob has alice's share", || async {
        bob.shares(&circle).len() == 1
    })
    .await;

    // Bob invites carol (as admin? no: only admins invite in this version), so alice invites,
    // carol joins, then alice leaves the network: carol must still get bob's later share.
    alice.bring_in(&circle, &carol).await;
    let (_name, _dir) = alice.stop().await;
    bob.node.share(&circle, "after alice left").await.unwrap();
    eventually("carol has both shares via bob", || async {
        let s = carol.shares(&circle);
        s.contains(&"before carol".to_string()) && s.contains(&"after alice left".to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_whose_nodes_speak_only_quic_join_and_talk() {
    let quic = || {
        circle::node::NodeConfig::local()
            .with_listen(vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()])
    };
    let alice = Member::with_config("alice", quic()).await;
    let bob = Member::with_config("bob", quic()).await;
    let status = alice.node.status().await.unwrap();
    assert!(
        status.listen.iter().all(|a| a.contains("/quic-v1/")),
        "{:?}",
        status.listen
    );

    let circle = alice.node.create("Over QUIC", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    bob.node.share(&circle, "hello over quic").await.unwrap();
    eventually("alice receives bob's share over QUIC", || async {
        alice
            .shares(&circle)
            .contains(&"hello over quic".to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_node_keeps_the_plaintext_of_a_share_on_disk() {
    let alice = Member::new("alice-secret-nick").await;
    let bob = Member::new("bob-secret-nick").await;
    let circle = alice.node.create("Hidden Circle Name", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    let text = "I relapsed on Saturday and told no one";
    alice.node.share(&circle, text).await.unwrap();
    eventually("bob has the share", || async {
        bob.shares(&circle).len() == 1
    })
    .await;
    // The share's id is kept in clear (it names no one): the scan below must find it, so it
    // is able to find what is stored.
    let alice_key = alice.circles().my_key(&circle).unwrap();
    let seq = alice.circles().store().head(&circle, &alice_key).unwrap();
    let sealed = alice
        .circles()
        .store()
        .envelope_at(&circle, &alice_key, seq)
        .unwrap()
        .unwrap();
    let id = sealed.id();

    let (_, alice_dir) = alice.stop().await;
    let (_, bob_dir) = bob.stop().await;
    for dir in [&alice_dir, &bob_dir] {
        assert!(
            disk_contains(dir.path(), id.as_bytes()).is_some(),
            "the share's id should be on disk"
        );
        for needle in [
            text,
            "Hidden Circle Name",
            "alice-secret-nick",
            "bob-secret-nick",
        ] {
            assert_eq!(
                disk_contains(dir.path(), needle.as_bytes()),
                None,
                "{needle:?} found on disk"
            );
        }
    }
}

/// Every form in which `bytes` could sit in a file: raw, base32 (the text form of ids and
/// keys, either case) and hex.
fn forms(bytes: &[u8]) -> Vec<Vec<u8>> {
    let base32 = circle::crypto::text::encode(bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        bytes.to_vec(),
        base32.clone().into_bytes(),
        base32.to_uppercase().into_bytes(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
    ]
}

/// What someone who takes a node's store (a stolen laptop, a copied backup) can read without
/// the passphrase: not which circle it is in, not who is in it, not whose nodes it talks to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_store_names_no_circle_no_member_and_no_fellow_members_node() {
    let alice = Member::new("alice").await;
    let bob = Member::new("bob").await;
    let circle = alice.node.create("Wednesday mornings", None).await.unwrap();
    alice.bring_in(&circle, &bob).await;
    alice.node.share(&circle, "Day 12.").await.unwrap();
    bob.node.share(&circle, "Glad you are here.").await.unwrap();
    eventually("each holds the other's share", || async {
        alice.shares(&circle).len() == 2 && bob.shares(&circle).len() == 2
    })
    .await;
    let keys = [
        alice.circles().my_key(&circle).unwrap(),
        bob.circles().my_key(&circle).unwrap(),
    ];
    let peers = [util::peer_of(alice.circles()), util::peer_of(bob.circles())];

    let (_, alice_dir) = alice.stop().await;
    let (_, bob_dir) = bob.stop().await;
    // The store is what is taken: HOME/store.
    for (me, dir) in [(0, &alice_dir), (1, &bob_dir)] {
        let store = dir.path().join("store");
        let other = peers[1 - me];
        let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
        for form in forms(circle.as_bytes()) {
            needles.push(("the circle id".into(), form));
        }
        for key in &keys {
            for form in forms(&key.to_bytes()) {
                needles.push((format!("member key {key}"), form));
            }
        }
        for form in forms(&other.to_bytes()) {
            needles.push((format!("peer id {other}"), form));
        }
        needles.push((format!("peer id {other}"), other.to_base58().into_bytes()));
        for (what, needle) in needles {
            assert_eq!(
                disk_contains(&store, &needle),
                None,
                "{what} found in a stolen store, as {}",
                String::from_utf8_lossy(&needle)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_a_port_in_use_is_refused_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let on_port = || {
        circle::node::NodeConfig::local()
            .with_listen(vec![format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()])
    };
    let _first = Member::with_config("alice", on_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = circle::node::Home::new(dir.path())
        .with_cheap_kdf_for_tests()
        .init(util::PASSPHRASE, "bob")
        .unwrap();
    let circles = circle::node::Circles::load(store).unwrap();
    let err = circle::node::Node::start(circles, on_port())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("port {port} is already in use")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_address_goes_first_in_invites() {
    // A documentation address (RFC 5737): only read from the invite, never dialled.
    let external = "/ip4/203.0.113.7/tcp/7117";
    let config = circle::node::NodeConfig::local().with_external(vec![external.parse().unwrap()]);
    let alice = Member::with_config("alice", config).await;
    let circle = alice.node.create("Home server", None).await.unwrap();
    let invite = alice
        .node
        .invite(&circle, Duration::from_secs(60), 1)
        .await
        .unwrap();
    let first = invite.addrs.first().expect("the invite has addresses");
    assert!(
        first.starts_with(&format!("{external}/p2p/{}", alice.node.peer_id())),
        "{:?}",
        invite.addrs
    );
    assert!(
        invite
            .addrs
            .iter()
            .any(|a| a.starts_with("/ip4/127.0.0.1/")),
        "listen addresses follow"
    );
}

/// The ids the format 2 fixture was made with (tests/fixtures/format-2-home/README.md).
const FIXTURE_CIRCLE: &str = "sdtex5pweo537cncns2sw5fhfoun4u552gbjffvqbs6423zosf6a";
const FIXTURE_KEYS: [&str; 2] = [
    "tkq5pwny2rnnhkdftyxfyxwtygnab4eihqq3fyi3m4pwzxeff5yq",
    "ys55km3furo3vwvaw7eihzewgl32325ve3ixj3wtc2wknj6umx7q",
];
const FIXTURE_BOB_NODE: &str = "12D3KooWRXVmbyiUBJqAaiBDXjPvML23xsmw6LWK7Bd9U6qDjPVr";

/// Copies the format 2 fixture's store to `to`.
fn copy_fixture(to: &std::path::Path) {
    let from =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-2-home/store");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        // sled's `blobs/` is empty (git keeps no empty directory; sled makes it again).
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Everything alice wrote and kept in the fixture is there, read through the store `store`.
fn fixture_is_whole(store: circle::node::Store) {
    use circle::node::now_ms;
    assert_eq!(store.nickname().unwrap().as_deref(), Some("alice"));
    let peers: Vec<String> = store.peers().unwrap().into_iter().map(|(p, _)| p).collect();
    assert!(peers.contains(&FIXTURE_BOB_NODE.to_string()), "{peers:?}");
    assert!(
        store
            .address_records()
            .unwrap()
            .iter()
            .any(|(p, _)| p == FIXTURE_BOB_NODE),
        "bob's signed address record is kept"
    );
    let circles = circle::node::Circles::load(store).unwrap();
    let circle: CircleId = FIXTURE_CIRCLE.parse().unwrap();
    let list = circles.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].id.as_str(), list[0].name.as_str()),
        (FIXTURE_CIRCLE, "Format two")
    );
    let mut members: Vec<String> = circles
        .members(&circle)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    members.sort();
    assert_eq!(members, ["alice", "bob"]);
    let feed = circles.feed(&circle, 0, None).unwrap();
    let texts: Vec<&str> = feed.iter().map(|i| i.text.as_str()).collect();
    for said in ["Day 40 and still here.", "Proud of you."] {
        assert!(texts.contains(&said), "{said:?} is in the feed: {texts:?}");
    }
    assert!(
        !texts.iter().any(|t| t.contains("Delete this one")),
        "the withdrawn share stays withdrawn: {texts:?}"
    );
    let mine = circles.checkins(&circle, now_ms()).unwrap().checkins;
    assert_eq!(
        mine.iter()
            .map(|c| c.checkin.note.as_deref())
            .collect::<Vec<_>>(),
        [Some("only for me: a good week")]
    );
    // Writing goes on where the chain left off.
    circles.share(&circle, "Day 41.").unwrap();
}

/// A store of format 2 names its circle, both members and bob's node in clear: the fixture
/// must, or the scan after the upgrade proves nothing.
fn fixture_needles() -> Vec<(String, Vec<u8>)> {
    let circle: CircleId = FIXTURE_CIRCLE.parse().unwrap();
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("the circle id".into(), circle.as_bytes().to_vec()),
        ("bob's node".into(), FIXTURE_BOB_NODE.as_bytes().to_vec()),
    ];
    for key in FIXTURE_KEYS {
        let key: circle::crypto::MemberKey = key.parse().unwrap();
        needles.push((format!("member key {key}"), key.to_bytes().to_vec()));
    }
    needles
}

#[test]
fn a_home_of_the_old_layout_opens_with_everything_in_it_and_then_names_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    copy_fixture(&store_dir);
    for (what, needle) in fixture_needles() {
        assert!(
            disk_contains(&store_dir, &needle).is_some(),
            "the fixture holds {what}"
        );
    }
    // A person's home: the real argon2id parameters, not the tests' cheap ones.
    let home = circle::node::Home::new(dir.path());
    assert!(matches!(
        home.open(b"not the passphrase", Duration::from_secs(5), |_| {}),
        Err(circle::node::Error::WrongPassphrase)
    ));
    let store = home
        .open(util::PASSPHRASE, Duration::from_secs(5), |_| {})
        .unwrap();
    assert_eq!(store.kdf().unwrap(), circle::crypto::KdfParams::RECOMMENDED);
    fixture_is_whole(store);
    for gone in ["store.old", "store.upgrading"] {
        assert!(!dir.path().join(gone).exists(), "{gone} is cleared");
    }
    for (what, needle) in fixture_needles() {
        assert_eq!(
            disk_contains(&store_dir, &needle),
            None,
            "{what} is still in the store"
        );
    }
    // Opened again, it is already upgraded.
    let store = home
        .open(util::PASSPHRASE, Duration::from_secs(10), |_| {})
        .unwrap();
    assert_eq!(store.kdf().unwrap(), circle::crypto::KdfParams::RECOMMENDED);
    assert_eq!(store.circles().unwrap().len(), 1);
}

/// The fixture's circle was made before membership version 4: alice's old node let bob in in
/// the old format (content tag 1). Opened by this version, alice's node, its most senior
/// admin, writes one current operation (a new key) so that the old format's door closes
/// (docs/PROTOCOL.md, section 6.5, "The old format"); opened again, nothing more.
#[tokio::test]
async fn an_old_circle_opened_by_its_founders_upgraded_node_gets_one_current_operation() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(&dir.path().join("store"));
    let store = circle::node::Home::new(dir.path())
        .open(util::PASSPHRASE, Duration::from_secs(5), |_| {})
        .unwrap();
    let circle: CircleId = FIXTURE_CIRCLE.parse().unwrap();
    let alice: circle::crypto::MemberKey = FIXTURE_KEYS[0].parse().unwrap();
    let circles = circle::node::Circles::load(store.clone()).unwrap();
    let before = store.max_seq(&circle, &alice).unwrap();
    for _ in 0..2 {
        drop(circle::node::Node::offline(circles.clone()).unwrap());
    }
    assert_eq!(store.max_seq(&circle, &alice).unwrap(), before + 1);
    fixture_is_whole(store);
}

#[test]
fn an_upgrade_cut_off_between_its_two_renames_finds_the_old_store_whole() {
    let dir = tempfile::tempdir().unwrap();
    // What a crash after `store/` became `store.old/` leaves: no `store/`, a half-built
    // `store.upgrading/`.
    copy_fixture(&dir.path().join("store.old"));
    std::fs::create_dir_all(dir.path().join("store.upgrading")).unwrap();
    std::fs::write(dir.path().join("store.upgrading/db"), b"half").unwrap();
    let home = circle::node::Home::new(dir.path());
    assert!(home.is_initialized());
    let store = home
        .open(util::PASSPHRASE, Duration::from_secs(5), |_| {})
        .unwrap();
    fixture_is_whole(store);
    assert!(!dir.path().join("store.old").exists());
    assert!(!dir.path().join("store.upgrading").exists());
}

#[test]
fn a_vault_sealed_under_cheaper_argon2id_parameters_is_sealed_again_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let cheap = circle::node::Home::new(dir.path()).with_cheap_kdf_for_tests();
    let store = cheap.init(util::PASSPHRASE, "sam").unwrap();
    assert_eq!(store.kdf().unwrap(), circle::crypto::KdfParams::TESTS_ONLY);
    let circle = circle::node::Circles::load(store)
        .unwrap()
        .create("Fridays", None)
        .unwrap();
    let home = circle::node::Home::new(dir.path());
    let store = home
        .open(util::PASSPHRASE, Duration::from_secs(10), |_| {})
        .unwrap();
    assert_eq!(store.kdf().unwrap(), circle::crypto::KdfParams::RECOMMENDED);
    assert_eq!(store.nickname().unwrap().as_deref(), Some("sam"));
    let circles = circle::node::Circles::load(store).unwrap();
    assert_eq!(circles.list().unwrap()[0].id, circle.to_string());
    drop(circles);
    assert!(!dir.path().join("store.old").exists());
}
