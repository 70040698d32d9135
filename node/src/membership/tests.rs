//! The derivation rule, one story per clause, then properties over random histories.
//!
//! Every record here is real: genesis, profiles, invite keys and join proofs are signed, so
//! the tests go through the same checks as operations from the network.

use std::collections::BTreeMap;

use circle_crypto::{InviteSecret, MessageId};
use proptest::prelude::*;

use super::derive::InviteUnusable;
use super::*;

/// One second, in the milliseconds operations are dated in.
const SEC: u64 = 1000;

struct Person {
    name: &'static str,
    secret: MemberSecret,
}

impl Person {
    /// Deterministic keys, so a failing case reads the same every run.
    fn new(name: &'static str, seed: u8) -> Person {
        Person {
            name,
            secret: MemberSecret::from_bytes(&[seed; 64]).unwrap(),
        }
    }

    fn key(&self) -> MemberKey {
        self.secret.public()
    }

    fn node(&self) -> Vec<u8> {
        format!("node of {}", self.name).into_bytes()
    }
}

fn people() -> [Person; 5] {
    [
        Person::new("alice", 1),
        Person::new("bob", 2),
        Person::new("carol", 3),
        Person::new("dave", 4),
        Person::new("erin", 5),
    ]
}

/// Any distinct id will do; a hash of the entry also makes equal entries share one.
fn message_id(author: &MemberKey, seq: u64, at: u64, op: &Op) -> MessageId {
    let bytes = postcard::to_allocvec(&(author, seq, at, op)).unwrap();
    MessageId::from_bytes(blake3::hash(&bytes).as_bytes()).unwrap()
}

fn entry(author: &MemberKey, seq: u64, at: u64, op: Op) -> OpEntry {
    OpEntry {
        author: *author,
        seq,
        at,
        id: message_id(author, seq, at, &op),
        op,
    }
}

/// A circle founded by its first argument, and the operations written in it so far.
struct Circle {
    genesis: Genesis,
    ops: Vec<OpEntry>,
    seqs: BTreeMap<MemberKey, u64>,
}

impl Circle {
    fn found(founder: &Person) -> Circle {
        let wire = Genesis::create(&founder.secret, "Tuesday", founder.name, &founder.node(), 0);
        Circle {
            genesis: Genesis::open(&wire.unwrap()).unwrap(),
            ops: Vec::new(),
            seqs: BTreeMap::new(),
        }
    }

    /// Appends `op` to `author`'s chain, sent at `at` (ms); returns its sequence number.
    fn post(&mut self, author: &Person, at: u64, op: Op) -> u64 {
        let seq = self.seqs.entry(author.key()).or_default();
        *seq += 1;
        self.ops.push(entry(&author.key(), *seq, at, op));
        *seq
    }

    /// Registers an invite: one use, unbound, an hour from `at`.
    fn invite(&mut self, by: &Person, at: u64) -> InviteSecret {
        self.invite_with(by, at, 1, at / SEC + 3600, None)
    }

    fn invite_with(
        &mut self,
        by: &Person,
        at: u64,
        uses: u32,
        expires_at: u64,
        bound: Option<Vec<u8>>,
    ) -> InviteSecret {
        let secret = InviteSecret::generate();
        let op = Op::Invite {
            id: secret.id(),
            key: secret.join_key().public(),
            expires_at,
            uses,
            bound,
        };
        self.post(by, at, op);
        secret
    }

    /// What `who`'s join request through `invite` turns into, handing over `epochs`.
    fn admission(&self, who: &Person, invite: &InviteSecret, epochs: Vec<u64>) -> Op {
        let profile =
            Profile::sign(&who.secret, self.genesis.circle, who.name, &who.node()).unwrap();
        Op::Admit {
            proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
            profile,
            invite: invite.id(),
            epochs,
        }
    }

    /// `by` admits `who` through `invite`, handing over every key epoch so far.
    fn admit(&mut self, by: &Person, who: &Person, invite: &InviteSecret, at: u64) -> u64 {
        let epochs = self.derive().epochs().collect();
        let op = self.admission(who, invite, epochs);
        self.post(by, at, op)
    }

    /// `by` invites and admits `who`, both at `at`.
    fn join(&mut self, by: &Person, who: &Person, at: u64) -> u64 {
        let invite = self.invite(by, at);
        self.admit(by, who, &invite, at)
    }

    /// The highest of `who`'s sequence numbers written so far (what every node here holds).
    fn held(&self, who: &Person) -> u64 {
        self.seqs.get(&who.key()).copied().unwrap_or(0)
    }

    /// Demotes `who`, holding all of their chain.
    fn revoke(&self, who: &Person) -> Op {
        Op::Revoke {
            member: who.key(),
            upto: self.held(who),
        }
    }

    fn derive(&self) -> Membership {
        Membership::derive(&self.genesis, &self.ops)
    }
}

fn role(m: &Membership, who: &Person) -> Option<Role> {
    m.get(&who.key()).map(|m| m.role)
}

fn rekey(epoch: u64, to: &[&Person]) -> Op {
    Op::Rekey {
        epoch,
        keys: to.iter().map(|p| (p.key(), vec![7; 80])).collect(),
    }
}

#[test]
fn the_founder_starts_alone_as_admin() {
    let [alice, bob, ..] = people();
    let circle = Circle::found(&alice);
    let m = circle.derive();
    assert_eq!(m.len(), 1);
    assert_eq!(role(&m, &alice), Some(Role::Admin));
    assert_eq!(m.get(&alice.key()).unwrap().rank, 0);
    assert_eq!(m.name, "Tuesday");
    assert_eq!(m.policy, InvitePolicy::Admins);
    assert_eq!(m.current_epoch, 0);
    assert!(!m.contains(&bob.key()));
    assert!(!m.needs_rekey());
}

#[test]
fn an_admin_admits_through_a_registered_invite() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    let invite = circle.invite(&alice, SEC);
    circle.admit(&alice, &bob, &invite, 2 * SEC);
    let m = circle.derive();
    let b = m.get(&bob.key()).unwrap();
    assert_eq!((b.name.as_str(), b.role), ("bob", Role::Member));
    assert_eq!(b.admitted_by, Some(alice.key()));
    assert_eq!(b.node, bob.node());
    assert_eq!(b.joined, 1);
    assert_eq!(m.invites[&invite.id()].used, 1);
}

#[test]
fn an_admission_without_a_registered_invite_or_with_a_wrong_proof_has_no_effect() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    let unregistered = InviteSecret::generate();
    let op = circle.admission(&bob, &unregistered, vec![0]);
    circle.post(&alice, SEC, op);

    let invite = circle.invite(&alice, SEC);
    let Op::Admit { proof, .. } = circle.admission(&carol, &invite, vec![0]) else {
        unreachable!()
    };
    let Op::Admit { profile, .. } = circle.admission(&bob, &invite, vec![0]) else {
        unreachable!()
    };
    let forged = Op::Admit {
        profile,
        invite: invite.id(),
        proof, // signed over carol's profile, not bob's
        epochs: vec![0],
    };
    circle.post(&alice, 2 * SEC, forged);
    let m = circle.derive();
    assert_eq!(m.len(), 1);
    assert_eq!(m.invites[&invite.id()].used, 0);
}

#[test]
fn a_profile_for_another_circle_is_not_admitted() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    let elsewhere = Circle::found(&alice);
    let invite = circle.invite(&alice, SEC);
    let op = elsewhere.admission(&bob, &invite, vec![0]);
    circle.post(&alice, 2 * SEC, op);
    assert!(!circle.derive().contains(&bob.key()));
}

#[test]
fn a_plain_member_cannot_admit_remove_grant_set_policy_or_rename() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    let before = circle.derive();

    let admins_invite = circle.invite(&alice, 2 * SEC);
    circle.admit(&bob, &dave, &admins_invite, 3 * SEC);
    let bobs_invite = circle.invite(&bob, 3 * SEC);
    circle.admit(&alice, &dave, &bobs_invite, 3 * SEC);
    circle.post(
        &bob,
        4 * SEC,
        Op::Remove {
            member: carol.key(),
            upto: 0,
        },
    );
    circle.post(
        &bob,
        4 * SEC,
        Op::Grant {
            member: carol.key(),
        },
    );
    circle.post(&bob, 4 * SEC, Op::Grant { member: bob.key() });
    circle.post(&bob, 4 * SEC, circle.revoke(&alice));
    let policy = Op::Policy {
        invites: InvitePolicy::Members,
    };
    circle.post(&bob, 4 * SEC, policy);
    circle.post(
        &bob,
        4 * SEC,
        Op::Rename {
            name: "Bob's".into(),
        },
    );

    let m = circle.derive();
    assert!(!m.contains(&dave.key()));
    assert!(!m.invites.contains_key(&bobs_invite.id()));
    assert_eq!(m.invites[&admins_invite.id()].used, 0);
    assert!(m.contains(&carol.key()));
    assert_eq!(role(&m, &alice), Some(Role::Admin));
    assert_eq!(role(&m, &bob), Some(Role::Member));
    assert_eq!(role(&m, &carol), Some(Role::Member));
    assert_eq!(m.policy, InvitePolicy::Admins);
    assert_eq!(m.name, "Tuesday");
    assert_eq!(
        m.iter().collect::<Vec<_>>(),
        before.iter().collect::<Vec<_>>()
    );
}

#[test]
fn an_admin_sets_the_policy_renames_and_grants() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(
        &alice,
        2 * SEC,
        Op::Policy {
            invites: InvitePolicy::Members,
        },
    );
    circle.post(
        &alice,
        2 * SEC,
        Op::Rename {
            name: "Thursday".into(),
        },
    );
    circle.post(&alice, 2 * SEC, Op::Grant { member: bob.key() });
    let m = circle.derive();
    assert_eq!(m.policy, InvitePolicy::Members);
    assert_eq!(m.name, "Thursday");
    assert_eq!(role(&m, &bob), Some(Role::Admin));
    assert_eq!(m.get(&bob.key()).unwrap().rank, 1);
}

#[test]
fn policy_members_lets_members_invite_and_admit() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(
        &alice,
        2 * SEC,
        Op::Policy {
            invites: InvitePolicy::Members,
        },
    );
    circle.join(&bob, &carol, 3 * SEC);
    let admins_invite = circle.invite(&alice, 3 * SEC);
    circle.admit(&carol, &dave, &admins_invite, 4 * SEC);
    let m = circle.derive();
    assert_eq!(m.get(&carol.key()).unwrap().admitted_by, Some(bob.key()));
    assert_eq!(m.get(&dave.key()).unwrap().admitted_by, Some(carol.key()));
    assert_eq!(role(&m, &carol), Some(Role::Member));
}

#[test]
fn an_invite_expires_by_the_time_of_the_admission() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    let invite = circle.invite_with(&alice, SEC, 2, 100, None);
    circle.admit(&alice, &bob, &invite, 100 * SEC - 1);
    circle.admit(&alice, &carol, &invite, 100 * SEC);
    let m = circle.derive();
    assert!(m.contains(&bob.key()));
    assert!(!m.contains(&carol.key()));
    assert_eq!(
        m.invite_unusable(&invite.id(), &carol.node(), 100),
        Some(InviteUnusable::Expired)
    );
}

#[test]
fn an_invite_admits_only_as_many_as_its_uses() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    let invite = circle.invite_with(&alice, SEC, 2, 3600, None);
    for who in [&bob, &carol, &dave] {
        circle.admit(&alice, who, &invite, 2 * SEC);
    }
    let m = circle.derive();
    assert!(m.contains(&bob.key()) && m.contains(&carol.key()));
    assert!(!m.contains(&dave.key()));
    assert_eq!(m.invites[&invite.id()].used, 2);
    assert_eq!(
        m.invite_unusable(&invite.id(), &dave.node(), 2),
        Some(InviteUnusable::UsedUp)
    );
}

#[test]
fn a_revoked_invite_admits_no_one() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    let invite = circle.invite(&alice, SEC);
    circle.post(&alice, 2 * SEC, Op::RevokeInvite { id: invite.id() });
    circle.admit(&alice, &bob, &invite, 3 * SEC);
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert!(m.invites[&invite.id()].revoked);
}

#[test]
fn only_the_issuer_or_an_admin_can_revoke_an_invite() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(
        &alice,
        2 * SEC,
        Op::Policy {
            invites: InvitePolicy::Members,
        },
    );
    let bobs = circle.invite(&bob, 3 * SEC);
    let carols = circle.invite(&carol, 3 * SEC);
    let carols_second = circle.invite(&carol, 3 * SEC);
    circle.post(&carol, 4 * SEC, Op::RevokeInvite { id: bobs.id() });
    circle.post(&carol, 4 * SEC, Op::RevokeInvite { id: carols.id() });
    circle.post(
        &alice,
        4 * SEC,
        Op::RevokeInvite {
            id: carols_second.id(),
        },
    );
    let m = circle.derive();
    assert!(!m.invites[&bobs.id()].revoked);
    assert!(m.invites[&carols.id()].revoked);
    assert!(m.invites[&carols_second.id()].revoked);
}

#[test]
fn a_bound_invite_admits_only_its_node() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    let invite = circle.invite_with(&alice, SEC, 2, 3600, Some(bob.node()));
    circle.admit(&alice, &carol, &invite, 2 * SEC);
    circle.admit(&alice, &bob, &invite, 2 * SEC);
    let m = circle.derive();
    assert!(m.contains(&bob.key()));
    assert!(!m.contains(&carol.key()));
    assert_eq!(
        m.invite_unusable(&invite.id(), &carol.node(), 2),
        Some(InviteUnusable::OtherNode)
    );
}

#[test]
fn an_invite_from_a_member_who_lost_the_right_no_longer_admits() {
    let [alice, bob, carol, dave, erin] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    // Bob invites while members may; then the policy changes.
    circle.post(
        &alice,
        2 * SEC,
        Op::Policy {
            invites: InvitePolicy::Members,
        },
    );
    let bobs = circle.invite(&bob, 3 * SEC);
    circle.post(
        &alice,
        4 * SEC,
        Op::Policy {
            invites: InvitePolicy::Admins,
        },
    );
    circle.admit(&alice, &dave, &bobs, 5 * SEC);
    // Carol invites as an admin; then she is demoted.
    circle.post(
        &alice,
        5 * SEC,
        Op::Grant {
            member: carol.key(),
        },
    );
    let carols = circle.invite(&carol, 6 * SEC);
    circle.post(&alice, 7 * SEC, circle.revoke(&carol));
    circle.admit(&alice, &erin, &carols, 8 * SEC);

    let m = circle.derive();
    assert!(!m.contains(&dave.key()));
    assert!(!m.contains(&erin.key()));
    for invite in [&bobs, &carols] {
        assert_eq!(
            m.invite_unusable(&invite.id(), b"any", 9),
            Some(InviteUnusable::IssuerCannotInvite)
        );
    }
}

#[test]
fn a_removed_member_cannot_be_admitted_again() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(
        &alice,
        2 * SEC,
        Op::Remove {
            member: bob.key(),
            upto: 0,
        },
    );
    circle.join(&alice, &bob, 3 * SEC);
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert_eq!(m.departed(&bob.key()).unwrap().by, alice.key());
}

#[test]
fn a_removed_members_later_operations_have_no_effect_even_when_backdated() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, Op::Grant { member: bob.key() });
    let kept = circle.post(
        &bob,
        2 * SEC,
        Op::Rename {
            name: "Before".into(),
        },
    );
    circle.post(
        &alice,
        10 * SEC,
        Op::Remove {
            member: bob.key(),
            upto: kept,
        },
    );
    // Written after the removal (bob's chain), dated before it (bob's clock).
    let cut = circle.post(
        &bob,
        3 * SEC,
        Op::Rename {
            name: "Backdated".into(),
        },
    );
    let m = circle.derive();
    assert_eq!(m.name, "Before");
    assert!(!m.contains(&bob.key()));
    assert_eq!(m.departed(&bob.key()).unwrap().upto, kept);
    assert!(m.counts(&bob.key(), kept));
    assert!(!m.counts(&bob.key(), cut));
}

#[test]
fn a_removal_racing_an_admission_by_the_removed_admin_voids_the_admission() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, Op::Grant { member: bob.key() });
    let invite = circle.invite(&bob, 2 * SEC);
    let held = circle.seqs[&bob.key()];
    circle.post(
        &alice,
        5 * SEC,
        Op::Remove {
            member: bob.key(),
            upto: held,
        },
    );
    // Bob admits carol before alice's removal reached him (and dated earlier than it).
    circle.admit(&bob, &carol, &invite, 4 * SEC);
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert!(!m.contains(&carol.key()));
    assert_eq!(m.invites[&invite.id()].used, 0);

    // Had alice held the admission when removing bob, it would stand.
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, Op::Grant { member: bob.key() });
    let held = circle.join(&bob, &dave, 2 * SEC);
    circle.post(
        &alice,
        5 * SEC,
        Op::Remove {
            member: bob.key(),
            upto: held,
        },
    );
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert!(m.contains(&dave.key()));
}

#[test]
fn a_removal_voided_by_a_cut_does_not_remove() {
    // Bob (admin) removes carol after alice cut bob's chain: carol stays.
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, SEC, Op::Grant { member: bob.key() });
    circle.post(
        &alice,
        5 * SEC,
        Op::Remove {
            member: bob.key(),
            upto: 0,
        },
    );
    circle.post(
        &bob,
        2 * SEC,
        Op::Remove {
            member: carol.key(),
            upto: 0,
        },
    );
    let m = circle.derive();
    assert!(m.contains(&carol.key()));
    assert!(m.departed(&carol.key()).is_none());
}

#[test]
fn two_admins_removing_each_other_only_the_seniors_removal_takes_effect() {
    let [alice, bob, carol, ..] = people();
    // In both orders of their clocks: seniority decides, not time.
    for (bobs_at, carols_at) in [(5 * SEC, 6 * SEC), (6 * SEC, 5 * SEC)] {
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.join(&alice, &carol, SEC);
        circle.post(&alice, 2 * SEC, Op::Grant { member: bob.key() });
        circle.post(
            &alice,
            3 * SEC,
            Op::Grant {
                member: carol.key(),
            },
        );
        let remove_carol = Op::Remove {
            member: carol.key(),
            upto: 0,
        };
        let remove_bob = Op::Remove {
            member: bob.key(),
            upto: 0,
        };
        circle.post(&bob, bobs_at, remove_carol);
        circle.post(&carol, carols_at, remove_bob);
        let m = circle.derive();
        assert_eq!(role(&m, &bob), Some(Role::Admin), "bob at {bobs_at}");
        assert!(!m.contains(&carol.key()), "carol at {carols_at}");
        assert_eq!(m.departed(&carol.key()).unwrap().by, bob.key());
    }
}

#[test]
fn an_admin_revokes_only_junior_admins_and_itself_only_if_another_remains() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, 2 * SEC, Op::Grant { member: bob.key() });
    circle.post(&bob, 3 * SEC, circle.revoke(&alice));
    let m = circle.derive();
    assert_eq!(role(&m, &alice), Some(Role::Admin));

    circle.post(&alice, 4 * SEC, circle.revoke(&bob));
    circle.post(&alice, 5 * SEC, circle.revoke(&alice));
    let m = circle.derive();
    assert_eq!(role(&m, &bob), Some(Role::Member));
    assert_eq!(role(&m, &alice), Some(Role::Admin), "the last admin stays");
}

/// An admin steps down while another admin remains, as `circle admin revoke <me>` does: the
/// demotion names the highest of her own sequence numbers before it, so the demotion itself is
/// numbered after its own cut; the derivation cuts a self-demotion at itself, as a leave, so
/// it never takes its own authority away.
#[test]
fn an_admin_stepping_down_while_another_remains_becomes_a_member() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, Op::Grant { member: bob.key() });
    let step_down = circle.revoke(&alice);
    circle.post(&alice, 3 * SEC, step_down);
    let m = circle.derive();
    assert_eq!(role(&m, &alice), Some(Role::Member));
    assert_eq!(role(&m, &bob), Some(Role::Admin));
}

#[test]
fn when_the_last_admin_leaves_the_longest_standing_member_becomes_admin() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &carol, SEC);
    circle.join(&alice, &bob, 2 * SEC);
    let left = circle.post(&alice, 3 * SEC, Op::Leave);
    let m = circle.derive();
    assert_eq!(role(&m, &carol), Some(Role::Admin));
    assert_eq!(role(&m, &bob), Some(Role::Member));
    let d = m.departed(&alice.key()).unwrap();
    assert_eq!((d.upto, d.by), (left, alice.key()));

    // The new admin can act; the one who left cannot.
    circle.join(&carol, &dave, 4 * SEC);
    circle.post(
        &alice,
        5 * SEC,
        Op::Rename {
            name: "Gone".into(),
        },
    );
    let m = circle.derive();
    assert!(m.contains(&dave.key()));
    assert_eq!(m.name, "Tuesday");
}

#[test]
fn an_admin_leaving_while_another_remains_promotes_no_one() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(
        &alice,
        2 * SEC,
        Op::Grant {
            member: carol.key(),
        },
    );
    circle.post(&alice, 3 * SEC, Op::Leave);
    let m = circle.derive();
    assert_eq!(role(&m, &bob), Some(Role::Member));
    assert_eq!(role(&m, &carol), Some(Role::Admin));
}

#[test]
fn a_rekey_takes_effect_only_when_every_recipient_is_a_member() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, rekey(7, &[&alice, &bob, &carol]));
    assert_eq!(circle.derive().current_epoch, 0);

    circle.post(&bob, 3 * SEC, rekey(8, &[&alice, &bob]));
    // An epoch number already in use is not started again.
    circle.post(&alice, 4 * SEC, rekey(8, &[&alice]));
    let m = circle.derive();
    assert_eq!(m.current_epoch, 8);
    assert_eq!(m.epochs().collect::<Vec<_>>(), [0, 8]);
    assert_eq!(m.holders(8).unwrap().len(), 2);
    assert!(m.holders(7).is_none());
}

#[test]
fn needs_rekey_after_a_removal_or_leave_not_after_an_admission_handing_over_the_key() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    assert!(!circle.derive().needs_rekey());

    circle.post(
        &alice,
        2 * SEC,
        Op::Remove {
            member: carol.key(),
            upto: 0,
        },
    );
    assert!(circle.derive().needs_rekey());
    circle.post(&alice, 3 * SEC, rekey(5, &[&alice, &bob]));
    assert!(!circle.derive().needs_rekey());

    circle.join(&alice, &dave, 4 * SEC);
    let m = circle.derive();
    assert!(m.holders(5).unwrap().contains(&dave.key()));
    assert!(!m.needs_rekey());

    circle.post(&bob, 5 * SEC, Op::Leave);
    assert!(circle.derive().needs_rekey());
}

#[test]
fn an_admission_without_the_current_key_needs_a_rekey() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, rekey(5, &[&alice, &bob]));
    let invite = circle.invite(&alice, 3 * SEC);
    let op = circle.admission(&carol, &invite, vec![0]);
    circle.post(&alice, 3 * SEC, op);
    let m = circle.derive();
    assert!(m.contains(&carol.key()));
    assert!(m.holders(0).unwrap().contains(&carol.key()));
    assert!(m.needs_rekey());
}

#[test]
fn counts_keeps_a_departed_members_messages_up_to_the_cut() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&bob, 2 * SEC, Op::Rename { name: "x".into() });
    let left = circle.post(&bob, 3 * SEC, Op::Leave);
    circle.post(
        &alice,
        4 * SEC,
        Op::Remove {
            member: carol.key(),
            upto: 4,
        },
    );
    let m = circle.derive();
    assert!(m.counts(&alice.key(), u64::MAX));
    assert!(m.counts(&bob.key(), left));
    assert!(!m.counts(&bob.key(), left + 1));
    assert!(m.counts(&carol.key(), 4));
    assert!(!m.counts(&carol.key(), 5));
    assert!(!m.counts(&dave.key(), 1));
    assert_eq!(m.all_departed().count(), 2);
}

#[test]
fn the_same_operations_in_any_order_derive_the_same_membership() {
    let [alice, bob, carol, dave, erin] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, Op::Grant { member: bob.key() });
    circle.join(&bob, &carol, 2 * SEC);
    circle.join(&alice, &dave, 2 * SEC);
    circle.post(
        &bob,
        3 * SEC,
        Op::Remove {
            member: dave.key(),
            upto: 0,
        },
    );
    circle.post(
        &alice,
        3 * SEC,
        Op::Remove {
            member: bob.key(),
            upto: 1,
        },
    );
    circle.join(&bob, &erin, 2 * SEC);
    let expected = circle.derive();
    let mut ops = circle.ops.clone();
    ops.reverse();
    assert_eq!(Membership::derive(&circle.genesis, &ops), expected);
    ops.rotate_left(3);
    assert_eq!(Membership::derive(&circle.genesis, &ops), expected);
    // Duplicates count once.
    ops.extend(circle.ops.iter().cloned());
    assert_eq!(Membership::derive(&circle.genesis, &ops), expected);
}

/// Carol, admitted by bob (a plain member, under the members policy) and then made admin by
/// alice, removes bob naming a cut (`upto`) below bob's admission of her. If the cut held, her
/// admission would have no effect, so neither would her removal, and there would be no cut: no
/// cut set is stable. The passes alternate until `MAX_PASSES` and the even count ends with
/// carol neither a member nor departed while bob, whose chain is not cut, is still in: his
/// admission of her voided by a cut that is not there. Honest nodes never write such a cut
/// (carol's node holds the admission that let her in), but any admin can. The one consistent
/// outcome: the removal has no effect.
///
/// Suggested fix in derive.rs: a removal (or demotion) cannot cut the operations its author's
/// own membership or admin role rests on (raise `upto` to them); and, for what that misses,
/// end a cycle of cut sets by voiding the removals whose cuts keep changing, then derive again,
/// so the result never depends on the parity of `MAX_PASSES`.
#[test]
#[ignore = "known bug: this history does not settle (the passes alternate), see derive.rs MAX_PASSES"]
fn a_removal_cutting_the_removers_own_admission_has_no_effect() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let members = Op::Policy {
        invites: InvitePolicy::Members,
    };
    circle.post(&alice, 2 * SEC, members);
    let admission = circle.join(&bob, &carol, 3 * SEC);
    let grant = Op::Grant {
        member: carol.key(),
    };
    circle.post(&alice, 4 * SEC, grant);
    let remove = Op::Remove {
        member: bob.key(),
        upto: admission - 1,
    };
    circle.post(&carol, 5 * SEC, remove);
    let m = circle.derive();
    assert!(m.departed(&bob.key()).is_none());
    assert!(m.contains(&bob.key()));
    assert_eq!(role(&m, &carol), Some(Role::Admin));
}

#[test]
fn a_removal_that_holds_the_removers_own_admission_takes_effect() {
    // The same history, with the cut carol's node would name.
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let members = Op::Policy {
        invites: InvitePolicy::Members,
    };
    circle.post(&alice, 2 * SEC, members);
    let admission = circle.join(&bob, &carol, 3 * SEC);
    let grant = Op::Grant {
        member: carol.key(),
    };
    circle.post(&alice, 4 * SEC, grant);
    let remove = Op::Remove {
        member: bob.key(),
        upto: admission,
    };
    circle.post(&carol, 5 * SEC, remove);
    let m = circle.derive();
    assert_eq!(m.departed(&bob.key()).unwrap().upto, admission);
    assert_eq!(role(&m, &carol), Some(Role::Admin));
}

// Properties over random histories.

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
    },
    /// Replica `to` receives the operations of replica `from` that `mask` picks.
    Sync { from: usize, to: usize, mask: u64 },
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
        )
            .prop_map(|((replica, author, as_member), act, dt, backdated)| Step::Write {
                replica,
                author,
                as_member,
                act,
                dt,
                backdated,
            }),
        1 => (0..REPLICAS, 0..REPLICAS, any::<u64>())
            .prop_map(|(from, to, mask)| Step::Sync { from, to, mask }),
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
                    sim.write(*replica, author, act, *dt, *backdated)
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
                            Op::Rekey { epoch, .. } => Some(*epoch),
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
                Op::Rekey {
                    epoch: *epoch,
                    keys,
                }
            }
        };
        self.seqs[author] += 1;
        let e = entry(&w.people[author].key(), self.seqs[author], at, op);
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
/// and never were, and those of departed members after their cut) had no effect, so dropping
/// them derives the same membership.
fn check_settled(
    genesis: &Genesis,
    ops: &[OpEntry],
    m: &Membership,
) -> std::result::Result<(), TestCaseError> {
    let counted: Vec<OpEntry> = ops
        .iter()
        .filter(|e| m.counts(&e.author, e.seq))
        .cloned()
        .collect();
    prop_assert_eq!(&Membership::derive(genesis, &counted), m, "not settled");
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
        (any::<u64>(), proptest::collection::vec(who, 0..4)).prop_map(|(epoch, to)| Op::Rekey {
            epoch,
            keys: to.into_iter().map(|m| (m, vec![])).collect(),
        }),
    ];
    (author, seq, at, op).prop_map(|(author, seq, at, op)| entry(&author, seq, at, op))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

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
            let mut caught_up = view.clone();
            for e in shuffled(&all, *seed | 1) {
                receive(&mut caught_up, e);
            }
            prop_assert_eq!(&Membership::derive(&w.genesis, &caught_up), &expected);
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
        prop_assert_eq!(Membership::derive(&w.genesis, &reordered), m);
    }
}

#[test]
fn zz_stats() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strat = proptest::collection::vec(step(), 1..48);
    let mut hist = BTreeMap::new();
    for _ in 0..200 {
        let steps = strat.new_tree(&mut runner).unwrap().current();
        let sim = Sim::run(&steps);
        let all = sim.union();
        let m = Membership::derive(&world().genesis, &all);
        let admins = m.iter().filter(|x| x.role == Role::Admin).count();
        *hist
            .entry((
                m.len(),
                m.all_departed().count(),
                admins,
                m.epochs().count(),
            ))
            .or_insert(0) += 1;
    }
    eprintln!("(members, departed, admins, epochs): count\n{hist:?}");
}
