//! Stories on a real network: `circle` processes in network namespaces, split apart by the
//! network itself, or able to reach only their home server.
//!
//! Root only: without root (or `ip netns`) each test prints "skipped: needs root and iproute2
//! for network namespaces" and passes; `tests/delivery.rs` tells the partition story in one
//! process instead. Every node listens on port 7117 of its own address and syncs every 2 s;
//! every wait is under a timeout, and the time things took is printed (`--nocapture`).
#![cfg(target_os = "linux")]

mod util;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv4Addr,
    time::Duration,
};

use serde_json::Value;
use util::{
    TUESDAY,
    netns::{Host, Net, holds_for, settles, settles_with},
    text, texts,
};

/// The port every node listens on, each in its own namespace.
const PORT: u16 = 7117;
/// Longest the circle may take to settle after the network changes. A TCP connection that lost
/// packets during a split resumes only at its next retransmission, which backs off up to 2 min;
/// the time taken is printed.
const SETTLE: Duration = Duration::from_secs(90);
/// How long a split must keep the sides apart: several sync rounds.
const HOLD: Duration = Duration::from_secs(6);

/// `circle up` options for a node listening on `address`.
fn up_options(address: Ipv4Addr) -> Vec<String> {
    let listen = format!("/ip4/{address}/tcp/{PORT}");
    ["--listen", &listen, "--no-mdns", "--sync-every", "2s"]
        .map(String::from)
        .to_vec()
}

fn strs(options: &[String]) -> Vec<&str> {
    options.iter().map(String::as_str).collect()
}

/// What was shared, by message id: (author, text).
type Posted = BTreeMap<String, (String, String)>;

/// Everything in `host`'s feed of `circle`, as (id, author, kind, text).
fn held(host: &Host, circle: &str) -> BTreeSet<(String, String, String, String)> {
    host.feed(circle)
        .iter()
        .map(|item| {
            let field = |name: &str| text(&item[name]);
            (
                field("id"),
                field("author_name"),
                field("kind"),
                field("text"),
            )
        })
        .collect()
}

/// The share ids in `host`'s feed of `circle`.
fn share_ids(host: &Host, circle: &str) -> BTreeSet<String> {
    held(host, circle)
        .into_iter()
        .filter(|(_, _, kind, _)| kind == "share")
        .map(|(id, ..)| id)
        .collect()
}

/// `Ok` if each host holds every share in `posted` (`all`) or none of them (`!all`), or who
/// lacks, or has, what.
fn holds(hosts: &[Host], circle: &str, posted: &Posted, all: bool) -> Result<(), String> {
    let mut complaints = Vec::new();
    for host in hosts {
        let ids = share_ids(host, circle);
        let wrong: Vec<_> = posted
            .iter()
            .filter(|(id, _)| ids.contains(*id) != all)
            .map(|(_, said)| said)
            .collect();
        if !wrong.is_empty() {
            let verb = if all { "lacks" } else { "has" };
            complaints.push(format!("{} {verb} {wrong:?}", host.name));
        }
    }
    if complaints.is_empty() {
        Ok(())
    } else {
        Err(complaints.join("\n"))
    }
}

/// `Ok` if every host's feed holds exactly the same items, or who lacks what.
fn same_everywhere(hosts: &[Host], circle: &str) -> Result<(), String> {
    let sets: Vec<_> = hosts.iter().map(|h| held(h, circle)).collect();
    let union: BTreeSet<_> = sets.iter().flatten().cloned().collect();
    let lacking: Vec<String> = hosts
        .iter()
        .zip(&sets)
        .filter(|(_, set)| set.len() != union.len())
        .map(|(host, set)| {
            let missing: Vec<_> = union
                .difference(set)
                .map(|(_, author, kind, text)| format!("{author} {kind} {text:?}"))
                .collect();
            format!("{} lacks {missing:?}", host.name)
        })
        .collect();
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(lacking.join("\n"))
    }
}

/// `Ok` if each host's node is connected to `peers` others, or who is not.
fn connected(hosts: &[Host], peers: u64) -> Result<(), String> {
    let wrong: Vec<String> = hosts
        .iter()
        .map(|h| (h.name, h.connected()))
        .filter(|(_, n)| *n != peers)
        .map(|(name, n)| format!("{name} is connected to {n} nodes"))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n"))
    }
}

/// `author` shares `count` numbered notes into `posted`.
fn post(author: &Host, count: usize, posted: &mut Posted) {
    for n in 1..=count {
        let words = format!("{} note {n}: still here.", author.name);
        let id = author.share(TUESDAY, &words);
        posted.insert(id, (author.name.to_string(), words));
    }
}

/// How a story splits the network between alice and bob (west) and carol, dave and erin
/// (east), and heals it.
#[derive(Clone, Copy, Debug)]
enum Split {
    /// Blackhole routes in every host to the other side's addresses: each host's own network
    /// refuses to send (the sender sees an error at once).
    Blackholes,
    /// The cable between the west and east switches pulled out: packets are lost on the way
    /// and nobody is told, as when a link in the middle of a network fails.
    Cable,
}

const WEST: [&str; 2] = ["alice", "bob"];
const EAST: [&str; 3] = ["carol", "dave", "erin"];

/// Five hosts on 10.X.0.0/24, on one switch or on two joined by a cable.
fn five_hosts(split: Split) -> Option<Net> {
    let everyone = [WEST.as_slice(), EAST.as_slice()].concat();
    match split {
        Split::Blackholes => Net::switched(&everyone),
        Split::Cable => {
            let mut net = Net::new()?;
            for (i, host) in everyone.iter().enumerate() {
                net.add_host(host);
                let side = if WEST.contains(host) { "west" } else { "east" };
                net.plug_into(host, net.address(0, i as u8 + 1), side);
            }
            net.cable("west", "east");
            Some(net)
        }
    }
}

/// How long a story lets things take.
struct Times {
    /// If set: how soon each node must stop counting the other side's nodes as connected.
    notice: Option<Duration>,
    /// How long the split must keep the sides apart (at least).
    hold: Duration,
    /// How soon after healing every node must hold the same messages.
    settle: Duration,
}

/// Five members in one circle; the network splits them 2/3; both sides share; the split
/// heals; every node must then hold exactly the same messages.
fn split_and_heal(split: Split, times: Times) {
    let Some(mut net) = five_hosts(split) else {
        return;
    };
    let everyone = [WEST.as_slice(), EAST.as_slice()].concat();
    let mut hosts: Vec<Host> = everyone.iter().map(|h| Host::init(&net, h)).collect();
    for host in &mut hosts {
        host.up(&strs(&up_options(net.ip_of(host.name))));
    }
    let circle = hosts[0].create(TUESDAY);
    let invite = hosts[0].invite(TUESDAY, &["--uses", "4"]);
    for host in &hosts[1..] {
        assert_eq!(
            host.join(&invite),
            circle,
            "{} joins alice's circle",
            host.name
        );
    }
    let took = settles("every node is connected to the other four", SETTLE, || {
        connected(&hosts, 4)
    });
    println!("{split:?}: fully connected {took:?} after the joins");
    settles(
        "everyone holds the same history before the split",
        SETTLE,
        || same_everywhere(&hosts, &circle),
    );

    match split {
        Split::Blackholes => net.split(&WEST, &EAST),
        Split::Cable => net.set_cable("west", "east", false),
    }
    let (alice_reaches_bob, alice_reaches_carol, erin_reaches_bob) = (
        net.connects("alice", net.ip_of("bob"), PORT),
        net.connects("alice", net.ip_of("carol"), PORT),
        net.connects("erin", net.ip_of("bob"), PORT),
    );
    assert!(alice_reaches_bob, "alice's side still reaches bob's node");
    assert!(
        !alice_reaches_carol,
        "the split keeps alice from carol's node"
    );
    assert!(!erin_reaches_bob, "the split keeps erin from bob's node");

    let (west, east) = hosts.split_at(2);
    let (mut from_west, mut from_east) = (Posted::new(), Posted::new());
    post(&west[0], 3, &mut from_west);
    post(&west[1], 2, &mut from_west);
    post(&east[0], 2, &mut from_east);
    post(&east[1], 2, &mut from_east);
    post(&east[2], 1, &mut from_east);
    let took = settles("each side holds its own side's notes", SETTLE, || {
        holds(west, &circle, &from_west, true)?;
        holds(east, &circle, &from_east, true)
    });
    println!("{split:?}: each side had its own notes after {took:?}");
    if let Some(notice) = times.notice {
        let took = settles(
            "each node counts only its own side as connected",
            notice,
            || {
                connected(west, 1)?;
                connected(east, 2)
            },
        );
        println!("{split:?}: the nodes noticed the split after {took:?}");
    }
    holds_for(
        "the split (neither side gets the other's notes)",
        times.hold,
        || {
            holds(west, &circle, &from_east, false)?;
            holds(east, &circle, &from_west, false)
        },
    );

    match split {
        Split::Blackholes => net.heal(),
        Split::Cable => net.set_cable("west", "east", true),
    }
    // A connection attempt may still fail once with "No route to host": an address lookup
    // (ARP) that began during the split fails just after it heals.
    settles(
        "alice reaches carol's node again",
        Duration::from_secs(10),
        || net.connect("alice", net.ip_of("carol"), PORT),
    );
    let took = settles(
        "all five hold exactly the same messages after healing",
        times.settle,
        || {
            holds(&hosts, &circle, &from_west, true)?;
            holds(&hosts, &circle, &from_east, true)?;
            same_everywhere(&hosts, &circle)
        },
    );
    println!("{split:?}: all five nodes held the same messages {took:?} after healing");
    let posted: BTreeSet<String> = from_west.keys().chain(from_east.keys()).cloned().collect();
    for host in &hosts {
        assert_eq!(
            share_ids(host, &circle),
            posted,
            "{} holds exactly the notes both sides shared",
            host.name
        );
    }
}

/// A short split: seconds of posting and checking.
const SHORT: Times = Times {
    notice: None,
    hold: HOLD,
    settle: SETTLE,
};

#[test]
fn five_nodes_split_by_blackhole_routes_hold_the_same_messages_once_healed() {
    split_and_heal(Split::Blackholes, SHORT);
}

#[test]
fn five_nodes_split_by_a_pulled_cable_hold_the_same_messages_once_healed() {
    split_and_heal(Split::Cable, SHORT);
}

/// Regression: connections across a pulled cable go silent without closing. While nothing
/// closed them (failed pings were ignored), `status` kept counting them for as long as TCP
/// kept trying (about 15 min), the nodes never redialled, syncs over them timed out, and
/// messages moved again only at TCP's next retransmission after the cable was back: 33 s after
/// a 70 s split once, 5 s another time, up to 2 min. About 70 s long: a failed ping is noticed
/// only after two 20 s timeouts.
#[test]
fn nodes_notice_a_split_and_agree_within_seconds_once_it_heals() {
    split_and_heal(
        Split::Cable,
        Times {
            notice: Some(Duration::from_secs(90)),
            hold: HOLD,
            settle: Duration::from_secs(15),
        },
    );
}

#[test]
fn alices_notes_reach_bob_through_the_home_server_though_they_are_never_online_together() {
    let Some(net) = Net::switched(&["home", "alice", "bob"]) else {
        return;
    };
    let mut home = Host::init(&net, "home");
    let mut alice = Host::init(&net, "alice");
    let mut bob = Host::init(&net, "bob");
    for host in [&mut home, &mut alice, &mut bob] {
        host.up(&strs(&up_options(net.ip_of(host.name))));
    }
    let circle = home.create(TUESDAY);
    let invite = home.invite(TUESDAY, &["--uses", "2"]);
    assert_eq!(alice.join(&invite), circle, "alice joins home's circle");
    assert_eq!(bob.join(&invite), circle, "bob joins home's circle");
    settles("alice and bob know each other's nodes", SETTLE, || {
        connected(std::slice::from_ref(&alice), 2)?;
        connected(std::slice::from_ref(&bob), 2)
    });

    bob.stop();
    let mut posted = Posted::new();
    post(&alice, 3, &mut posted);
    settles("home holds alice's notes", SETTLE, || {
        holds(std::slice::from_ref(&home), &circle, &posted, true)
    });
    // alice goes offline before bob comes back: the two are never online together.
    alice.stop();
    bob.up(&strs(&up_options(net.ip_of("bob"))));
    let took = settles("bob gets alice's notes from home", SETTLE, || {
        holds(std::slice::from_ref(&bob), &circle, &posted, true)
    });
    println!("offline delivery: bob had alice's notes {took:?} after coming back");
    assert_eq!(
        share_ids(&bob, &circle),
        posted.keys().cloned().collect(),
        "bob holds exactly alice's notes"
    );
}

/// Waits until `host`'s feed of `circle` holds the share `said` (its id); returns how long.
fn sees(host: &Host, circle: &str, said: &str) -> std::time::Duration {
    let what = format!("{}'s feed shows share {said}", host.name);
    settles(&what, SETTLE, || {
        share_ids(host, circle)
            .contains(said)
            .then_some(())
            .ok_or_else(|| format!("{}'s feed: {:?}", host.name, held(host, circle)))
    })
}

/// The entry for `peer` in a `status --json`'s `key` list ("peers" or "relays").
fn entry<'a>(status: &'a Value, key: &str, peer: &str) -> Option<&'a Value> {
    status[key]
        .as_array()?
        .iter()
        .find(|p| p["peer_id"] == peer)
}

#[test]
fn members_who_cannot_reach_each_other_talk_and_join_through_their_home_server() {
    let Some(mut net) = Net::new() else {
        return;
    };
    for host in ["home", "alice", "bob", "carol"] {
        net.add_host(host);
    }
    // The home server has a link to each of them and forwards nothing between the links.
    let (home_a, alice_ip) = (net.address(1, 1), net.address(1, 2));
    let (home_b, bob_ip) = (net.address(2, 1), net.address(2, 2));
    let (home_c, carol_ip) = (net.address(3, 1), net.address(3, 2));
    net.link("home", home_a, "alice", alice_ip);
    net.link("home", home_b, "bob", bob_ip);
    net.link("home", home_c, "carol", carol_ip);
    net.default_route("alice", home_a);
    net.default_route("bob", home_b);
    net.default_route("carol", home_c);
    net.forwarding("home", false);

    let mut home = Host::init(&net, "home");
    let mut alice = Host::init(&net, "alice");
    let mut bob = Host::init(&net, "bob");
    let home_id = home.up(&[
        "--relay",
        "--listen",
        &format!("/ip4/0.0.0.0/tcp/{PORT}"),
        "--external-address",
        &format!("/ip4/{home_a}/tcp/{PORT}"),
        "--external-address",
        &format!("/ip4/{home_b}/tcp/{PORT}"),
        "--external-address",
        &format!("/ip4/{home_c}/tcp/{PORT}"),
        "--no-mdns",
        "--sync-every",
        "2s",
    ]);
    alice.up(&strs(&up_options(alice_ip)));
    let bob_id = bob.up(&strs(&up_options(bob_ip)));

    // Both reach the home server; neither reaches the other, though bob's node listens.
    assert!(net.connects("alice", home_a, PORT), "alice reaches home");
    assert!(net.connects("bob", home_b, PORT), "bob reaches home");
    assert!(
        !net.connects("alice", bob_ip, PORT),
        "alice must not reach bob's node directly"
    );
    assert!(
        !net.connects("bob", alice_ip, PORT),
        "bob must not reach alice's node directly"
    );
    if let Some(home_answers) = net.pings("alice", home_a) {
        assert!(home_answers, "home answers alice's ping");
        assert_eq!(
            net.pings("alice", bob_ip),
            Some(false),
            "bob must not answer alice's ping"
        );
    }

    let circle = home.create(TUESDAY);
    let invite = home.invite(TUESDAY, &["--uses", "2"]);
    assert_eq!(alice.join(&invite), circle, "alice joins through home");
    assert_eq!(bob.join(&invite), circle, "bob joins through home");

    let said = alice.share(TUESDAY, "alice: made it through the weekend.");
    let took = sees(&bob, &circle, &said);
    println!("relay: bob had alice's share after {took:?}");
    let said = bob.share(TUESDAY, "bob: glad to hear it, alice.");
    let took = sees(&alice, &circle, &said);
    println!("relay: alice had bob's share after {took:?}");

    let took = settles(
        "alice's status shows bob's node, relayed, and a reservation at home",
        SETTLE,
        || {
            let status = alice.status();
            let peer = entry(&status, "peers", &bob_id)
                .ok_or_else(|| format!("no entry for bob's node {bob_id} in {status}"))?;
            if peer["path"] != "relayed" {
                return Err(format!("bob's node is not relayed: {peer}"));
            }
            let relay = entry(&status, "relays", &home_id)
                .ok_or_else(|| format!("no relay entry for home's node {home_id} in {status}"))?;
            if relay["reserved"] != true || !text(&relay["address"]).contains("/p2p-circuit") {
                return Err(format!("no relayed address reserved at home: {relay}"));
            }
            Ok(())
        },
    );
    println!("relay: alice's status showed the relayed path after {took:?}");
    let status = alice.status();
    let bob_entry = entry(&status, "peers", &bob_id).expect("checked above");
    let members: Vec<String> = texts(&bob_entry["members"]);
    assert!(
        members.contains(&"bob".to_string()),
        "alice's status should name bob on his node's entry: {bob_entry}"
    );

    let doctor = alice.run(&["doctor"]);
    let said = format!("{}{}", doctor.stdout, doctor.stderr);
    println!("relay: alice's `circle doctor` says:\n{said}");
    assert!(
        doctor.status.success(),
        "`circle doctor` on alice's node failed ({}):\n{said}",
        doctor.status
    );
    for word in ["relay", "home", "bob"] {
        assert!(
            said.to_lowercase().contains(word),
            "`circle doctor` on alice's node should mention {word}:\n{said}"
        );
    }

    // An invite from alice, whose node only the home server reaches, carries her relayed
    // address; carol, who also reaches only the home server, joins through it.
    let mut carol = Host::init(&net, "carol");
    carol.up(&strs(&up_options(carol_ip)));
    assert!(
        !net.connects("carol", alice_ip, PORT),
        "carol must not reach alice's node directly"
    );
    home.ok(&["policy", TUESDAY, "--invites", "members"]);
    let invite: Value = settles_with("alice's node knows members may invite", SETTLE, || {
        let ran = alice.run(&["--json", "invite", TUESDAY]);
        if !ran.status.success() {
            return Err(ran.stderr);
        }
        serde_json::from_str(&ran.stdout).map_err(|e| format!("{e}: {}", ran.stdout))
    });
    let addresses: Vec<String> = texts(&invite["addresses"]);
    assert!(
        addresses
            .iter()
            .any(|a| a.contains(&format!("/p2p/{home_id}/p2p-circuit/p2p/"))),
        "alice's invite should carry her relayed address at home: {addresses:?}"
    );
    assert_eq!(
        carol.join(&text(&invite["token"])),
        circle,
        "carol joins through alice's relayed address"
    );
    let said = carol.share(TUESDAY, "carol: hello from behind the router.");
    sees(&alice, &circle, &said);
}
