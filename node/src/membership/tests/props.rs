//! Properties of the derivation over random histories: replicas extending their own views
//! and merging, and arbitrary entries.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// Signed material shared by every generated case: signing per case would dominate the run.
struct World {
    genesis: Genesis,
    people: Vec<Person>,
    invites: Vec<InviteSecret>,
    /// `admissions[who][slot]`: `who`'s admission through invite `slot`, epochs left empty.
    admissions: Vec<Vec<Op>>,
}

const PEOPLE: usize = 6;
const SLOTS: usize = 8;
const REPLICAS: usize = 3;

fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let names = ["alice", "bob", "carol", "dave", "erin", "frank"];
        let people: Vec<Person> = (0..PEOPLE)
            .map(|i| Person::new(names[i], 10 + i as u8))
            .collect();
        let circle = Circle::found(&people[0]);
        let invites: Vec<InviteSecret> = (0..SLOTS).map(|_| InviteSecret::generate()).collect();
        let admissions = people
            .iter()
            .map(|p| {
                invites
                    .iter()
                    .map(|i| circle.admission(p, i, vec![]))
                    .collect()
            })
            .collect();
        World {
            genesis: circle.genesis,
            people,
            invites,
            admissions,
        }
    })
}

/// What a person does, in terms of indices into the [`World`].
#[derive(Clone, Debug)]
enum Act {
    Invite {
        slot: usize,
        uses: u32,
        ttl_secs: u64,
        bound: Option<usize>,
    },
    RevokeInvite {
        slot: usize,
    },
    Admit {
        who: usize,
        slot: usize,
    },
    /// `upto` is the highest of `who`'s sequence numbers the author holds, minus `lag`.
    Remove {
        who: usize,
        lag: u64,
    },
    /// Removes whoever admitted the author (the founder if no one did), `upto` as above: with
    /// a lag, a cut below the admission the remover's own membership rests on.
    RemoveAdmitter {
        lag: u64,
    },
    Leave,
    Grant {
        who: usize,
    },
    /// `upto` as for a removal.
    Revoke {
        who: usize,
        lag: u64,
    },
    Policy {
        members: bool,
    },
    Rename {
        name: u8,
    },
    /// Sealed to every member the author knows of, but `skip`.
    Rekey {
        epoch: u64,
        skip: Option<usize>,
    },
}

#[derive(Clone, Debug)]
enum Step {
    /// Someone writes on `replica`, `dt` ms after the previous step (or before it): if
    /// `as_member`, the `author`-th member that replica knows of, else person `author`.
    Write {
        replica: usize,
        author: usize,
        as_member: bool,
        act: Act,
        dt: u64,
        backdated: bool,
        /// What a modified program does with it.
        byzantine: Byzantine,
    },
    /// Replica `to` receives the operations of replica `from` that `mask` picks.
    Sync { from: usize, to: usize, mask: u64 },
    /// Replica `to` receives again, as another copy, the `pick`-th operation it holds.
    Duplicate { to: usize, pick: usize },
}

/// How a modified program writes an operation.
#[derive(Clone, Copy, Debug)]
enum Byzantine {
    /// As an honest node does.
    Honest,
    /// Dated in the year 9999.
    PostDated,
    /// Acknowledging nothing (as before membership version 4).
    AcknowledgingNothing,
    /// Acknowledging only its author's own chain: withheld from what it saw.
    BlindToOthers,
    /// Claiming to have seen far more than was written.
    ClaimingTheFuture,
    /// Another version of the author's last number (a fork), written on this replica.
    Forked,
}

/// Mostly forks: a dishonest member writing two versions of one operation.
fn forking() -> impl Strategy<Value = Byzantine> {
    prop_oneof![
        3 => Just(Byzantine::Honest),
        2 => Just(Byzantine::Forked),
        1 => Just(Byzantine::BlindToOthers),
    ]
}

/// Steps of a history with many forks: written on one replica, and another version of the same
/// number on another replica.
fn forking_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            (0..REPLICAS, 0..PEOPLE, proptest::bool::weighted(0.8)),
            act(),
            0..20_000u64,
            forking(),
        )
            .prop_map(|((replica, author, as_member), act, dt, byzantine)| Step::Write {
                replica,
                author,
                as_member,
                act,
                dt,
                backdated: false,
                byzantine,
            }),
        1 => (0..REPLICAS, 0..REPLICAS, any::<u64>())
            .prop_map(|(from, to, mask)| Step::Sync { from, to, mask }),
    ]
}

fn byzantine() -> impl Strategy<Value = Byzantine> {
    prop_oneof![
        10 => Just(Byzantine::Honest),
        1 => Just(Byzantine::PostDated),
        1 => Just(Byzantine::AcknowledgingNothing),
        1 => Just(Byzantine::BlindToOthers),
        1 => Just(Byzantine::ClaimingTheFuture),
        1 => Just(Byzantine::Forked),
    ]
}

/// How far behind the author's view a cut is named: mostly not at all, sometimes entirely.
fn lag() -> impl Strategy<Value = u64> {
    prop_oneof![3 => Just(0u64), 1 => 1..3u64, 1 => Just(u64::MAX)]
}

fn act() -> impl Strategy<Value = Act> {
    let who = 0..PEOPLE;
    let slot = 0..SLOTS;
    prop_oneof![
        3 => (slot.clone(), 1..3u32, 1..120u64, proptest::option::weighted(0.2, who.clone()))
            .prop_map(|(slot, uses, ttl_secs, bound)| Act::Invite { slot, uses, ttl_secs, bound }),
        1 => slot.clone().prop_map(|slot| Act::RevokeInvite { slot }),
        6 => (who.clone(), slot).prop_map(|(who, slot)| Act::Admit { who, slot }),
        2 => (who.clone(), lag()).prop_map(|(who, lag)| Act::Remove { who, lag }),
        1 => lag().prop_map(|lag| Act::RemoveAdmitter { lag }),
        1 => Just(Act::Leave),
        3 => who.clone().prop_map(|who| Act::Grant { who }),
        1 => (who.clone(), lag()).prop_map(|(who, lag)| Act::Revoke { who, lag }),
        1 => any::<bool>().prop_map(|members| Act::Policy { members }),
        1 => any::<u8>().prop_map(|name| Act::Rename { name }),
        1 => (1..6u64, proptest::option::weighted(0.2, who))
            .prop_map(|(epoch, skip)| Act::Rekey { epoch, skip }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            (0..REPLICAS, 0..PEOPLE, proptest::bool::weighted(0.8)),
            act(),
            0..20_000u64,
            proptest::bool::weighted(0.15),
            byzantine(),
        )
            .prop_map(|((replica, author, as_member), act, dt, backdated, byzantine)| Step::Write {
                replica,
                author,
                as_member,
                act,
                dt,
                backdated,
                byzantine,
            }),
        1 => (0..REPLICAS, 0..REPLICAS, any::<u64>())
            .prop_map(|(from, to, mask)| Step::Sync { from, to, mask }),
        1 => (0..REPLICAS, any::<usize>()).prop_map(|(to, pick)| Step::Duplicate { to, pick }),
    ]
}

/// Replicas each extending their own view, passing each other arbitrary subsets. An author's
/// operations are numbered in one chain wherever they are written.
struct Sim {
    views: Vec<Vec<OpEntry>>,
    seqs: Vec<u64>,
    clock: u64,
}

impl Sim {
    fn run(steps: &[Step]) -> Sim {
        let mut sim = Sim {
            views: vec![Vec::new(); REPLICAS],
            seqs: vec![0; PEOPLE],
            clock: 1_000_000,
        };
        for step in steps {
            match step {
                Step::Write {
                    replica,
                    author,
                    as_member,
                    act,
                    dt,
                    backdated,
                    byzantine,
                } => {
                    let w = world();
                    let mut author = *author;
                    if *as_member {
                        let m = Membership::derive(&w.genesis, &sim.views[*replica]);
                        let members: Vec<MemberKey> = m.iter().map(|m| m.key).collect();
                        if !members.is_empty() {
                            let key = members[author % members.len()];
                            author = w.people.iter().position(|p| p.key() == key).unwrap();
                        }
                    }
                    sim.write_as(*replica, author, act, *dt, *backdated, *byzantine)
                }
                Step::Duplicate { to, pick } => {
                    let view = &mut sim.views[*to];
                    if !view.is_empty() {
                        let again = view[pick % view.len()].clone();
                        view.push(again);
                    }
                }
                Step::Sync { from, to, mask } => {
                    let picked: Vec<OpEntry> = sim.views[*from]
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << (i % 64)) != 0)
                        .map(|(_, e)| e.clone())
                        .collect();
                    for e in picked {
                        receive(&mut sim.views[*to], e);
                    }
                }
            }
        }
        sim
    }

    fn write(&mut self, replica: usize, author: usize, act: &Act, dt: u64, backdated: bool) {
        self.write_as(replica, author, act, dt, backdated, Byzantine::Honest)
    }

    fn write_as(
        &mut self,
        replica: usize,
        author: usize,
        act: &Act,
        dt: u64,
        backdated: bool,
        byzantine: Byzantine,
    ) {
        let w = world();
        let view = &self.views[replica];
        let at = if backdated {
            self.clock.saturating_sub(dt)
        } else {
            self.clock += dt;
            self.clock
        };
        let op = match act {
            Act::Invite {
                slot,
                uses,
                ttl_secs,
                bound,
            } => Op::Invite {
                id: w.invites[*slot].id(),
                key: w.invites[*slot].join_key().public(),
                expires_at: at / SEC + ttl_secs,
                uses: *uses,
                bound: bound.map(|b| w.people[b].node()),
            },
            Act::RevokeInvite { slot } => Op::RevokeInvite {
                id: w.invites[*slot].id(),
            },
            Act::Admit { who, slot } => {
                let id = w.invites[*slot].id();
                let registered =
                    |e: &OpEntry| matches!(&e.op, Op::Invite { id: i, .. } if *i == id);
                if !view.iter().any(registered) {
                    // Whoever admits registers the invite first, as a node does.
                    let invite = Act::Invite {
                        slot: *slot,
                        uses: 2,
                        ttl_secs: 3600,
                        bound: None,
                    };
                    self.write(replica, author, &invite, 0, false);
                }
                let view = &self.views[replica];
                let mut op = w.admissions[*who][*slot].clone();
                if let Op::Admit { epochs, .. } = &mut op {
                    *epochs = std::iter::once(0)
                        .chain(view.iter().filter_map(|e| match &e.op {
                            Op::NewKey { .. } => {
                                Some(epoch_of(&w.genesis.circle, &e.author, e.seq))
                            }
                            _ => None,
                        }))
                        .collect();
                }
                op
            }
            Act::Remove { who, lag } => {
                let member = w.people[*who].key();
                Op::Remove {
                    member,
                    upto: held(view, &member).saturating_sub(*lag),
                }
            }
            Act::RemoveAdmitter { lag } => {
                let me = w.people[author].key();
                let member = Membership::derive(&w.genesis, view)
                    .get(&me)
                    .and_then(|m| m.admitted_by)
                    .unwrap_or(w.people[0].key());
                Op::Remove {
                    member,
                    upto: held(view, &member).saturating_sub(*lag),
                }
            }
            Act::Leave => Op::Leave,
            Act::Grant { who } => Op::Grant {
                member: w.people[*who].key(),
            },
            Act::Revoke { who, lag } => {
                let member = w.people[*who].key();
                Op::Revoke {
                    member,
                    upto: held(view, &member).saturating_sub(*lag),
                }
            }
            Act::Policy { members } => Op::Policy {
                invites: if *members {
                    InvitePolicy::Members
                } else {
                    InvitePolicy::Admins
                },
            },
            Act::Rename { name } => Op::Rename {
                name: format!("circle {name}"),
            },
            Act::Rekey { epoch, skip } => {
                let skip = skip.map(|s| w.people[s].key());
                let keys = Membership::derive(&w.genesis, view)
                    .iter()
                    .filter(|m| Some(m.key) != skip)
                    .map(|m| (m.key, vec![1; 80]))
                    .collect();
                Op::NewKey {
                    keys,
                    commitment: [(*epoch % 256) as u8; 32],
                }
            }
        };
        let forked = matches!(byzantine, Byzantine::Forked) && self.seqs[author] > 0;
        if !forked {
            self.seqs[author] += 1;
        }
        let at = match byzantine {
            Byzantine::PostDated => 253_402_300_799_000,
            _ => at,
        };
        let mut e = entry(&w.people[author].key(), self.seqs[author], at, op);
        // What this replica had seen: every author's highest number in its view.
        let mut seen: Vec<(MemberKey, u64)> = w
            .people
            .iter()
            .map(|p| (p.key(), held(&self.views[replica], &p.key())))
            .filter(|(_, seq)| *seq > 0)
            .collect();
        seen.sort();
        let own = w.people[author].key();
        match byzantine {
            Byzantine::AcknowledgingNothing => seen.clear(),
            Byzantine::BlindToOthers => seen.retain(|(k, _)| *k == own),
            Byzantine::ClaimingTheFuture => seen.iter_mut().for_each(|(_, s)| *s += 1000),
            _ => {}
        }
        e.legacy = seen.is_empty();
        e.seen = seen;
        self.views[replica].push(e);
    }

    /// Every operation any replica holds, each once.
    fn union(&self) -> Vec<OpEntry> {
        let mut all = Vec::new();
        for e in self.views.iter().flatten() {
            receive(&mut all, e.clone());
        }
        all
    }
}

/// The highest of `member`'s sequence numbers in `view`.
fn held(view: &[OpEntry], member: &MemberKey) -> u64 {
    view.iter()
        .filter(|e| e.author == *member)
        .map(|e| e.seq)
        .max()
        .unwrap_or(0)
}

fn receive(view: &mut Vec<OpEntry>, e: OpEntry) {
    if !view.iter().any(|held| held.id == e.id) {
        view.push(e);
    }
}

/// A Fisher-Yates shuffle driven by `seed` (xorshift), so a failing case replays exactly.
fn shuffled<T: Clone>(items: &[T], mut seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    for i in (1..out.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    out
}

/// `order` with the versions of each forked number (same author and seq) in reverse: each
/// fork arrives with its other version first.
fn other_versions_first(order: &[OpEntry]) -> Vec<OpEntry> {
    let mut out = order.to_vec();
    let mut numbers: BTreeMap<(MemberKey, u64), Vec<usize>> = BTreeMap::new();
    for (i, e) in order.iter().enumerate() {
        numbers.entry((e.author, e.seq)).or_default().push(i);
    }
    for places in numbers.values().filter(|p| p.len() > 1) {
        for (to, from) in places.iter().zip(places.iter().rev()) {
            out[*to] = order[*from].clone();
        }
    }
    out
}

/// What people see of a membership: members and roles, the current epoch, and which
/// operations took effect (of `ops`).
type Seen = (Vec<(MemberKey, Role)>, u64, Vec<bool>);

fn seen_of(m: &Membership, ops: &[OpEntry]) -> Seen {
    (
        m.iter().map(|x| (x.key, x.role)).collect(),
        m.current_epoch,
        ops.iter().map(|e| m.took_effect(&e.id)).collect(),
    )
}

/// What must hold of any derived membership.
fn check_invariants(m: &Membership) -> std::result::Result<(), TestCaseError> {
    let admins: Vec<_> = m.iter().filter(|x| x.role == Role::Admin).collect();
    prop_assert!(m.is_empty() || !admins.is_empty(), "members but no admin");
    let mut ranks: Vec<_> = admins.iter().map(|a| a.rank).collect();
    ranks.sort();
    ranks.dedup();
    prop_assert_eq!(ranks.len(), admins.len(), "two admins share a rank");
    let mut joined: Vec<_> = m.iter().map(|x| x.joined).collect();
    joined.sort();
    joined.dedup();
    prop_assert_eq!(joined.len(), m.len(), "two members share a join position");
    for (key, _) in m.all_departed() {
        prop_assert!(!m.contains(key), "a departed member is still a member");
    }
    prop_assert!(m.len() <= MAX_MEMBERS);
    if let Some(holders) = m.holders(m.current_epoch) {
        prop_assert_eq!(
            m.needs_rekey(),
            holders.iter().any(|h| !m.contains(h)) || m.iter().any(|x| !holders.contains(&x.key))
        );
    }
    Ok(())
}

/// Rule 3 settled: the operations that do not count (those of people who are not members
/// and never were, and those of departed members after their cut) had no effect.
fn check_settled(
    _genesis: &Genesis,
    ops: &[OpEntry],
    m: &Membership,
) -> std::result::Result<(), TestCaseError> {
    for e in ops {
        prop_assert!(
            m.counts(&e.author, e.seq) || !m.took_effect(&e.id),
            "an operation that does not count took effect"
        );
    }
    Ok(())
}

/// Arbitrary entries, most of them meaningless: unknown authors, repeated and huge sequence
/// numbers, invites and admissions that do not match, cuts anywhere.
fn wild_entry() -> impl Strategy<Value = OpEntry> {
    let author = prop_oneof![
        4 => (0..PEOPLE).prop_map(|i| world().people[i].key()),
        1 => any::<u8>().prop_map(|s| MemberSecret::from_bytes(&[s; 64]).unwrap().public()),
    ];
    let seq = prop_oneof![4 => 0..8u64, 1 => any::<u64>()];
    let at = prop_oneof![4 => 1_000_000..1_100_000u64, 1 => any::<u64>()];
    let who = (0..PEOPLE).prop_map(|i| world().people[i].key());
    let op = prop_oneof![
        (
            0..SLOTS,
            any::<u32>(),
            any::<u64>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4))
        )
            .prop_map(|(slot, uses, expires_at, bound)| Op::Invite {
                id: world().invites[slot].id(),
                key: world().invites[(slot + 1) % SLOTS].join_key().public(),
                expires_at,
                uses,
                bound,
            }),
        (
            0..PEOPLE,
            0..SLOTS,
            proptest::collection::vec(0..4u64, 0..3)
        )
            .prop_map(|(who, slot, epochs)| {
                let mut op = world().admissions[who][slot].clone();
                if let Op::Admit { epochs: e, .. } = &mut op {
                    *e = epochs;
                }
                op
            }),
        (proptest::collection::vec(any::<u8>(), 0..64), 0..SLOTS).prop_map(|(profile, slot)| {
            let Op::Admit { proof, .. } = &world().admissions[0][slot] else {
                unreachable!()
            };
            Op::Admit {
                profile,
                invite: world().invites[slot].id(),
                proof: *proof,
                epochs: vec![0],
            }
        }),
        (0..SLOTS).prop_map(|slot| Op::RevokeInvite {
            id: world().invites[slot].id()
        }),
        (who.clone(), any::<u64>()).prop_map(|(member, upto)| Op::Remove { member, upto }),
        (who.clone(), 0..8u64).prop_map(|(member, upto)| Op::Remove { member, upto }),
        Just(Op::Leave),
        who.clone().prop_map(|member| Op::Grant { member }),
        (who.clone(), 0..8u64).prop_map(|(member, upto)| Op::Revoke { member, upto }),
        any::<bool>().prop_map(|m| Op::Policy {
            invites: if m {
                InvitePolicy::Members
            } else {
                InvitePolicy::Admins
            }
        }),
        ".{0,8}".prop_map(|name| Op::Rename { name }),
        (any::<u64>(), proptest::collection::vec(who.clone(), 0..4)).prop_map(|(epoch, to)| {
            Op::Rekey {
                epoch,
                keys: to.into_iter().map(|m| (m, vec![])).collect(),
            }
        }),
        proptest::collection::vec(who, 0..4).prop_map(|to| Op::NewKey {
            keys: to.into_iter().map(|m| (m, vec![])).collect(),
            commitment: [0; 32],
        }),
    ];
    // What it claims to have seen: often nothing, sometimes numbers never written (a lie).
    let seen = proptest::collection::vec(
        ((0..PEOPLE), prop_oneof![4 => 1..8u64, 1 => any::<u64>()]),
        0..4,
    );
    (author, seq, at, op, seen).prop_map(|(author, seq, at, op, seen)| {
        let mut e = entry(&author, seq, at, op);
        e.seen = seen
            .into_iter()
            .map(|(who, seq)| (world().people[who].key(), seq))
            .collect();
        e.legacy = e.seen.is_empty();
        e
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// (a) The same set of operations derives the same membership in any input order, and
    /// (b) replicas that received it in different orders and subsets agree once they hold it.
    #[test]
    fn replicas_holding_the_same_operations_agree(
        steps in proptest::collection::vec(step(), 1..48),
        seeds in proptest::collection::vec(any::<u64>(), REPLICAS + 2),
    ) {
        let w = world();
        let sim = Sim::run(&steps);
        let all = sim.union();
        let expected = Membership::derive(&w.genesis, &all);
        check_invariants(&expected)?;
        check_settled(&w.genesis, &all, &expected)?;
        for seed in &seeds[REPLICAS..] {
            let input = shuffled(&all, *seed | 1);
            prop_assert_eq!(&Membership::derive(&w.genesis, &input), &expected);
        }
        for (view, seed) in sim.views.iter().zip(&seeds) {
            // What this replica made of its own partial view is a membership too.
            check_invariants(&Membership::derive(&w.genesis, view))?;
            // Taking its operations one at a time, as a node does, gives the same.
            let mut one_by_one = Derivation::new(&w.genesis, Vec::new());
            for e in view {
                one_by_one.learn(&w.genesis, e.clone());
            }
            prop_assert_eq!(one_by_one.membership(), &Membership::derive(&w.genesis, view));
            let mut caught_up = view.clone();
            for e in shuffled(&all, *seed | 1) {
                receive(&mut caught_up, e);
            }
            prop_assert_eq!(&Membership::derive(&w.genesis, &caught_up), &expected);
        }
    }

    /// (d) A dishonest member writes two versions of one operation and sends each to other
    /// replicas (issue 13): nodes that took the versions in in different orders, each fork's
    /// other version first, one at a time as a node does, agree once they hold the same set:
    /// same members, roles, current epoch and operations in effect.
    #[test]
    fn replicas_that_got_different_versions_of_forked_operations_first_agree(
        steps in proptest::collection::vec(forking_step(), 1..48),
        seeds in proptest::collection::vec(any::<u64>(), REPLICAS),
    ) {
        let w = world();
        let sim = Sim::run(&steps);
        let all = sim.union();
        let mut numbers: BTreeMap<(MemberKey, u64), usize> = BTreeMap::new();
        for e in &all {
            *numbers.entry((e.author, e.seq)).or_default() += 1;
        }
        prop_assume!(numbers.values().any(|n| *n > 1), "no fork in this history");
        let expected = Membership::derive(&w.genesis, &all);
        check_invariants(&expected)?;
        check_settled(&w.genesis, &all, &expected)?;
        let want = seen_of(&expected, &all);
        for seed in &seeds {
            let order = shuffled(&all, *seed | 1);
            for order in [other_versions_first(&order), order] {
                let mut node = Derivation::new(&w.genesis, Vec::new());
                for e in &order {
                    node.learn(&w.genesis, e.clone());
                }
                prop_assert_eq!(seen_of(node.membership(), &all), want.clone());
                prop_assert_eq!(node.membership(), &expected);
            }
        }
    }

    /// (c) Derivation never panics, whatever the entries; and it is still order-independent.
    #[test]
    fn any_entries_derive_without_panicking(
        entries in proptest::collection::vec(wild_entry(), 0..40),
        seed in any::<u64>(),
    ) {
        let w = world();
        let m = Membership::derive(&w.genesis, &entries);
        check_invariants(&m)?;
        check_settled(&w.genesis, &entries, &m)?;
        for e in &entries {
            let _ = m.counts(&e.author, e.seq);
            let _ = m.invite_unusable(&world().invites[0].id(), &[], e.at / SEC);
        }
        let reordered = shuffled(&entries, seed | 1);
        prop_assert_eq!(&Membership::derive(&w.genesis, &reordered), &m);
        let mut one_by_one = Derivation::new(&w.genesis, Vec::new());
        let mut as_a_page = Derivation::new(&w.genesis, Vec::new());
        for e in reordered {
            one_by_one.learn(&w.genesis, e.clone());
            as_a_page.take(&w.genesis, e);
        }
        prop_assert_eq!(one_by_one.membership(), &m);
        // Taken as one page (a sync page, a welcome) and derived once, the same.
        as_a_page.settle(&w.genesis);
        prop_assert_eq!(as_a_page.membership(), &m);
    }
}
