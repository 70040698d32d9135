//! Membership records, operations and their derivation: every input is read two ways.
//!
//! 1. As bytes from the network: a genesis, a profile, the content of a message (a share or a
//!    membership operation), an operation alone. What opens opens again to the same thing and
//!    keeps the promises of its checks (names, node ids, circle binding); a record opens as one
//!    kind only, since the signature domains keep them apart.
//! 2. As a history: the bytes pick operations by a fixed cast (a founder, members-to-be and
//!    strangers), with real signed admissions through registered invites, and
//!    `Membership::derive` must not panic, must give the same answer for the input reversed,
//!    must keep its invariants (someone in charge, distinct ranks, no one both member and
//!    departed), and must have settled: dropping the operations that do not count (rule 3's
//!    cuts) changes nothing.

#![no_main]

use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use circle_crypto::{InviteSecret, MemberKey, MemberSecret, MessageId};
use circle_node::{
    Body, Content, Genesis, InvitePolicy, JOIN_PROOF_DOMAIN, MAX_MEMBERS, Membership, Op, OpEntry,
    Profile, Role, check_text,
};
use libfuzzer_sys::fuzz_target;

/// Longest nickname and circle name, in characters (circle-node's membership limits).
const MAX_NAME_CHARS: usize = 64;
const MAX_CIRCLE_NAME_CHARS: usize = 100;
/// Longest peer id in a profile, in bytes.
const MAX_NODE_ID_BYTES: usize = 64;
/// Most operations in one history: derivation is quadratic at worst, keep runs fast.
const MAX_OPS: usize = 48;
const SLOTS: usize = 4;

fn assert_checked_name(name: &str, max: usize) {
    assert!(!name.is_empty());
    assert_eq!(name, name.trim());
    assert!(name.chars().count() <= max);
    assert!(name != "." && name != "..");
    assert!(!name.chars().any(char::is_control));
}

fn read_as_records(data: &[u8]) {
    let mut opened = 0;

    if let Ok(genesis) = Genesis::open(data) {
        opened += 1;
        let again = Genesis::open(data).expect("a genesis opens twice");
        assert_eq!(again.circle, genesis.circle);
        assert_eq!(again.name, genesis.name);
        assert_eq!(again.created_at, genesis.created_at);
        assert_eq!(again.founder, genesis.founder);
        assert_eq!(genesis.founder.circle, genesis.circle);
        assert_checked_name(&genesis.name, MAX_CIRCLE_NAME_CHARS);
        assert_checked_name(&genesis.founder.name, MAX_NAME_CHARS);
    }

    if let Ok(profile) = Profile::open(data) {
        opened += 1;
        assert_eq!(Profile::open(data).expect("a profile opens twice"), profile);
        assert_checked_name(&profile.name, MAX_NAME_CHARS);
        assert!(!profile.node.is_empty() && profile.node.len() <= MAX_NODE_ID_BYTES);
    }

    assert!(opened <= 1, "one record opened as {opened} kinds");

    if let Ok(content) = Content::from_bytes(data) {
        let bytes = content.to_bytes();
        assert!(bytes.len() <= data.len());
        assert_eq!(
            Content::from_bytes(&bytes).expect("content re-encodes"),
            content
        );
        match &content.body {
            Body::Share { text } => check_text(text).expect("a share that reads has valid text"),
            Body::Acked(acked) => {
                acked
                    .check()
                    .expect("an acknowledged operation that reads passes its check");
                if let Op::Admit { profile, .. } = &acked.op {
                    Profile::open(profile).expect("an admission that reads has a profile");
                }
            }
            Body::Op(op) => {
                op.check()
                    .expect("an operation that reads passes its check");
                if let Op::Admit { profile, .. } = op {
                    Profile::open(profile).expect("an admission that reads has a profile");
                }
            }
            // Support messages: `from_bytes` ran their checks; their kind names them.
            other => assert!(!other.kind().as_str().is_empty()),
        }
    }

    // An operation alone, as postcard reads it, then as the node checks it.
    if let Ok((op, _)) = postcard::take_from_bytes::<Op>(data)
        && op.check().is_ok()
    {
        let bytes = postcard::to_allocvec(&op).unwrap();
        assert_eq!(postcard::from_bytes::<Op>(&bytes).unwrap(), op);
        let _ = op.kind();
    }
}

/// The cast and their signed records, made once per process.
struct World {
    genesis: Genesis,
    /// The founder first; the last two are never admitted by anyone honest.
    people: Vec<MemberSecret>,
    invites: Vec<InviteSecret>,
    /// `admissions[who][slot]`: `who`'s profile and proof for invite `slot`.
    admissions: Vec<Vec<(Vec<u8>, circle_crypto::Signature)>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let people: Vec<MemberSecret> = (1..=6u8)
            .map(|n| MemberSecret::from_bytes(&[n; 64]).unwrap())
            .collect();
        let wire = Genesis::create(&people[0], "Fuzzed", "founder", b"node 1", 1).unwrap();
        let genesis = Genesis::open(&wire).unwrap();
        let invites: Vec<InviteSecret> = (1..=SLOTS as u8)
            .map(|n| InviteSecret::from_bytes(&[n; 32]).unwrap())
            .collect();
        let admissions = people
            .iter()
            .enumerate()
            .map(|(i, who)| {
                let node = format!("node {}", i + 1);
                let profile =
                    Profile::sign(who, genesis.circle, &format!("person {i}"), node.as_bytes())
                        .unwrap();
                invites
                    .iter()
                    .map(|s| {
                        let proof = s.join_key().sign(JOIN_PROOF_DOMAIN, &profile);
                        (profile.clone(), proof)
                    })
                    .collect()
            })
            .collect();
        World {
            genesis,
            people,
            invites,
            admissions,
        }
    })
}

impl World {
    fn key(&self, n: u8) -> MemberKey {
        self.people[n as usize % self.people.len()].public()
    }

    fn slot(&self, n: u8) -> &InviteSecret {
        &self.invites[n as usize % SLOTS]
    }

    fn op(&self, u: &mut Unstructured) -> Result<Op> {
        Ok(match u.int_in_range(0..=14u8)? {
            0 => {
                let slot = self.slot(u.arbitrary()?);
                Op::Invite {
                    id: slot.id(),
                    key: slot.join_key().public(),
                    expires_at: u.arbitrary()?,
                    uses: u.int_in_range(0..=3)?,
                    bound: if u.arbitrary()? {
                        Some(format!("node {}", u.int_in_range(1..=7u8)?).into_bytes())
                    } else {
                        None
                    },
                }
            }
            1 => Op::RevokeInvite {
                id: self.slot(u.arbitrary()?).id(),
            },
            2 | 3 => {
                let who = u.arbitrary::<u8>()? as usize % self.people.len();
                let slot = u.arbitrary::<u8>()? as usize % SLOTS;
                let proof_slot = if u.ratio(1, 8)? {
                    u.arbitrary::<u8>()? as usize % SLOTS
                } else {
                    slot
                };
                let (profile, _) = self.admissions[who][slot].clone();
                Op::Admit {
                    profile,
                    invite: self.invites[slot].id(),
                    proof: self.admissions[who][proof_slot].1,
                    epochs: u.arbitrary_iter::<u64>()?.take(4).collect::<Result<_>>()?,
                }
            }
            4 => Op::Admit {
                profile: u.arbitrary()?,
                invite: self.slot(u.arbitrary()?).id(),
                proof: self.admissions[0][0].1,
                epochs: vec![0],
            },
            5 => Op::Remove {
                member: self.key(u.arbitrary()?),
                upto: if u.arbitrary()? {
                    u.int_in_range(0..=8)?
                } else {
                    u.arbitrary()?
                },
            },
            6 => Op::Leave,
            7 => Op::Grant {
                member: self.key(u.arbitrary()?),
            },
            8 => Op::Revoke {
                member: self.key(u.arbitrary()?),
                upto: u.int_in_range(0..=8)?,
            },
            9 => Op::Policy {
                invites: if u.arbitrary()? {
                    InvitePolicy::Members
                } else {
                    InvitePolicy::Admins
                },
            },
            10 => Op::Rename {
                name: u.arbitrary()?,
            },
            11 => Op::NewKey {
                keys: u
                    .arbitrary_iter::<u8>()?
                    .take(8)
                    .map(|n| n.map(|n| (self.key(n), vec![n; 80])))
                    .collect::<Result<_>>()?,
                commitment: u.arbitrary()?,
            },
            12 | 13 => {
                let member = self.key(u.arbitrary()?);
                let upto = u.int_in_range(0..=8)?;
                let last = if u.arbitrary()? {
                    Some(MessageId::from_bytes(&[u.arbitrary()?; 32]).unwrap())
                } else {
                    None
                };
                if u.arbitrary()? {
                    let key = if u.arbitrary()? {
                        let n: u8 = u.arbitrary()?;
                        Some((vec![(self.key(n), vec![n; 80])], u.arbitrary()?))
                    } else {
                        None
                    };
                    Op::RemoveAt {
                        member,
                        upto,
                        last,
                        key,
                    }
                } else {
                    Op::RevokeAt { member, upto, last }
                }
            }
            _ => Op::Rekey {
                epoch: u.int_in_range(0..=4)?,
                keys: u
                    .arbitrary_iter::<u8>()?
                    .take(8)
                    .map(|n| n.map(|n| (self.key(n), vec![n; 80])))
                    .collect::<Result<_>>()?,
            },
        })
    }

    /// A history read from `u`: operations in the order they were written, dated forward
    /// mostly, backdated or far off sometimes, numbered in each author's chain mostly.
    fn history(&self, u: &mut Unstructured) -> Result<Vec<OpEntry>> {
        let mut entries = Vec::new();
        let mut seqs = [0u64; 8];
        let mut clock = 1_000_000u64;
        while entries.len() < MAX_OPS && !u.is_empty() {
            // The founder often, the other five mostly, now and then someone who is never
            // anyone.
            let who = match u.arbitrary::<u8>()? {
                0..=63 => 0,
                n @ 64..=239 => usize::from(n % 5) + 1,
                n => 6 + usize::from(n % 2),
            };
            let author = match self.people.get(who) {
                Some(p) => p.public(),
                None => MemberSecret::from_bytes(&[200 + who as u8; 64])
                    .unwrap()
                    .public(),
            };
            let seq = if u.ratio(1, 16)? {
                u.arbitrary()?
            } else {
                seqs[who] += 1;
                seqs[who]
            };
            let at = match u.int_in_range(0..=15u8)? {
                0 => u.arbitrary()?,
                1 => clock.saturating_sub(u.int_in_range(0..=60_000)?),
                _ => {
                    clock += u.int_in_range(0..=60_000)?;
                    clock
                }
            };
            let op = self.op(u)?;
            // Now and then the author acknowledges everyone's chain as written so far (a cut
            // never goes below it), or claims a number of someone's that is not written yet.
            let seen: Vec<(MemberKey, u64)> = match u.int_in_range(0..=7u8)? {
                0 | 1 => self
                    .people
                    .iter()
                    .zip(seqs)
                    .filter(|(_, s)| *s > 0)
                    .map(|(p, s)| (p.public(), s))
                    .collect(),
                2 => vec![(self.key(u.arbitrary()?), u.arbitrary()?)],
                _ => Vec::new(),
            };
            if let Op::Admit { invite, .. } = &op
                && !entries
                    .iter()
                    .any(|e: &OpEntry| matches!(&e.op, Op::Invite { id, .. } if id == invite))
            {
                // Whoever admits registers the invite first, as a node does.
                let secret = self.invites.iter().find(|s| s.id() == *invite).unwrap();
                let register = Op::Invite {
                    id: *invite,
                    key: secret.join_key().public(),
                    expires_at: u64::MAX,
                    uses: 2,
                    bound: None,
                };
                entries.push(entry(author, seq, at, register, Vec::new()));
                seqs[who] += 1;
                entries.push(entry(author, seq.saturating_add(1), at, op, seen));
            } else {
                entries.push(entry(author, seq, at, op, seen));
            }
        }
        Ok(entries)
    }
}

fn entry(author: MemberKey, seq: u64, at: u64, op: Op, seen: Vec<(MemberKey, u64)>) -> OpEntry {
    let bytes = postcard::to_allocvec(&(author, seq, at, &op)).unwrap();
    let id = MessageId::from_bytes(blake3::hash(&bytes).as_bytes()).unwrap();
    OpEntry {
        author,
        seq,
        at,
        id,
        op,
        // As a node writes: tag 15 with what it saw, or tag 1 (before membership version 4)
        // acknowledging nothing.
        legacy: seen.is_empty(),
        seen,
    }
}

fn check_invariants(m: &Membership) {
    let admins: Vec<_> = m.iter().filter(|x| x.role == Role::Admin).collect();
    assert!(m.is_empty() || !admins.is_empty(), "members but no admin");
    let mut ranks: Vec<u64> = admins.iter().map(|a| a.rank).collect();
    ranks.sort();
    ranks.dedup();
    assert_eq!(ranks.len(), admins.len(), "two admins share a rank");
    let mut joined: Vec<u64> = m.iter().map(|x| x.joined).collect();
    joined.sort();
    joined.dedup();
    assert_eq!(joined.len(), m.len(), "two members share a join position");
    for (key, d) in m.all_departed() {
        assert!(!m.contains(key), "a departed member is still a member");
        assert!(m.counts(key, d.upto));
        if d.upto < u64::MAX {
            assert!(!m.counts(key, d.upto + 1));
        }
    }
    assert!(m.len() <= MAX_MEMBERS);
    let holders = m
        .holders(m.current_epoch)
        .expect("the current epoch has holders");
    let stale =
        holders.iter().any(|h| !m.contains(h)) || m.iter().any(|x| !holders.contains(&x.key));
    assert_eq!(m.needs_rekey(), stale);
    assert_eq!(m.epochs().last(), Some(m.current_epoch));
}

fn derive_history(data: &[u8]) {
    let w = world();
    let Ok(entries) = w.history(&mut Unstructured::new(data)) else {
        return;
    };
    let m = Membership::derive(&w.genesis, &entries);
    check_invariants(&m);
    let mut reversed = entries.clone();
    reversed.reverse();
    assert_eq!(
        Membership::derive(&w.genesis, &reversed),
        m,
        "the order of the input changed the membership"
    );
    // Rule 3 settled: what does not count (the operations of people who never were members,
    // and of departed members after their cut) had no effect, so without it nothing changes.
    let counted: Vec<OpEntry> = entries
        .iter()
        .filter(|e| m.counts(&e.author, e.seq))
        .cloned()
        .collect();
    assert_eq!(
        Membership::derive(&w.genesis, &counted),
        m,
        "operations that do not count changed the membership: the cuts did not settle"
    );
}

fuzz_target!(|data: &[u8]| {
    read_as_records(data);
    derive_history(data);
});
