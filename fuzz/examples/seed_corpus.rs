//! Writes valid messages into fuzz/corpus/<target>/ as a starting corpus.
//!
//! Every decoder checks a signature before anything else, so random bytes almost never get
//! past it; these seeds give the fuzzer real invites, envelopes, records, membership
//! operations and protocol messages to mutate, and make the targets' round-trip checks run.
//! (The `ingest` target reads structured input and needs no seeds.)
//!
//! ```text
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --example seed_corpus
//! ```

use std::{fs, path::Path};

use circle_crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, MemberSecret,
};
use circle_node::{
    Body, Content, Genesis, InvitePolicy, JOIN_PROOF_DOMAIN, JoinRequest, JoinResponse, Op,
    Profile, SealedKey, SyncPage, SyncRequest, SyncResponse, Welcome, seal_key_for,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn envelope(
    author: &MemberSecret,
    key: &CircleKey,
    circle: CircleId,
    seq: u64,
    body: Body,
) -> Envelope {
    let header = Header {
        version: ENVELOPE_VERSION,
        circle,
        epoch: 0,
        author: author.public(),
        seq,
        prev: None,
    };
    let content = Content {
        sent_at: 1_700_000_000_000,
        body,
    };
    Envelope::seal(author, key, header, &content.to_bytes()).unwrap()
}

/// Postcard bytes of a protocol message, as the node's codec writes them.
fn encode<T: serde::Serialize>(message: &T) -> Vec<u8> {
    postcard::to_allocvec(message).unwrap()
}

fn share(text: &str) -> Body {
    Body::Share { text: text.into() }
}

fn main() {
    let alice = MemberSecret::generate();
    let bob = MemberSecret::generate();
    let key = CircleKey::generate();
    let alice_node = b"alice's node";
    let bob_node = b"bob's node";

    let genesis = Genesis::create(
        &alice,
        "Tuesday evening",
        "alice",
        alice_node,
        1_700_000_000_000,
    )
    .unwrap();
    let circle = Genesis::open(&genesis).unwrap().circle;
    let bob_profile = Profile::sign(&bob, circle, "bob", bob_node).unwrap();

    // invite_token
    let plain = Invite::create(&alice, circle, "Tuesday evening", 1_800_000_000, vec![]);
    let with_addrs = Invite::create(
        &alice,
        circle,
        "Día 30 🌱",
        u64::MAX,
        vec![
            "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
                .into(),
            "/ip6/::1/udp/4001/quic-v1".into(),
        ],
    );
    write("invite_token", "plain", plain.to_token().as_bytes());
    write("invite_token", "addrs", with_addrs.to_token().as_bytes());
    let pasted: String = plain
        .to_token()
        .to_uppercase()
        .as_bytes()
        .chunks(40)
        .map(|line| format!("  {}\n", String::from_utf8_lossy(line)))
        .collect();
    write("invite_token", "pasted", pasted.as_bytes());

    // One of each membership operation, as alice's node writes them.
    let join_key = plain.secret.join_key();
    let proof = join_key.sign(JOIN_PROOF_DOMAIN, &bob_profile);
    let bob_opened = Profile::open(&bob_profile).unwrap();
    let ops = [
        (
            "invite",
            Op::Invite {
                id: plain.id(),
                key: join_key.public(),
                expires_at: 1_800_000_000,
                uses: 1,
                bound: Some(bob_node.to_vec()),
            },
        ),
        (
            "admit",
            Op::Admit {
                profile: bob_profile.clone(),
                invite: plain.id(),
                proof,
                epochs: vec![0],
            },
        ),
        ("revoke-invite", Op::RevokeInvite { id: plain.id() }),
        (
            "remove",
            Op::Remove {
                member: bob.public(),
                upto: 3,
            },
        ),
        ("leave", Op::Leave),
        (
            "grant",
            Op::Grant {
                member: bob.public(),
            },
        ),
        (
            "revoke",
            Op::Revoke {
                member: bob.public(),
                upto: 2,
            },
        ),
        (
            "policy",
            Op::Policy {
                invites: InvitePolicy::Members,
            },
        ),
        (
            "rename",
            Op::Rename {
                name: "Thursday evening".into(),
            },
        ),
        (
            "rekey",
            Op::Rekey {
                epoch: 0x5eed,
                keys: vec![
                    (alice.public(), vec![1; 80]),
                    (
                        bob.public(),
                        seal_key_for(&bob_opened, 0x5eed, &key).unwrap().sealed,
                    ),
                ],
            },
        ),
    ];

    // envelope
    let first = envelope(&alice, &key, circle, 1, share("day 30 today"));
    let mut header = first.header().clone();
    header.seq = 2;
    header.epoch = 3;
    header.prev = Some(first.id());
    let second = Envelope::seal(&alice, &key, header, b"not content at all").unwrap();
    let op_envelopes: Vec<Envelope> = ops
        .iter()
        .enumerate()
        .map(|(i, (_, op))| envelope(&alice, &key, circle, 3 + i as u64, Body::Op(op.clone())))
        .collect();
    let long = envelope(&bob, &key, circle, 1, share(&"a long day. ".repeat(250)));
    for (name, e) in [
        ("share", &first),
        ("prev", &second),
        ("admit", &op_envelopes[1]),
        ("long", &long),
    ] {
        write("envelope", name, e.to_bytes());
    }

    // membership: records, contents, operations alone
    write("membership", "genesis", &genesis);
    write("membership", "profile", &bob_profile);
    let share_content = Content {
        sent_at: 5,
        body: share("still here"),
    };
    write("membership", "content-share", &share_content.to_bytes());
    for (name, op) in &ops {
        let content = Content {
            sent_at: 6,
            body: Body::Op(op.clone()),
        };
        write(
            "membership",
            &format!("content-{name}"),
            &content.to_bytes(),
        );
        write("membership", &format!("op-{name}"), &encode(op));
    }

    // sync_messages
    let sync_request = SyncRequest {
        circle,
        member: bob.public(),
        proof: alice.sign("circle/fuzz", b"proof"),
        heads: vec![(alice.public(), 3), (bob.public(), 1)],
        versions: vec![first.id(), long.id()],
        held: vec![(alice.public(), 4, 9)],
    };
    let op_wire: Vec<Vec<u8>> = op_envelopes.iter().map(|e| e.to_bytes().to_vec()).collect();
    let page = SyncResponse::Page(Box::new(SyncPage {
        member: alice.public(),
        proof: alice.sign("circle/fuzz", b"proof"),
        ops: op_wire[..2].to_vec(),
        envelopes: vec![first.to_bytes().to_vec(), long.to_bytes().to_vec()],
        forks: vec![long.to_bytes().to_vec()],
        more: true,
        records: vec![vec![0x0a, 0x24]],
    }));
    let refused = SyncResponse::Refused {
        reason: circle_node::PeerRefusal::NotServed,
    };
    let join_request = JoinRequest {
        invite: plain.id(),
        profile: bob_profile.clone(),
        proof: join_key.sign(JOIN_PROOF_DOMAIN, &bob_profile),
        preview: false,
        returning: None,
        record: None,
    };
    let welcome = Welcome {
        genesis: genesis.clone(),
        ops: op_wire[..2].to_vec(),
        keys: vec![
            seal_key_for(&bob_opened, 0, &key).unwrap(),
            SealedKey {
                epoch: 1,
                sealed: vec![0; 80],
            },
        ],
        peers: vec!["/ip4/192.0.2.7/udp/4001/quic-v1".into()],
    };
    let join_refused = JoinResponse::Refused {
        reason: circle_node::PeerRefusal::InviteUsedUp,
    };
    write("sync_messages", "sync-request", &encode(&sync_request));
    write("sync_messages", "sync-page", &encode(&page));
    write("sync_messages", "sync-refused", &encode(&refused));
    write("sync_messages", "join-request", &encode(&join_request));
    write(
        "sync_messages",
        "join-welcome",
        &encode(&JoinResponse::Welcome(welcome.clone())),
    );
    write("sync_messages", "welcome", &encode(&welcome));
    write("sync_messages", "join-refused", &encode(&join_refused));

    println!("wrote seeds to {}/corpus/", env!("CARGO_MANIFEST_DIR"));
}
