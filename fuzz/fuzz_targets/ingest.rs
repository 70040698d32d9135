//! The node's message handler: `Circles::ingest` and `Circles::apply_page`, fed what peers
//! could send.
//!
//! One node (carol's) holds a circle of alice (founder), bob and carol, as in
//! tests/hostile.rs; four strangers are not in it until alice admits them. The fuzzer writes
//! envelopes as any of these people: in this circle or another, under the right key and epoch
//! or not, with any content or an admission; or sends raw bytes. For each envelope the target
//! works out what the node must answer from what the node holds, checks the answer, checks that
//! exactly the `New` envelopes are stored, and that a second delivery is a `Duplicate` or gets
//! the same answer.
//!
//! `World::expected` restates the checks of node/src/circles/ingest.rs in order; when those
//! rules change, change it with them.

#![no_main]

use std::{path::PathBuf, sync::OnceLock};

use arbitrary::Arbitrary;
use circle_crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, Invite, InviteId, InviteSecret,
    MemberKey, MemberSecret, MessageId,
};
use circle_node::{
    Admission, Body, Circles, Content, Genesis, Home, Ingest, Profile, Welcome, now_ms, now_secs,
    seal_key_for,
};
use libfuzzer_sys::fuzz_target;

struct World {
    /// alice, bob, carol (the node's own member), then the strangers.
    people: Vec<MemberSecret>,
    circle: CircleId,
    key: CircleKey,
    node: Circles,
}

const ALICE: usize = 0;
const STRANGERS: usize = 4;

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

/// The circle held by carol's node, built the way tests/hostile.rs `forge()` builds it.
fn world() -> &'static World {
    WORLD.get_or_init(|| {
        let people: Vec<MemberSecret> = (1..=3 + STRANGERS as u8).map(person).collect();
        let (alice, bob, carol) = (&people[0], &people[1], &people[2]);
        let genesis = Genesis::create(alice, "Fuzzed circle", "alice", now_ms()).unwrap();
        let circle = Genesis::open(&genesis).unwrap().circle;
        let key = CircleKey::generate();
        let admit = |who: &MemberSecret, name: &str| {
            let profile = Profile::sign(who, circle, name).unwrap();
            Admission::sign(
                alice,
                circle,
                profile,
                InviteSecret::generate().id(),
                now_ms(),
            )
        };
        let carol_profile = Profile::open(&Profile::sign(carol, circle, "carol").unwrap()).unwrap();
        let welcome = Welcome {
            genesis,
            admissions: vec![admit(bob, "bob"), admit(carol, "carol")],
            keys: vec![seal_key_for(&carol_profile, 0, &key).unwrap()],
            peers: vec![],
        };
        let dir = tempfile::Builder::new()
            .prefix("circle-fuzz-ingest-")
            .tempdir()
            .unwrap()
            .keep();
        DIR.set(dir.clone()).unwrap();
        // libFuzzer ends a run with exit(): the store goes with it.
        unsafe { libc::atexit(remove_store) };
        let store = Home::new(&dir).init(b"fuzz passphrase", "carol").unwrap();
        let node = Circles::load(store).unwrap();
        let invite = Invite::create(alice, circle, "Fuzzed circle", now_secs() + 3600, vec![]);
        node.accept_welcome(&invite, carol.clone(), &welcome)
            .unwrap();
        World {
            people,
            circle,
            key,
            node,
        }
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Bytes from gossip.
    Wire(Vec<u8>),
    /// Envelopes from gossip, one after another.
    Sealed(Vec<Spec>),
    /// One sync page.
    Page {
        admissions: Vec<AdmissionSpec>,
        envelopes: Vec<Spec>,
    },
}

#[derive(Arbitrary, Debug)]
struct Spec {
    author: u8,
    other_circle: bool,
    epoch: u64,
    wrong_key: bool,
    /// Small, so authors run into their own sequence numbers.
    seq: u8,
    prev: Option<[u8; 32]>,
    plain: Plain,
}

#[derive(Arbitrary, Debug)]
enum Plain {
    Bytes(Vec<u8>),
    Share { sent_at: u64, text: String },
    Admit(AdmissionSpec),
}

#[derive(Arbitrary, Debug)]
struct AdmissionSpec {
    admitter: u8,
    who: u8,
    name: String,
    other_circle: bool,
    profile_in_other_circle: bool,
    invite: [u8; 32],
    at: u64,
}

impl World {
    fn person(&self, n: u8) -> &MemberSecret {
        &self.people[n as usize % self.people.len()]
    }

    fn circle_or_other(&self, other: bool) -> CircleId {
        if other {
            CircleId::from_bytes(&[7; 32]).unwrap()
        } else {
            self.circle
        }
    }

    fn role(&self, key: &MemberKey) -> Option<String> {
        let key = key.to_string();
        let members = self.node.members(&self.circle).unwrap();
        members
            .into_iter()
            .find(|m| m.member == key)
            .map(|m| m.role)
    }

    fn is_member(&self, key: &MemberKey) -> bool {
        self.role(key).is_some()
    }

    fn admission(&self, spec: &AdmissionSpec) -> Vec<u8> {
        let who = self.person(spec.who);
        let profile_circle = self.circle_or_other(spec.profile_in_other_circle);
        let profile = Profile::sign(who, profile_circle, &spec.name)
            .unwrap_or_else(|_| Profile::sign(who, profile_circle, "new member").unwrap());
        Admission::sign(
            self.person(spec.admitter),
            self.circle_or_other(spec.other_circle),
            profile,
            InviteId::from_bytes(&spec.invite).unwrap(),
            spec.at,
        )
    }

    fn plaintext(&self, plain: &Plain) -> Vec<u8> {
        match plain {
            Plain::Bytes(bytes) => bytes.clone(),
            Plain::Share { sent_at, text } => Content {
                sent_at: *sent_at,
                body: Body::Share { text: text.clone() },
            }
            .to_bytes(),
            Plain::Admit(spec) => Content {
                sent_at: spec.at,
                body: Body::Admit {
                    admission: self.admission(spec),
                },
            }
            .to_bytes(),
        }
    }

    /// Seals what `spec` describes; `None` when it is too large to seal.
    fn seal(&self, spec: &Spec) -> Option<(Envelope, Vec<u8>)> {
        let author = self.person(spec.author);
        let header = Header {
            version: ENVELOPE_VERSION,
            circle: self.circle_or_other(spec.other_circle),
            epoch: spec.epoch,
            author: author.public(),
            seq: u64::from(spec.seq),
            prev: spec.prev.map(|p| MessageId::from_bytes(&p).unwrap()),
        };
        let key = if spec.wrong_key {
            CircleKey::generate()
        } else {
            self.key.clone()
        };
        let plain = self.plaintext(&spec.plain);
        let envelope = Envelope::seal(author, &key, header, &plain).ok()?;
        Some((envelope, plain))
    }

    /// What carol's node must answer to `spec`, sealed as `envelope`, given what it holds now.
    fn expected(&self, spec: &Spec, envelope: &Envelope, plain: &[u8]) -> Expect {
        let h = envelope.header();
        if h.circle != self.circle {
            return Expect::Rejected;
        }
        if !self.is_member(&h.author) || h.epoch != 0 {
            return Expect::Later;
        }
        if spec.wrong_key {
            return Expect::Rejected;
        }
        let Ok(content) = Content::from_bytes(plain) else {
            return Expect::Rejected;
        };
        if let Body::Admit { admission } = &content.body {
            if self.role(&h.author).as_deref() != Some("admin") {
                return Expect::Rejected;
            }
            match Admission::open(&self.circle, admission) {
                Ok(a) if a.admitted_by == h.author => {}
                _ => return Expect::Rejected,
            }
        }
        let store = self.node.store();
        if store.has_message(&envelope.id()).unwrap() {
            return Expect::Duplicate;
        }
        if store
            .envelope_at(&h.circle, &h.author, h.seq)
            .unwrap()
            .is_some()
        {
            return Expect::Rejected;
        }
        Expect::New
    }

    /// An admission alice signed for this circle, carried by her own admit message, makes its
    /// member a member, whatever else happens to the message.
    fn check_admitted(&self, spec: &Spec, plain: &[u8]) {
        let Plain::Admit(a) = &spec.plain else { return };
        let author = spec.author as usize % self.people.len();
        if author != ALICE || a.admitter as usize % self.people.len() != ALICE {
            return;
        }
        if spec.other_circle || spec.wrong_key || spec.epoch != 0 {
            return;
        }
        if a.other_circle || a.profile_in_other_circle {
            return;
        }
        let Ok(Content {
            body: Body::Admit { admission },
            ..
        }) = Content::from_bytes(plain)
        else {
            return;
        };
        let admitted = Admission::open(&self.circle, &admission).unwrap();
        assert!(
            self.is_member(&admitted.profile.member),
            "alice admitted {} but the node does not count them in",
            admitted.profile.member.short()
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    New,
    Duplicate,
    Later,
    Rejected,
}

fn kind(ingest: &Ingest) -> Expect {
    match ingest {
        Ingest::New => Expect::New,
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
    let stored = world.node.has_message(&envelope.id()).unwrap();
    match first {
        Ingest::New | Ingest::Duplicate => assert!(stored, "{first:?} but not stored"),
        Ingest::Later(_) | Ingest::Rejected(_) => assert!(!stored, "{first:?} but stored"),
    }
    let second = ingest(world, envelope);
    match first {
        Ingest::New | Ingest::Duplicate => assert_eq!(second, Ingest::Duplicate),
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
            for spec in specs.iter().take(8) {
                let Some((envelope, plain)) = world.seal(spec) else {
                    continue;
                };
                let expected = world.expected(spec, &envelope, &plain);
                let first = ingest(world, &envelope);
                assert_eq!(kind(&first), expected, "{first:?} for {spec:?}");
                check_stored(world, &envelope, &first);
                world.check_admitted(spec, &plain);
            }
        }
        Input::Page {
            admissions,
            envelopes,
        } => {
            let admissions: Vec<Vec<u8>> = admissions
                .iter()
                .take(8)
                .map(|a| world.admission(a))
                .collect();
            let envelopes: Vec<Envelope> = envelopes
                .iter()
                .take(8)
                .filter_map(|spec| world.seal(spec).map(|(envelope, _)| envelope))
                .collect();
            let wire: Vec<Vec<u8>> = envelopes.iter().map(|e| e.to_bytes().to_vec()).collect();
            let new = world
                .node
                .apply_page(&world.circle, &admissions, &wire)
                .expect("a page is taken in or refused, never fails");
            assert!(new <= wire.len());
            for envelope in &envelopes {
                if envelope.header().circle != world.circle {
                    assert!(!world.node.has_message(&envelope.id()).unwrap());
                }
            }
        }
    }
});
