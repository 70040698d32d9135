//! Your circle keeps your backup: a member's node leaves its sealed backup with a home server
//! of its circle, and gets it back on a new machine with the recovery phrase alone.
//!
//! `home` is a real node run as a home server (`--relay`), alice a real member's node. The
//! attackers are plain libp2p nodes written here speaking the backup protocol as a modified
//! client would: a stranger let in while an invite is out, and someone who connects with a
//! holder key's identity but answers the challenge wrongly or with a proof seen before.

mod util;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use circle::crypto::{
    KdfParams, Signature,
    backup::{BackupSealer, read_header},
    recovery::{RecoveryKeys, RecoveryPhrase},
};
use circle::node::{
    BACKUP_PROTOCOL, BackupRequest, BackupResponse, Codec, LeavePart, Multiaddr, NodeConfig,
    PeerId, fetch_backup, leave_proof_bytes,
};
use futures::StreamExt;
use libp2p::{
    Swarm, noise, request_response,
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, yamux,
};
use util::{Member, PATIENCE, disk_contains};

/// A person's recovery phrase and its keys (cheap KDF: tests only).
fn phrase() -> (RecoveryPhrase, Arc<RecoveryKeys>) {
    let phrase = RecoveryPhrase::generate();
    let keys = phrase.keys(KdfParams::TESTS_ONLY).expect("keys");
    (phrase, Arc::new(keys))
}

/// A real backup file of `len` bytes of content (`marker` first), sealed under `keys`.
fn backup_file(keys: &RecoveryKeys, marker: &str, len: usize) -> Vec<u8> {
    let mut holds = BTreeMap::new();
    holds.insert("circles".to_string(), 1);
    let (mut sealer, mut file) = BackupSealer::start(keys, KdfParams::TESTS_ONLY, 1, holds);
    let mut content = marker.as_bytes().to_vec();
    content.extend((0..len.saturating_sub(marker.len())).map(|i| (i % 251) as u8));
    file.extend(sealer.write(&content).expect("seal"));
    file.extend(sealer.finish().expect("finish"));
    file
}

/// A home server and alice, a member of its circle, connected.
async fn home_and_alice(config: NodeConfig) -> (Member, Member, circle::crypto::CircleId) {
    let home = Member::with_config("home", config.with_relay(true)).await;
    let alice = Member::new("alice").await;
    let circle = home.node.create("Thursday night", None).await.unwrap();
    home.bring_in(&circle, &alice).await;
    (home, alice, circle)
}

/// The home server's address, ending in /p2p/<its peer id>.
async fn address_of(member: &Member) -> Multiaddr {
    member.node.status().await.unwrap().listen[0]
        .parse()
        .unwrap()
}

/// alice leaves `backup`, retrying until her node knows `home` as the circle's home server
/// (it learns so once identify has run); returns what the home server said.
async fn leave(
    alice: &Member,
    circle: &circle::crypto::CircleId,
    backup: &[u8],
    keys: &Arc<RecoveryKeys>,
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match alice
            .node
            .leave_backup(circle, backup.to_vec(), keys.clone())
            .await
        {
            Ok(results) => {
                assert_eq!(results.len(), 1, "{results:?}");
                return results[0].refused.clone();
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("no home server"), "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("alice never found the home server: {e}"),
        }
    }
}

#[derive(NetworkBehaviour)]
struct AskerBehaviour {
    backup: request_response::Behaviour<Codec<BackupRequest, BackupResponse>>,
}

/// A plain libp2p node speaking the backup protocol with `home`, as a modified client would.
struct Asker {
    swarm: Swarm<AskerBehaviour>,
    home: PeerId,
}

impl Asker {
    /// Connects to `addr` as `keypair`; None if the dial fails outright. (A connection the
    /// home server's gate refuses is closed by it right after the handshake: the first
    /// question then goes unanswered.)
    async fn connect(keypair: libp2p::identity::Keypair, addr: &Multiaddr) -> Option<Asker> {
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp")
            .with_behaviour(|_| AskerBehaviour {
                backup: request_response::Behaviour::new(
                    [(BACKUP_PROTOCOL, request_response::ProtocolSupport::Full)],
                    request_response::Config::default(),
                ),
            })
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let home = addr
            .iter()
            .find_map(|p| match p {
                libp2p::multiaddr::Protocol::P2p(id) => Some(id),
                _ => None,
            })
            .unwrap();
        swarm.dial(addr.clone()).unwrap();
        let connected = tokio::time::timeout(PATIENCE, async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { .. } => break true,
                    SwarmEvent::OutgoingConnectionError { .. } => break false,
                    // Refused by the gate right after the handshake.
                    SwarmEvent::ConnectionClosed { .. } => break false,
                    _ => {}
                }
            }
        })
        .await
        .expect("the dial ends one way or the other");
        connected.then_some(Asker { swarm, home })
    }

    async fn ask(&mut self, request: BackupRequest) -> BackupResponse {
        match self.try_ask(request).await {
            Ok(response) => response,
            Err(e) => panic!("no answer: {e}"),
        }
    }

    /// The answer, or why none came (the connection closed, the request failed).
    async fn try_ask(&mut self, request: BackupRequest) -> Result<BackupResponse, String> {
        let id = self
            .swarm
            .behaviour_mut()
            .backup
            .send_request(&self.home, request);
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let SwarmEvent::Behaviour(AskerBehaviourEvent::Backup(event)) =
                    self.swarm.select_next_some().await
                {
                    match event {
                        request_response::Event::Message {
                            message:
                                request_response::Message::Response {
                                    request_id,
                                    response,
                                },
                            ..
                        } if request_id == id => return Ok(response),
                        request_response::Event::OutboundFailure {
                            request_id, error, ..
                        } if request_id == id => return Err(error.to_string()),
                        _ => {}
                    }
                }
            }
        })
        .await
        .expect("an answer in time")
    }
}

/// The libp2p identity a restoring machine connects with: the holder key itself.
fn holder_identity(keys: &RecoveryKeys) -> libp2p::identity::Keypair {
    let mut secret = keys.holder_secret();
    libp2p::identity::Keypair::ed25519_from_bytes(&mut secret[..]).unwrap()
}

fn signature(bytes: [u8; 64]) -> Signature {
    Signature::from_bytes(&bytes).unwrap()
}

/// A whole backup in one part, as a modified client sends it: `bytes` left with `home` from
/// the node `from` under `holder`, signed by `signer` (the holder's keys, or someone else's).
fn whole_part(
    circle: circle::crypto::CircleId,
    home: &Member,
    from: &PeerId,
    signer: &RecoveryKeys,
    holder: [u8; 32],
    bytes: Vec<u8>,
) -> BackupRequest {
    let hash = *blake3::hash(&bytes).as_bytes();
    let proof = signer.prove(&leave_proof_bytes(
        &home.node.peer_id().to_bytes(),
        &from.to_bytes(),
        bytes.len() as u64,
        &hash,
    ));
    BackupRequest::Leave(LeavePart {
        circle,
        holder,
        size: bytes.len() as u64,
        hash,
        proof: signature(proof.to_bytes()),
        offset: 0,
        bytes,
    })
}

fn refusal(response: &BackupResponse) -> &str {
    match response {
        BackupResponse::Refused { reason } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_leaves_her_backup_with_the_home_server_and_gets_it_back_with_the_phrase_alone() {
    let (home, alice, circle) = home_and_alice(NodeConfig::local()).await;
    let (phrase, keys) = phrase();
    // Several parts each way.
    let backup = backup_file(&keys, "alice's whole home", 1300 * 1024);
    assert_eq!(leave(&alice, &circle, &backup, &keys).await, None);

    // A new machine: the phrase as she wrote it down, and the home server's address.
    let typed = RecoveryPhrase::parse(&phrase.words()).unwrap();
    let keys_again = typed.keys(KdfParams::TESTS_ONLY).unwrap();
    let mut seen = Vec::new();
    let fetched = fetch_backup(&keys_again, address_of(&home).await, |got, of| {
        seen.push((got, of))
    })
    .await
    .unwrap();
    assert_eq!(fetched.bytes, backup);
    assert_eq!(
        seen.last(),
        Some(&(backup.len() as u64, backup.len() as u64))
    );
    assert!(seen.len() > 1, "progress comes part by part: {seen:?}");
    read_header(&fetched.bytes).expect("a backup file's header");

    // The next backup replaces the first.
    let newer = backup_file(&keys, "alice's home a week later", 10 * 1024);
    assert_eq!(leave(&alice, &circle, &newer, &keys).await, None);
    let fetched = fetch_backup(&keys_again, address_of(&home).await, |_, _| {})
        .await
        .unwrap();
    assert_eq!(fetched.bytes, newer);
    let held = home.circles().store().held_all().unwrap();
    assert_eq!(held.len(), 1, "one backup per member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_over_the_home_servers_limit_is_refused_with_a_clear_line() {
    let (home, alice, circle) =
        home_and_alice(NodeConfig::local().with_backup_limit(256 * 1024)).await;
    let (_, keys) = phrase();
    let big = backup_file(&keys, "too much", 300 * 1024);
    let refused = leave(&alice, &circle, &big, &keys).await.expect("refused");
    assert!(
        refused.contains("keeps backups of up to 256.0 KiB"),
        "{refused}"
    );
    assert!(home.circles().store().held_all().unwrap().is_empty());
    // Within the limit it is kept.
    let small = backup_file(&keys, "enough", 100 * 1024);
    assert_eq!(leave(&alice, &circle, &small, &keys).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_let_in_while_an_invite_is_out_cannot_leave_a_backup() {
    let (home, _alice, circle) = home_and_alice(NodeConfig::local()).await;
    // An invite out opens the door to strangers (for join requests).
    let _invite = home
        .node
        .invite(&circle, Duration::from_secs(3600), 1)
        .await
        .unwrap();
    let stranger = libp2p::identity::Keypair::generate_ed25519();
    let stranger_id = stranger.public().to_peer_id();
    let mut mallory = Asker::connect(stranger, &address_of(&home).await)
        .await
        .expect("the door is open");
    let (_, keys) = phrase();
    let backup = backup_file(&keys, "mallory's junk", 1000);
    let answer = mallory
        .ask(whole_part(
            circle,
            &home,
            &stranger_id,
            &keys,
            keys.holder_key().to_bytes(),
            backup,
        ))
        .await;
    assert!(
        refusal(&answer).contains("only a member's node"),
        "{answer:?}"
    );
    assert!(home.circles().store().held_all().unwrap().is_empty());
    // And it asks for no one's backup: it holds no holder key kept here.
    let answer = mallory.ask(BackupRequest::Challenge).await;
    assert!(
        refusal(&answer).contains("no backup is kept here"),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_proof_a_replayed_proof_and_a_stranger_asking_for_alices_backup_get_nothing() {
    // The door shuts as soon as alice's invite is used.
    let config = NodeConfig::local().with_ended_invite_grace(Duration::ZERO);
    let (home, alice, circle) = home_and_alice(config).await;
    let (_, keys) = phrase();
    let backup = backup_file(&keys, "alice's home", 50 * 1024);
    assert_eq!(leave(&alice, &circle, &backup, &keys).await, None);
    let addr = address_of(&home).await;

    // A stranger (no invite out: the door is shut) is not even let in.
    let stranger = libp2p::identity::Keypair::generate_ed25519();
    if let Some(mut stranger) = Asker::connect(stranger, &addr).await {
        let answer = stranger.try_ask(BackupRequest::Challenge).await;
        assert!(answer.is_err(), "{answer:?}");
    }
    // Nor is another phrase's holder key.
    let (_, other) = phrase();
    let e = fetch_backup(&other, addr.clone(), |_, _| {})
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("keeps no backup for this recovery phrase"),
        "{e}"
    );

    // Someone who connects as alice's holder key (say it leaked, but not the phrase's other
    // half) must still answer the challenge; a wrong answer opens nothing and uses it up.
    let mut holder = Asker::connect(holder_identity(&keys), &addr)
        .await
        .expect("a holder is let in");
    let BackupResponse::Challenge { nonce } = holder.ask(BackupRequest::Challenge).await else {
        panic!("a challenge");
    };
    let wrong = signature(other.prove(&nonce).to_bytes());
    let answer = holder.ask(BackupRequest::Prove { proof: wrong }).await;
    assert!(
        refusal(&answer).contains("proof does not hold"),
        "{answer:?}"
    );
    let answer = holder.ask(BackupRequest::Fetch { offset: 0 }).await;
    assert!(refusal(&answer).contains("prove you hold"), "{answer:?}");
    // The right answer to a used-up challenge is worth nothing either.
    let late = signature(keys.prove(&nonce).to_bytes());
    let answer = holder.ask(BackupRequest::Prove { proof: late }).await;
    assert!(
        refusal(&answer).contains("ask for a challenge first"),
        "{answer:?}"
    );

    // A proof seen once (alice's real restore) replayed: against no challenge, and against a
    // fresh one, it fails.
    let BackupResponse::Challenge { nonce } = holder.ask(BackupRequest::Challenge).await else {
        panic!("a challenge");
    };
    let seen = signature(keys.prove(&nonce).to_bytes());
    let answer = holder.ask(BackupRequest::Prove { proof: seen }).await;
    assert!(
        matches!(answer, BackupResponse::Opened { .. }),
        "{answer:?}"
    );
    let mut replayer = Asker::connect(holder_identity(&keys), &addr)
        .await
        .expect("a holder is let in");
    let answer = replayer.ask(BackupRequest::Prove { proof: seen }).await;
    assert!(
        refusal(&answer).contains("ask for a challenge first"),
        "{answer:?}"
    );
    let BackupResponse::Challenge { .. } = replayer.ask(BackupRequest::Challenge).await else {
        panic!("a challenge");
    };
    let answer = replayer.ask(BackupRequest::Prove { proof: seen }).await;
    assert!(
        refusal(&answer).contains("proof does not hold"),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_servers_store_holds_only_ciphertext_of_the_backup_it_keeps() {
    let (home, alice, circle) = home_and_alice(NodeConfig::local()).await;
    let (_, keys) = phrase();
    let marker = "alice relapsed on saturday, in her backup";
    let backup = backup_file(&keys, marker, 40 * 1024);
    assert_eq!(leave(&alice, &circle, &backup, &keys).await, None);
    let (_, dir) = home.stop().await;

    // The scan finds what it looks for: a slice of the backup, written where it is kept plain.
    let control = tempfile::tempdir().unwrap();
    std::fs::write(control.path().join("copy"), &backup).unwrap();
    let slice = &backup[backup.len() / 2..backup.len() / 2 + 64];
    assert!(disk_contains(control.path(), slice).is_some());

    let holder = keys.holder_key().to_bytes();
    for (what, needle) in [
        ("the backup's content", marker.as_bytes()),
        ("the backup's sealed bytes", slice),
        ("the holder key", &holder[..]),
    ] {
        assert_eq!(
            disk_contains(dir.path(), needle),
            None,
            "{what} found on disk"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_a_member_too_cannot_replace_alices_backup_without_her_phrase() {
    let (home, alice, circle) = home_and_alice(NodeConfig::local()).await;
    let bob = Member::new("bob").await;
    home.bring_in(&circle, &bob).await;
    let (_, keys) = phrase();
    let backup = backup_file(&keys, "alice's home", 20 * 1024);
    assert_eq!(leave(&alice, &circle, &backup, &keys).await, None);

    // bob's node (his own key, a member's) sends junk under alice's holder key, signed with
    // his own phrase.
    let bob_key = libp2p::identity::Keypair::from_protobuf_encoding(
        &bob.circles().store().node_key().unwrap(),
    )
    .unwrap();
    let bob_id = bob_key.public().to_peer_id();
    let mut bobs = Asker::connect(bob_key, &address_of(&home).await)
        .await
        .expect("a member's node is let in");
    let (_, his) = phrase();
    let junk = vec![7u8; 1000];
    let answer = bobs
        .ask(whole_part(
            circle,
            &home,
            &bob_id,
            &his,
            keys.holder_key().to_bytes(),
            junk,
        ))
        .await;
    assert!(
        refusal(&answer).contains("not signed with its holder key"),
        "{answer:?}"
    );
    let fetched = fetch_backup(&keys, address_of(&home).await, |_, _| {})
        .await
        .unwrap();
    assert_eq!(fetched.bytes, backup, "alice's backup is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_asking_for_challenge_after_challenge_from_one_address_runs_out_of_tries() {
    let (home, alice, circle) = home_and_alice(NodeConfig::local()).await;
    let (_, keys) = phrase();
    let backup = backup_file(&keys, "alice's home", 1024);
    assert_eq!(leave(&alice, &circle, &backup, &keys).await, None);
    let mut holder = Asker::connect(holder_identity(&keys), &address_of(&home).await)
        .await
        .expect("a holder is let in");
    // The default: 10 a minute from one IP address.
    for _ in 0..10 {
        let answer = holder.ask(BackupRequest::Challenge).await;
        assert!(
            matches!(answer, BackupResponse::Challenge { .. }),
            "{answer:?}"
        );
    }
    let answer = holder.ask(BackupRequest::Challenge).await;
    assert!(refusal(&answer).contains("too many tries"), "{answer:?}");
}

/// What a fake home server does with a fetch.
#[derive(Clone, Copy)]
enum Cheat {
    /// Sends half the backup, then closes the connection.
    StopsHalfway,
    /// Sends the whole size, but other bytes than it said.
    ChangesBytes,
}

/// A fake home server at 127.0.0.1 that answers a holder as `cheat` says; returns its address.
async fn fake_home_server(backup: Vec<u8>, cheat: Cheat) -> Multiaddr {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| AskerBehaviour {
            backup: request_response::Behaviour::new(
                [(BACKUP_PROTOCOL, request_response::ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
        })
        .expect("behaviour")
        .build();
    let me = *swarm.local_peer_id();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address.with(libp2p::multiaddr::Protocol::P2p(me));
        }
    };
    let size = backup.len() as u64;
    let hash = *blake3::hash(&backup).as_bytes();
    tokio::spawn(async move {
        loop {
            let SwarmEvent::Behaviour(AskerBehaviourEvent::Backup(
                request_response::Event::Message {
                    peer,
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                },
            )) = swarm.select_next_some().await
            else {
                continue;
            };
            let half = backup.len() / 2;
            let answer = match (request, cheat) {
                (BackupRequest::Challenge, _) => BackupResponse::Challenge { nonce: [0; 32] },
                (BackupRequest::Prove { .. }, _) => BackupResponse::Opened { size, hash },
                (BackupRequest::Fetch { offset: 0 }, Cheat::StopsHalfway) => BackupResponse::Part {
                    size,
                    offset: 0,
                    bytes: backup[..half].to_vec(),
                },
                (BackupRequest::Fetch { .. }, Cheat::StopsHalfway) => {
                    let _ = swarm.disconnect_peer_id(peer);
                    continue;
                }
                (BackupRequest::Fetch { offset }, Cheat::ChangesBytes) => {
                    let mut bytes = backup[offset as usize..].to_vec();
                    bytes[0] ^= 1;
                    BackupResponse::Part {
                        size,
                        offset,
                        bytes,
                    }
                }
                _ => continue,
            };
            let _ = swarm.behaviour_mut().backup.send_response(channel, answer);
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_short_or_changed_on_the_way_is_refused_and_nothing_comes_back() {
    let (_, keys) = phrase();
    let backup = backup_file(&keys, "alice's home", 20 * 1024);
    let cut = fake_home_server(backup.clone(), Cheat::StopsHalfway).await;
    let e = fetch_backup(&keys, cut, |_, _| {}).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("closed before the backup was complete"),
        "{e}"
    );
    let changed = fake_home_server(backup, Cheat::ChangesBytes).await;
    let e = fetch_backup(&keys, changed, |_, _| {}).await.unwrap_err();
    assert!(e.to_string().contains("arrived damaged"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_another_circle_of_the_home_server_cannot_leave_a_backup_in_this_one() {
    let (home, _alice, tuesday) = home_and_alice(NodeConfig::local()).await;
    // bob is in the home server's other circle only.
    let bob = Member::new("bob").await;
    let friday = home.node.create("Friday morning", None).await.unwrap();
    home.bring_in(&friday, &bob).await;
    let bob_key = libp2p::identity::Keypair::from_protobuf_encoding(
        &bob.circles().store().node_key().unwrap(),
    )
    .unwrap();
    let bob_id = bob_key.public().to_peer_id();
    let mut bobs = Asker::connect(bob_key, &address_of(&home).await)
        .await
        .expect("a member's node is let in");
    let (_, keys) = phrase();
    let backup = backup_file(&keys, "bob's home", 1000);
    let leave = |circle| {
        whole_part(
            circle,
            &home,
            &bob_id,
            &keys,
            keys.holder_key().to_bytes(),
            backup.clone(),
        )
    };
    let answer = bobs.ask(leave(tuesday)).await;
    assert!(
        refusal(&answer).contains("only a member's node"),
        "{answer:?}"
    );
    assert!(home.circles().store().held_all().unwrap().is_empty());
    // In his own circle it is kept.
    let answer = bobs.ask(leave(friday)).await;
    assert!(
        matches!(answer, BackupResponse::Taken { received } if received == backup.len() as u64),
        "{answer:?}"
    );
}
