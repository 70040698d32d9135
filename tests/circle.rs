//! A circle on real nodes: invite, join, share, catch up, and nothing readable on disk.

mod util;

use std::time::Duration;

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
