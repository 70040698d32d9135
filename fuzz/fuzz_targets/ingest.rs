//! The node's message handler: `Circles::ingest` and `Circles::apply_page`, fed what peers
//! could send.
//!
//! One node (carol's) runs for the whole fuzzing process. For each input it joins a fresh
//! circle that alice founded: alice registered an invite and admitted bob and carol through
//! it, and carol's node takes the welcome, as a real join does; four strangers are not in it
//! until someone admits them. A fresh circle per input keeps inputs independent, so a crash
//! replays from its input alone. The fuzzer then writes envelopes as any of these people: in
//! this circle or another, under the right key and epoch or not, with any content or any
//! membership operation (invites, admissions through real or wrong invite keys, removals,
//! roles, new key epochs, some sealed to carol); or sends raw bytes. For each envelope the
//! target works out what the node must answer from what its store holds, checks the answer,
//! checks that exactly the `New` and `Fork` (another version of a held number) envelopes are
//! stored, that a second delivery is a `Duplicate` or gets the same answer, that a new key
//! sealed to carol is taken, and that the node's members are those its stored operations
//! derive.
//!
//! `Circle::expected` restates the checks of node/src/circles/ingest.rs in order; when those
//! rules change, change it with them.

#![no_main]

use std::{collections::BTreeMap, path::PathBuf, sync::OnceLock};

use arbitrary::Arbitrary;
use circle_crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, InviteSecret, MemberKey,
    MemberSecret, MessageId,
};
use circle_node::{
    Acked, Body, Circles, Content, Genesis, Home, Ingest, InvitePolicy, JOIN_PROOF_DOMAIN,
    MAX_FORK_VERSIONS, Membership, Op, Profile, Welcome, epoch_of, key_commitment, now_ms,
    now_secs, seal_key_for, seal_new_key_for,
};
use libfuzzer_sys::fuzz_target;

struct World {
    /// alice, bob, carol (the node's own member), then the strangers.
    people: Vec<MemberSecret>,
    /// The founding key of every circle here.
    key: CircleKey,
    invites: Vec<InviteSecret>,
    node: Circles,
}

/// One input's circle, as carol's node joined it.
struct Circle<'w> {
    world: &'w World,
    genesis: Genesis,
    id: CircleId,
    carol: Profile,
}

const STRANGERS: usize = 4;
const SLOTS: usize = 4;
/// Most envelopes one input writes: the store outlives inputs, keep each input quick.
const MAX_ENVELOPES: usize = 8;

static DIR: OnceLock<PathBuf> = OnceLock::new();
static WORLD: OnceLock<World> = OnceLock::new();

extern "C" fn remove_store() {
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn person(n: u8) -> MemberSecret {
    MemberSecret::from_bytes(&[n; 64]).unwrap()
}

/// The key of a key epoch other than the founding one, as whoever starts it would pick it.
fn epoch_key(epoch: u64) -> CircleKey {
    CircleKey::from_bytes(&blake3::derive_key(
        "circle fuzz epoch key",
        &epoch.to_be_bytes(),
    ))
    .unwrap()
}

/// An envelope of alice's, as her node would write it.
fn alice_writes(
    alice: &MemberSecret,
    circle: CircleId,
    key: &CircleKey,
    seq: u64,
    prev: Option<MessageId>,
    op: Op,
) -> Envelope {
    let header = Header {
        version: ENVELOPE_VERSION,
        circle,
        epoch: 0,
        author: alice.public(),
        seq,
        prev,
    };
    let content = Content {
        sent_at: now_ms(),
        body: Body::Op(op),
    };
    Envelope::seal(alice, key, header, &content.to_bytes()).unwrap()
}

fn world() -> &'static World {
    WORLD.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("circle-fuzz-ingest-")
            .tempdir()
            .unwrap()
            .keep();
        DIR.set(dir.clone()).unwrap();
        // libFuzzer ends a run with exit(): the store goes with it.
        unsafe { libc::atexit(remove_store) };
        let store = Home::new(&dir)
            .with_cheap_kdf_for_tests()
            .init(b"fuzz passphrase", "carol")
            .unwrap();
        World {
            people: (1..=3 + STRANGERS as u8).map(person).collect(),
            key: CircleKey::from_bytes(&[9; 32]).unwrap(),
            invites: (1..=SLOTS as u8)
                .map(|n| InviteSecret::from_bytes(&[n; 32]).unwrap())
                .collect(),
            node: Circles::load(store).unwrap(),
        }
    })
}

impl World {
    /// A new circle founded by alice, with bob and carol admitted through invite slot 0 (now
    /// used up), joined by carol's node.
    fn join_new_circle(&self) -> Circle<'_> {
        let (alice, bob, carol) = (&self.people[0], &self.people[1], &self.people[2]);
        let wire = Genesis::create(alice, "Fuzzed circle", "alice", b"alice's node", now_ms());
        let wire = wire.unwrap();
        let genesis = Genesis::open(&wire).unwrap();
        let id = genesis.circle;
        let slot = &self.invites[0];
        let admission = |who: &MemberSecret, name: &str, node: &[u8]| {
            let profile = Profile::sign(who, id, name, node).unwrap();
            Op::Admit {
                proof: slot.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
                profile,
                invite: slot.id(),
                epochs: vec![0],
            }
        };
        let register = Op::Invite {
            id: slot.id(),
            key: slot.join_key().public(),
            expires_at: u64::MAX,
            uses: 2,
            bound: None,
        };
        let carol_node = self.node.node_id().to_vec();
        let mut ops = Vec::new();
        let mut prev = None;
        for (seq, op) in [
            register,
            admission(bob, "bob", b"bob's node"),
            admission(carol, "carol", &carol_node),
        ]
        .into_iter()
        .enumerate()
        {
            let e = alice_writes(alice, id, &self.key, seq as u64 + 1, prev, op);
            prev = Some(e.id());
            ops.push(e.to_bytes().to_vec());
        }
        let carol_profile = Profile::sign(carol, id, "carol", &carol_node).unwrap();
        let carol_profile = Profile::open(&carol_profile).unwrap();
        let welcome = Welcome {
            genesis: wire,
            ops,
            keys: vec![seal_key_for(&carol_profile, 0, &self.key).unwrap()],
            peers: vec![],
        };
        let invite = Invite::create(alice, id, "Fuzzed circle", now_secs() + 3600, vec![]);
        self.node
            .accept_welcome(&invite, carol.clone(), &welcome)
            .unwrap();
        Circle {
            world: self,
            genesis,
            id,
            carol: carol_profile,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Bytes from gossip.
    Wire(Vec<u8>),
    /// Envelopes from gossip, one after another.
    Sealed(Vec<Spec>),
    /// One sync page: envelopes carrying operations, then any envelopes.
    Page {
        ops: Vec<Spec>,
        envelopes: Vec<Spec>,
    },
}

/// One envelope to write. The fields are bytes read with a bias, so most envelopes are
/// well-formed and reach the checks past the first (authorship, epoch, decryption).
#[derive(Arbitrary, Debug)]
struct Spec {
    /// Mostly alice, bob or carol; sometimes anyone (strangers too).
    author: u8,
    /// Mostly 0 (the founding epoch), sometimes one of a few, rarely `any_epoch`.
    epoch: u8,
    any_epoch: u64,
    /// Mostly none; `Flaw::OTHER_CIRCLE` or `Flaw::WRONG_KEY` sometimes.
    flaw: u8,
    /// Small, so authors run into their own sequence numbers.
    seq: u8,
    prev: Option<[u8; 32]>,
    plain: Plain,
}

struct Flaw;

impl Flaw {
    const OTHER_CIRCLE: u8 = 0xf0;
    const WRONG_KEY: u8 = 0xf1;
}

#[derive(Arbitrary, Debug)]
enum Plain {
    Bytes(Vec<u8>),
    Share {
        sent_at: Time,
        text: String,
    },
    /// An operation, in content tag 1 (`seen: None`, as before membership version 4) or
    /// inside an `Acked` with what its author claims to have seen (by person, up to what).
    Op {
        sent_at: Time,
        op: OpSpec,
        seen: Option<Vec<(u8, u64)>>,
    },
}

/// A time: seconds after a fixed instant (so invites expire and admissions beat them), or
/// any milliseconds at all.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Time {
    Offset(u16),
    Any(u64),
}

/// 2023-11-14, in unix seconds: every `Time::Offset` falls within a day after it.
const BASE_SECS: u64 = 1_700_000_000;

impl Time {
    fn ms(self) -> u64 {
        match self {
            Time::Offset(s) => (BASE_SECS + u64::from(s)) * 1000,
            Time::Any(ms) => ms,
        }
    }

    fn secs(self) -> u64 {
        match self {
            Time::Offset(s) => BASE_SECS + u64::from(s),
            Time::Any(ms) => ms,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum OpSpec {
    /// `bound` names a node only when it is below `SLOTS`.
    Invite {
        slot: u8,
        uses: u8,
        expires_at: Time,
        bound: u8,
    },
    RevokeInvite {
        slot: u8,
    },
    /// `who` joins through invite `slot`, proving it with that invite's key unless
    /// `proof_slot` is `WRONG_PROOF` (then the next slot's), from node `node`.
    Admit {
        who: u8,
        slot: u8,
        proof_slot: u8,
        name: String,
        node: u8,
        /// `Flaw::OTHER_CIRCLE`: a profile for another circle.
        flaw: u8,
        epochs: Vec<u64>,
    },
    Remove {
        who: u8,
        upto: u64,
    },
    Leave,
    Grant {
        who: u8,
    },
    Revoke {
        who: u8,
        upto: u64,
    },
    Policy {
        members: bool,
    },
    Rename {
        name: String,
    },
    /// A committed new key epoch (membership v4), its id derived from the envelope's author
    /// and number: sealed (as junk) to `to`, properly to carol if `to_carol`, committed to the
    /// key it carries unless `miscommitted`.
    NewKey {
        to: Vec<u8>,
        to_carol: bool,
        miscommitted: bool,
    },
    /// A removal pinning the removed member's last message by id (`last`), and carrying a new
    /// key epoch (as [`OpSpec::NewKey`]) if `key` is set.
    RemoveAt {
        who: u8,
        upto: u64,
        last: Option<[u8; 32]>,
        key: Option<(Vec<u8>, bool, bool)>,
    },
    /// A demotion pinning the demoted admin's last message with admin authority by id.
    RevokeAt {
        who: u8,
        upto: u64,
        last: Option<[u8; 32]>,
    },
    /// A new key epoch sealed (as junk) to `to`, and properly to carol if `to_carol` (then in
    /// place of any junk for her).
    Rekey {
        epoch: u8,
        any_epoch: u64,
        to: Vec<u8>,
        to_carol: bool,
    },
}

const WRONG_PROOF: u8 = 0xff;

/// The epoch `selector` picks: mostly the founding one, sometimes one of three new ones.
fn pick_epoch(selector: u8, any: u64) -> u64 {
    match selector {
        0..=159 => 0,
        160..=247 => u64::from(selector % 3) + 1,
        _ => any,
    }
}

impl Circle<'_> {
    fn person(&self, n: u8) -> &MemberSecret {
        &self.world.people[n as usize % self.world.people.len()]
    }

    /// Mostly one of the circle's three, sometimes anyone.
    fn author(&self, n: u8) -> &MemberSecret {
        if n < 200 {
            &self.world.people[n as usize % 3]
        } else {
            self.person(n)
        }
    }

    fn slot(&self, n: u8) -> &InviteSecret {
        &self.world.invites[n as usize % SLOTS]
    }

    fn circle_or_other(&self, other: bool) -> CircleId {
        if other {
            CircleId::from_bytes(&[7; 32]).unwrap()
        } else {
            self.id
        }
    }

    fn key_of(&self, epoch: u64) -> CircleKey {
        if epoch == 0 {
            self.world.key.clone()
        } else {
            epoch_key(epoch)
        }
    }

    /// The copies and commitment of a new key epoch written by `author` as number `seq`.
    fn new_key(
        &self,
        author: &MemberSecret,
        seq: u64,
        to: &[u8],
        to_carol: bool,
        miscommitted: bool,
    ) -> (Vec<(MemberKey, Vec<u8>)>, [u8; 32]) {
        let epoch = epoch_of(&self.id, &author.public(), seq);
        let key = epoch_key(epoch);
        let mut keys: Vec<(MemberKey, Vec<u8>)> = to
            .iter()
            .take(8)
            .map(|n| (self.person(*n).public(), vec![*n; 80]))
            .collect();
        if to_carol {
            let carol = &self.world.people[2];
            let sealed = seal_new_key_for(
                &self.id,
                &carol.public(),
                &carol.exchange_key(),
                epoch,
                &key,
            )
            .unwrap();
            keys.retain(|(m, _)| *m != carol.public());
            keys.push((carol.public(), sealed));
        }
        let committed = if miscommitted {
            CircleKey::generate()
        } else {
            key
        };
        (keys, key_commitment(&self.id, epoch, &committed.to_bytes()))
    }

    /// The operation `spec` describes, written by `author` as number `seq`.
    fn op(&self, spec: &OpSpec, author: &MemberSecret, seq: u64) -> Op {
        match spec {
            OpSpec::Invite {
                slot,
                uses,
                expires_at,
                bound,
            } => Op::Invite {
                id: self.slot(*slot).id(),
                key: self.slot(*slot).join_key().public(),
                expires_at: expires_at.secs(),
                uses: u32::from(*uses % 4),
                bound: (usize::from(*bound) < SLOTS).then(|| format!("node {bound}").into_bytes()),
            },
            OpSpec::RevokeInvite { slot } => Op::RevokeInvite {
                id: self.slot(*slot).id(),
            },
            OpSpec::Admit {
                who,
                slot,
                proof_slot,
                name,
                node,
                flaw,
                epochs,
            } => {
                let circle = self.circle_or_other(*flaw == Flaw::OTHER_CIRCLE);
                let who = self.person(*who);
                let node = format!("node {}", node % 8).into_bytes();
                let profile = Profile::sign(who, circle, name, &node)
                    .unwrap_or_else(|_| Profile::sign(who, circle, "new member", &node).unwrap());
                let prover = if *proof_slot == WRONG_PROOF {
                    slot.wrapping_add(1)
                } else {
                    *slot
                };
                Op::Admit {
                    proof: self
                        .slot(prover)
                        .join_key()
                        .sign(JOIN_PROOF_DOMAIN, &profile),
                    profile,
                    invite: self.slot(*slot).id(),
                    epochs: epochs.iter().take(8).copied().collect(),
                }
            }
            OpSpec::Remove { who, upto } => Op::Remove {
                member: self.person(*who).public(),
                upto: *upto,
            },
            OpSpec::Leave => Op::Leave,
            OpSpec::Grant { who } => Op::Grant {
                member: self.person(*who).public(),
            },
            OpSpec::Revoke { who, upto } => Op::Revoke {
                member: self.person(*who).public(),
                upto: *upto,
            },
            OpSpec::Policy { members } => Op::Policy {
                invites: if *members {
                    InvitePolicy::Members
                } else {
                    InvitePolicy::Admins
                },
            },
            OpSpec::Rename { name } => Op::Rename { name: name.clone() },
            OpSpec::NewKey {
                to,
                to_carol,
                miscommitted,
            } => {
                let (keys, commitment) = self.new_key(author, seq, to, *to_carol, *miscommitted);
                Op::NewKey { keys, commitment }
            }
            OpSpec::RemoveAt {
                who,
                upto,
                last,
                key,
            } => Op::RemoveAt {
                member: self.person(*who).public(),
                upto: *upto,
                last: last.map(|l| MessageId::from_bytes(&l).unwrap()),
                key: key.as_ref().map(|(to, to_carol, miscommitted)| {
                    self.new_key(author, seq, to, *to_carol, *miscommitted)
                }),
            },
            OpSpec::RevokeAt { who, upto, last } => Op::RevokeAt {
                member: self.person(*who).public(),
                upto: *upto,
                last: last.map(|l| MessageId::from_bytes(&l).unwrap()),
            },
            OpSpec::Rekey {
                epoch,
                any_epoch,
                to,
                to_carol,
            } => {
                let epoch = pick_epoch(*epoch, *any_epoch);
                let mut keys: Vec<(MemberKey, Vec<u8>)> = to
                    .iter()
                    .take(8)
                    .map(|n| (self.person(*n).public(), vec![*n; 80]))
                    .collect();
                if *to_carol {
                    let sealed = seal_key_for(&self.carol, epoch, &self.key_of(epoch)).unwrap();
                    keys.retain(|(m, _)| *m != self.carol.member);
                    keys.push((self.carol.member, sealed.sealed));
                }
                Op::Rekey { epoch, keys }
            }
        }
    }

    fn plaintext(&self, plain: &Plain, author: &MemberSecret, seq: u64) -> Vec<u8> {
        match plain {
            Plain::Bytes(bytes) => bytes.clone(),
            Plain::Share { sent_at, text } => Content {
                sent_at: sent_at.ms(),
                body: Body::Share { text: text.clone() },
            }
            .to_bytes(),
            Plain::Op { sent_at, op, seen } => {
                let op = self.op(op, author, seq);
                let body = match seen {
                    None => Body::Op(op),
                    Some(seen) => {
                        // Mostly well-formed (sorted by author, each once, no zero): the
                        // node refuses the rest as not decoding.
                        let mut seen: Vec<(MemberKey, u64)> = seen
                            .iter()
                            .take(8)
                            .map(|(n, upto)| (self.person(*n).public(), *upto))
                            .collect();
                        if seen.first().is_none_or(|(_, upto)| *upto % 8 != 7) {
                            seen.sort_by_key(|(m, _)| m.to_bytes());
                            seen.dedup_by_key(|(m, _)| *m);
                        }
                        Body::Acked(Acked { op, seen })
                    }
                };
                Content {
                    sent_at: sent_at.ms(),
                    body,
                }
                .to_bytes()
            }
        }
    }

    /// Seals what `spec` describes; `None` when it is too large to seal.
    fn seal(&self, spec: &Spec) -> Option<(Envelope, Vec<u8>)> {
        let author = self.author(spec.author);
        let epoch = pick_epoch(spec.epoch, spec.any_epoch);
        let header = Header {
            version: ENVELOPE_VERSION,
            circle: self.circle_or_other(spec.flaw == Flaw::OTHER_CIRCLE),
            epoch,
            author: author.public(),
            seq: u64::from(spec.seq),
            prev: spec.prev.map(|p| MessageId::from_bytes(&p).unwrap()),
        };
        let key = if spec.flaw == Flaw::WRONG_KEY {
            CircleKey::generate()
        } else {
            self.key_of(epoch)
        };
        let plain = self.plaintext(&spec.plain, author, u64::from(spec.seq));
        let envelope = Envelope::seal(author, &key, header, &plain).ok()?;
        Some((envelope, plain))
    }

    /// The membership the node's stored operations derive.
    fn derived(&self) -> Membership {
        let ops = self.world.node.store().ops(&self.id).unwrap();
        Membership::derive(&self.genesis, &ops)
    }

    fn held_epochs(&self) -> BTreeMap<u64, CircleKey> {
        self.world
            .node
            .store()
            .keys(&self.id)
            .unwrap()
            .into_iter()
            .collect()
    }

    /// What carol's node must answer to `spec`, sealed as `envelope`, given what it holds now.
    fn expected(&self, spec: &Spec, envelope: &Envelope, plain: &[u8]) -> Expect {
        let h = envelope.header();
        if h.circle != self.id {
            return Expect::Rejected;
        }
        let members = self.derived();
        if !members.counts(&h.author, h.seq) {
            return match members.departed(&h.author) {
                Some(_) => Expect::Rejected,
                None => Expect::Later,
            };
        }
        let store = self.world.node.store();
        // Someone gone adds no other version of a message that counts: not beside a held
        // one, not other than the one their removal pins, not other than the one the next
        // held message names.
        if members.departed(&h.author).is_some()
            && (store
                .id_at(&h.circle, &h.author, h.seq)
                .unwrap()
                .is_some_and(|held| held != envelope.id())
                || !members.counts_message(&h.author, h.seq, &envelope.id())
                || store
                    .envelope_at(&h.circle, &h.author, h.seq + 1)
                    .unwrap()
                    .is_some_and(|next| next.header().prev.is_some_and(|p| p != envelope.id())))
        {
            return Expect::Rejected;
        }
        let Some(key) = self.held_epochs().remove(&h.epoch) else {
            return Expect::Later;
        };
        // The node holds, for each epoch, the key this target seals with.
        assert_eq!(key.to_bytes(), self.key_of(h.epoch).to_bytes());
        if spec.flaw == Flaw::WRONG_KEY {
            return Expect::Rejected;
        }
        let Ok(content) = Content::from_bytes(plain) else {
            return Expect::Rejected;
        };
        // A new key waits for every recipient's admission.
        if let Some((keys, _)) = content.body.op().and_then(Op::new_key)
            && keys.iter().any(|(m, _)| members.exchange_of(m).is_none())
        {
            return Expect::Later;
        }
        if store.has_message(&envelope.id()).unwrap() {
            return Expect::Duplicate;
        }
        // Another version of a held number is kept beside it, up to the cap.
        let held = store
            .versions_at(&h.circle, &h.author, h.seq)
            .unwrap()
            .len();
        if held >= MAX_FORK_VERSIONS {
            return Expect::Dropped;
        }
        if held > 0 {
            return Expect::Fork;
        }
        Expect::New
    }

    /// The node's members are exactly those its stored operations derive, in name and role.
    fn check_members(&self) {
        let derived = self.derived();
        let mut expected: Vec<(String, String, String)> = derived
            .iter()
            .map(|m| {
                (
                    m.key.to_string(),
                    m.name.clone(),
                    m.role.as_str().to_string(),
                )
            })
            .collect();
        let mut listed: Vec<(String, String, String)> = self
            .world
            .node
            .members(&self.id)
            .unwrap()
            .into_iter()
            .map(|m| (m.member, m.name, m.role.as_str().to_string()))
            .collect();
        expected.sort();
        listed.sort();
        assert_eq!(
            listed, expected,
            "the node's members differ from its records'"
        );
        for p in &self.world.people {
            assert_eq!(
                self.world.node.is_member(&self.id, &p.public()),
                derived.contains(&p.public())
            );
        }
    }

    /// A new key epoch sealed to carol, taken in, leaves its key with her node (whether or not
    /// the epoch takes effect: the key is kept in case it does).
    fn check_key_taken(&self, spec: &Spec, first: &Ingest) {
        let Plain::Op {
            op:
                OpSpec::Rekey {
                    epoch,
                    any_epoch,
                    to_carol: true,
                    ..
                },
            ..
        } = &spec.plain
        else {
            return;
        };
        if *first == Ingest::New {
            let epoch = pick_epoch(*epoch, *any_epoch);
            assert!(
                self.held_epochs().contains_key(&epoch),
                "a key sealed to carol was not taken"
            );
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    New,
    Fork,
    Dropped,
    Duplicate,
    Later,
    Rejected,
}

fn kind(ingest: &Ingest) -> Expect {
    match ingest {
        Ingest::New => Expect::New,
        Ingest::Fork => Expect::Fork,
        Ingest::Dropped(_) => Expect::Dropped,
        Ingest::Duplicate => Expect::Duplicate,
        Ingest::Later(_) => Expect::Later,
        Ingest::Rejected(_) => Expect::Rejected,
    }
}

fn ingest(world: &World, envelope: &Envelope) -> Ingest {
    world
        .node
        .ingest(envelope)
        .expect("ingest answers, never fails")
}

fn check_stored(world: &World, envelope: &Envelope, first: &Ingest) {
    let stored = world.node.store().has_message(&envelope.id()).unwrap();
    match first {
        Ingest::New | Ingest::Fork | Ingest::Duplicate => {
            assert!(stored, "{first:?} but not stored")
        }
        Ingest::Later(_) | Ingest::Rejected(_) | Ingest::Dropped(_) => {
            assert!(!stored, "{first:?} but stored")
        }
    }
    let second = ingest(world, envelope);
    match first {
        Ingest::New | Ingest::Fork | Ingest::Duplicate => assert_eq!(second, Ingest::Duplicate),
        _ => assert_eq!(kind(&second), kind(first), "{first:?}, then {second:?}"),
    }
}

fuzz_target!(|input: Input| {
    let world = world();
    match input {
        Input::Wire(bytes) => {
            let Ok(envelope) = Envelope::from_bytes(&bytes) else {
                return;
            };
            // Nobody outside this process holds the circle's keys.
            let first = ingest(world, &envelope);
            assert_ne!(first, Ingest::New);
            check_stored(world, &envelope, &first);
        }
        Input::Sealed(specs) => {
            let circle = world.join_new_circle();
            for spec in specs.iter().take(MAX_ENVELOPES) {
                let Some((envelope, plain)) = circle.seal(spec) else {
                    continue;
                };
                let expected = circle.expected(spec, &envelope, &plain);
                let first = ingest(world, &envelope);
                assert_eq!(kind(&first), expected, "{first:?} for {spec:?}");
                circle.check_key_taken(spec, &first);
                check_stored(world, &envelope, &first);
                circle.check_members();
            }
        }
        Input::Page { ops, envelopes } => {
            let circle = world.join_new_circle();
            let seal = |specs: &[Spec]| -> Vec<Envelope> {
                specs
                    .iter()
                    .take(MAX_ENVELOPES)
                    .filter_map(|spec| circle.seal(spec).map(|(envelope, _)| envelope))
                    .collect()
            };
            let (ops, envelopes) = (seal(&ops), seal(&envelopes));
            let wire = |list: &[Envelope]| -> Vec<Vec<u8>> {
                list.iter().map(|e| e.to_bytes().to_vec()).collect()
            };
            let new = world
                .node
                .apply_page(&circle.id, &wire(&ops), &wire(&envelopes))
                .expect("a page is taken in or refused, never fails");
            assert!(new <= ops.len() + envelopes.len());
            for envelope in ops.iter().chain(&envelopes) {
                if envelope.header().circle != circle.id {
                    assert!(!world.node.store().has_message(&envelope.id()).unwrap());
                }
            }
            circle.check_members();
        }
    }
});
