//! The derivation rule, one story per clause; properties over random histories in `props`.
//!
//! Every record here is real: genesis, profiles, invite keys and join proofs are signed, so
//! the tests go through the same checks as operations from the network.

use std::collections::BTreeMap;

use circle_crypto::{InviteSecret, MessageId};

use super::derive::InviteUnusable;
use super::*;

mod props;
mod returns;

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
        seen: Vec::new(),
        legacy: true,
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

    /// Appends `op` to `author`'s chain, sent at `at` (ms), by a node that had seen
    /// everything written so far here (as an honest node in a circle that is in sync); returns
    /// its sequence number.
    fn post(&mut self, author: &Person, at: u64, op: Op) -> u64 {
        let seen: Vec<_> = self.seqs.iter().map(|(k, s)| (*k, *s)).collect();
        self.post_seeing(author, at, op, seen)
    }

    /// Appends `op` to `author`'s chain acknowledging exactly `seen` (sorted by author).
    fn post_seeing(
        &mut self,
        author: &Person,
        at: u64,
        op: Op,
        seen: Vec<(MemberKey, u64)>,
    ) -> u64 {
        let seq = self.seqs.entry(author.key()).or_default();
        *seq += 1;
        let mut e = entry(&author.key(), *seq, at, op);
        e.legacy = seen.is_empty();
        e.seen = seen;
        self.ops.push(e);
        *seq
    }

    /// What a node holding everything written so far here acknowledges.
    fn everything(&self) -> Vec<(MemberKey, u64)> {
        self.seqs.iter().map(|(k, s)| (*k, *s)).collect()
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

    /// The membership a node reaches taking the operations one at a time, as they arrive.
    fn learned_one_at_a_time(&self) -> Membership {
        let mut derivation = Derivation::new(&self.genesis, Vec::new());
        for e in &self.ops {
            derivation.learn(&self.genesis, e.clone());
        }
        derivation.membership().clone()
    }
}

fn role(m: &Membership, who: &Person) -> Option<Role> {
    m.get(&who.key()).map(|m| m.role)
}

fn grant(who: &Person) -> Op {
    Op::Grant { member: who.key() }
}

fn remove(who: &Person, upto: u64) -> Op {
    Op::Remove {
        member: who.key(),
        upto,
    }
}

fn policy(invites: InvitePolicy) -> Op {
    Op::Policy { invites }
}

fn rename(name: &str) -> Op {
    Op::Rename { name: name.into() }
}

fn revoke_invite(invite: &InviteSecret) -> Op {
    Op::RevokeInvite { id: invite.id() }
}

/// A new key sealed to `to` (the copies are not opened here).
fn new_key(to: &[&Person]) -> Op {
    Op::NewKey {
        keys: to.iter().map(|p| (p.key(), vec![7; 80])).collect(),
        commitment: [7; 32],
    }
}

impl Circle {
    /// `by` starts a new key epoch sealed to `to`; returns its id.
    fn rekey(&mut self, by: &Person, at: u64, to: &[&Person]) -> u64 {
        let seq = self.post(by, at, new_key(to));
        epoch_of(&self.genesis.circle, &by.key(), seq)
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
    circle.post(&bob, 4 * SEC, remove(&carol, 0));
    circle.post(&bob, 4 * SEC, grant(&carol));
    circle.post(&bob, 4 * SEC, grant(&bob));
    circle.post(&bob, 4 * SEC, circle.revoke(&alice));
    circle.post(&bob, 4 * SEC, policy(InvitePolicy::Members));
    circle.post(&bob, 4 * SEC, rename("Bob's"));

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
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
    circle.post(&alice, 2 * SEC, rename("Thursday"));
    circle.post(&alice, 2 * SEC, grant(&bob));
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
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
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
    circle.post(&alice, 2 * SEC, revoke_invite(&invite));
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
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
    let bobs = circle.invite(&bob, 3 * SEC);
    let carols = circle.invite(&carol, 3 * SEC);
    let carols_second = circle.invite(&carol, 3 * SEC);
    circle.post(&carol, 4 * SEC, revoke_invite(&bobs));
    circle.post(&carol, 4 * SEC, revoke_invite(&carols));
    circle.post(&alice, 4 * SEC, revoke_invite(&carols_second));
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
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
    let bobs = circle.invite(&bob, 3 * SEC);
    circle.post(&alice, 4 * SEC, policy(InvitePolicy::Admins));
    circle.admit(&alice, &dave, &bobs, 5 * SEC);
    // Carol invites as an admin; then she is demoted.
    circle.post(&alice, 5 * SEC, grant(&carol));
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
    circle.post(&alice, 2 * SEC, remove(&bob, 0));
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
    circle.post(&alice, SEC, grant(&bob));
    let kept = circle.post(&bob, 2 * SEC, rename("Before"));
    circle.post(&alice, 10 * SEC, remove(&bob, kept));
    // Written after the removal (bob's chain), dated before it (bob's clock).
    let cut = circle.post(&bob, 3 * SEC, rename("Backdated"));
    let m = circle.derive();
    assert_eq!(m.name, "Before");
    assert!(!m.contains(&bob.key()));
    assert_eq!(m.departed(&bob.key()).unwrap().upto, kept);
    assert!(m.counts(&bob.key(), kept));
    assert!(!m.counts(&bob.key(), cut));
    let [.., renamed, removal, backdated] = &circle.ops[..] else {
        unreachable!()
    };
    assert!(m.took_effect(&renamed.id) && m.took_effect(&removal.id));
    assert!(!m.took_effect(&backdated.id));
}

#[test]
fn a_demoted_admins_later_operations_have_no_admin_authority_even_when_backdated() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, grant(&bob));
    circle.post(&bob, 2 * SEC, rename("Before"));
    let demotion = circle.revoke(&bob);
    circle.post(&alice, 10 * SEC, demotion);
    circle.post(&bob, 3 * SEC, rename("Backdated"));
    let m = circle.derive();
    assert_eq!(m.name, "Before");
    assert_eq!(role(&m, &bob), Some(Role::Member));
    assert_eq!(role(&m, &alice), Some(Role::Admin));
}

#[test]
fn an_admin_demoted_and_made_admin_again_acts_as_one_after() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, grant(&bob));
    let demotion = circle.revoke(&bob);
    circle.post(&alice, 2 * SEC, demotion);
    circle.post(&alice, 3 * SEC, grant(&bob));
    circle.post(&bob, 4 * SEC, rename("Again"));
    let m = circle.derive();
    assert_eq!(m.name, "Again");
    assert_eq!(role(&m, &bob), Some(Role::Admin));
    assert_eq!(m.get(&bob.key()).unwrap().rank, 2);
}

#[test]
fn a_removal_racing_an_admission_by_the_removed_admin_voids_the_admission() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, grant(&bob));
    let invite = circle.invite(&bob, 2 * SEC);
    let before = circle.everything();
    let held = circle.seqs[&bob.key()];
    circle.post(&alice, 5 * SEC, remove(&bob, held));
    // Bob admits carol before alice's removal reached him (and dated earlier than it).
    let epochs = circle.derive().epochs().collect();
    let op = circle.admission(&carol, &invite, epochs);
    circle.post_seeing(&bob, 4 * SEC, op, before);
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert!(!m.contains(&carol.key()));
    assert_eq!(m.invites[&invite.id()].used, 0);

    // Had alice held the admission when removing bob, it would stand.
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, SEC, grant(&bob));
    let held = circle.join(&bob, &dave, 2 * SEC);
    circle.post(&alice, 5 * SEC, remove(&bob, held));
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
    circle.post(&alice, SEC, grant(&bob));
    circle.post(&alice, 5 * SEC, remove(&bob, 0));
    circle.post(&bob, 2 * SEC, remove(&carol, 0));
    let m = circle.derive();
    assert!(m.contains(&carol.key()));
    assert!(m.departed(&carol.key()).is_none());
}

#[test]
fn two_admins_removing_each_other_only_the_seniors_removal_takes_effect() {
    let [alice, bob, carol, dave, ..] = people();
    // In both orders of their clocks, and of their message ids: seniority decides.
    for ((bobs_at, carols_at), ids) in [(5 * SEC, 6 * SEC), (6 * SEC, 5 * SEC)]
        .into_iter()
        .flat_map(|dates| [(dates, (1, 2)), (dates, (2, 1))])
    {
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.join(&alice, &carol, SEC);
        circle.join(&alice, &dave, SEC);
        circle.post(&alice, 2 * SEC, grant(&bob));
        circle.post(&alice, 3 * SEC, grant(&carol));
        let seen = circle.everything();
        let [b, c] = [circle.held(&bob), circle.held(&carol)];
        // Neither saw the other's removal; carol also removes dave at the same time.
        circle.ops.extend([
            pinned(&bob, b + 1, bobs_at, remove(&carol, c), &seen, ids.0),
            pinned(&carol, c + 1, carols_at, remove(&bob, b), &seen, ids.1),
            pinned(&carol, c + 2, carols_at, remove(&dave, 1), &seen, 0),
        ]);
        let m = circle.derive();
        let case = format!(
            "bob at {bobs_at} id {}, carol at {carols_at} id {}",
            ids.0, ids.1
        );
        assert_eq!(role(&m, &bob), Some(Role::Admin), "{case}");
        assert!(!m.contains(&carol.key()), "{case}");
        assert_eq!(m.departed(&carol.key()).unwrap().by, bob.key(), "{case}");
        // What carol did concurrently with her removal is dropped.
        assert!(m.contains(&dave.key()), "{case}");
    }
}

#[test]
fn an_admin_revokes_only_junior_admins_and_itself_only_if_another_remains() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, 2 * SEC, grant(&bob));
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
    circle.post(&alice, 2 * SEC, grant(&bob));
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
    circle.post(&alice, 5 * SEC, rename("Gone"));
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
    circle.post(&alice, 2 * SEC, grant(&carol));
    circle.post(&alice, 3 * SEC, Op::Leave);
    let m = circle.derive();
    assert_eq!(role(&m, &bob), Some(Role::Member));
    assert_eq!(role(&m, &carol), Some(Role::Admin));
}

#[test]
fn a_new_key_takes_effect_only_when_every_recipient_is_a_member_and_its_epoch_is_its_own() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let to_outsider = circle.rekey(&alice, 2 * SEC, &[&alice, &bob, &carol]);
    assert_eq!(circle.derive().current_epoch, 0);

    let bobs = circle.rekey(&bob, 3 * SEC, &[&alice, &bob]);
    // An old-format new key that copies its epoch id, dated earlier, voids nothing; nor
    // does one with an epoch id of its own choosing.
    let copy = |epoch| Op::Rekey {
        epoch,
        keys: vec![(alice.key(), vec![7; 80])],
    };
    circle.post(&alice, SEC, copy(bobs));
    circle.post(&alice, 4 * SEC, copy(9));
    let m = circle.derive();
    assert_eq!(m.current_epoch, bobs);
    assert_eq!(m.epochs().collect::<Vec<_>>(), [0, bobs]);
    assert_eq!(m.holders(bobs).unwrap().len(), 2);
    assert!(m.holders(to_outsider).is_none());
    assert!(m.holders(9).is_none());
}

#[test]
fn needs_rekey_after_a_removal_or_leave_not_after_an_admission_handing_over_the_key() {
    let [alice, bob, carol, dave, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    assert!(!circle.derive().needs_rekey());

    circle.post(&alice, 2 * SEC, remove(&carol, 0));
    assert!(circle.derive().needs_rekey());
    let epoch = circle.rekey(&alice, 3 * SEC, &[&alice, &bob]);
    assert!(!circle.derive().needs_rekey());

    circle.join(&alice, &dave, 4 * SEC);
    let m = circle.derive();
    assert!(m.holders(epoch).unwrap().contains(&dave.key()));
    assert!(!m.needs_rekey());

    circle.post(&bob, 5 * SEC, Op::Leave);
    assert!(circle.derive().needs_rekey());
}

#[test]
fn an_admission_without_the_current_key_needs_a_rekey() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.rekey(&alice, 2 * SEC, &[&alice, &bob]);
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
    circle.post(&bob, 2 * SEC, rename("x"));
    let left = circle.post(&bob, 3 * SEC, Op::Leave);
    for i in 0..4 {
        circle.post(&carol, 4 * SEC, rename(&format!("carol's {i}")));
    }
    circle.post(&alice, 4 * SEC, remove(&carol, 4));
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
    circle.post(&alice, SEC, grant(&bob));
    circle.join(&bob, &carol, 2 * SEC);
    circle.join(&alice, &dave, 2 * SEC);
    circle.post(&bob, 3 * SEC, remove(&dave, 0));
    circle.post(&alice, 3 * SEC, remove(&bob, 1));
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
/// cut set is stable (the passes used to alternate until `MAX_PASSES`). A cut never goes below
/// the operations its author's own membership and admin role rest on: the removal acknowledged
/// alice's grant, which acknowledged bob's admission of carol, so its causal past holds that
/// admission whatever its own `seen` claims, and the removal cuts at it.
#[test]
fn a_removal_cutting_the_removers_own_admission_cuts_at_it() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
    let admission = circle.join(&bob, &carol, 3 * SEC);
    circle.post(&alice, 4 * SEC, grant(&carol));
    let mut seen = circle.everything();
    for (who, seq) in &mut seen {
        if *who == bob.key() {
            *seq = admission - 1;
        }
    }
    circle.post_seeing(&carol, 5 * SEC, remove(&bob, admission - 1), seen);
    let (m, settled) = Membership::derive_settled(&circle.genesis, &circle.ops);
    assert!(settled, "the passes did not settle");
    assert_eq!(m.departed(&bob.key()).unwrap().upto, admission);
    assert_eq!(role(&m, &carol), Some(Role::Admin));
    // In a circle written as before membership version 4 (content tag 1, acknowledging
    // nothing), the cut is raised to her admission, and the history settles.
    for e in &mut circle.ops {
        e.seen = Vec::new();
        e.legacy = true;
    }
    let (m, settled) = Membership::derive_settled(&circle.genesis, &circle.ops);
    assert!(settled, "the passes did not settle");
    assert_eq!(m.departed(&bob.key()).unwrap().upto, admission);
    assert!(m.contains(&carol.key()));
}

#[test]
fn a_removal_that_holds_the_removers_own_admission_takes_effect() {
    // The same history, with the cut carol's node would name.
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
    let admission = circle.join(&bob, &carol, 3 * SEC);
    circle.post(&alice, 4 * SEC, grant(&carol));
    circle.post(&carol, 5 * SEC, remove(&bob, admission));
    let m = circle.derive();
    assert_eq!(m.departed(&bob.key()).unwrap().upto, admission);
    assert_eq!(role(&m, &carol), Some(Role::Admin));
}

#[test]
fn an_admission_of_a_key_nothing_can_be_sealed_to_takes_no_effect_at_derivation() {
    // Say the admission was stored before this build refused such profiles at the door.
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    let invite = circle.invite(&alice, SEC);
    let degenerate = Profile {
        circle: circle.genesis.circle,
        member: bob.key(),
        exchange: circle_crypto::ExchangeKey::from_bytes(&[0; 32]).unwrap(),
        name: "bob".into(),
        node: bob.node(),
    };
    let profile = Profile::sign_as_given(&bob.secret, &degenerate);
    let admit = Op::Admit {
        proof: invite.join_key().sign(JOIN_PROOF_DOMAIN, &profile),
        profile,
        invite: invite.id(),
        epochs: vec![0],
    };
    assert!(admit.check().is_err(), "refused at the door");
    circle.post(&alice, 2 * SEC, admit);
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert!(!m.needs_rekey());
}

#[test]
fn a_cut_below_what_the_remover_had_acknowledged_keeps_what_was_acknowledged() {
    let [alice, bob, carol, dave, erin] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, 2 * SEC);
    circle.post(&alice, 3 * SEC, grant(&bob));
    // bob, an admin, lets dave and erin in; alice writes something having seen all that.
    circle.join(&bob, &dave, 4 * SEC);
    circle.join(&bob, &erin, 5 * SEC);
    circle.post(&alice, 6 * SEC, rename("Tuesdays"));
    let bobs = circle.held(&bob);
    assert_eq!(bobs, 4);
    // Then alice demotes bob claiming to have seen nothing of his, and removes him so.
    circle.post(
        &alice,
        7 * SEC,
        Op::Revoke {
            member: bob.key(),
            upto: 0,
        },
    );
    let m = circle.derive();
    assert_eq!(role(&m, &bob), Some(Role::Member));
    for who in [&dave, &erin] {
        assert!(m.contains(&who.key()), "{} was un-admitted", who.name);
    }
    circle.post(&alice, 8 * SEC, remove(&bob, 0));
    let m = circle.derive();
    assert_eq!(m.departed(&bob.key()).map(|d| d.upto), Some(bobs));
    assert!(
        m.counts(&bob.key(), bobs),
        "bob's acknowledged history is hidden"
    );
    assert!(!m.counts(&bob.key(), bobs + 1));
    for who in [&carol, &dave, &erin] {
        assert!(m.contains(&who.key()));
    }
}

#[test]
fn an_operation_comes_after_what_it_acknowledged_whatever_the_dates() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, grant(&bob));
    // bob dates his rename in the year 9999; alice renames having seen it.
    circle.post(&bob, 253_402_300_799_000, rename("Bob's"));
    circle.post(&alice, 3 * SEC, rename("Tuesday again"));
    assert_eq!(circle.derive().name, "Tuesday again");
    // A claim to have seen what was never written yet (a cycle) stalls nothing, and the
    // result does not depend on the order the operations came in.
    let last = circle.ops.len() - 2;
    circle.ops[last].seen = vec![(alice.key(), 1000)];
    circle.ops[last].legacy = false;
    let m = circle.derive();
    let mut reversed = circle.ops.clone();
    reversed.reverse();
    assert_eq!(Membership::derive(&circle.genesis, &reversed), m);
    assert_eq!(m.len(), 2);
}

#[test]
fn a_flood_of_operations_that_change_nothing_is_taken_in_near_linear_steps() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let mut derivation = Derivation::new(&circle.genesis, circle.ops.clone());
    let before = derivation.steps();
    // bob, a plain member, renames the circle 10 000 times: none takes effect.
    const FLOOD: u64 = 10_000;
    for i in 0..FLOOD {
        let seq = i + 1;
        let op = rename(&format!("flood {i}"));
        let mut e = entry(&bob.key(), seq, 2 * SEC + i, op);
        e.seen = vec![(alice.key(), 2), (bob.key(), seq - 1)];
        e.seen.retain(|(_, s)| *s > 0);
        e.seen.sort();
        e.legacy = e.seen.is_empty();
        derivation.learn(&circle.genesis, e.clone());
        circle.ops.push(e);
    }
    let taken = derivation.steps() - before;
    assert!(taken <= 2 * FLOOD, "{taken} steps for {FLOOD} operations");
    assert_eq!(derivation.membership(), &circle.derive());
    assert_eq!(derivation.membership().name, "Tuesday");
}

/// An entry of `author`'s numbered `seq`, sent at `at`, acknowledging `seen`, whose message id
/// is `id` (a real id is a hash of the envelope, date included: here it is fixed, so that only
/// the date changes between runs).
fn pinned(
    author: &Person,
    seq: u64,
    at: u64,
    op: Op,
    seen: &[(MemberKey, u64)],
    id: u8,
) -> OpEntry {
    let mut e = entry(&author.key(), seq, at, op);
    e.seen = seen.to_vec();
    e.legacy = seen.is_empty();
    e.id = MessageId::from_bytes(&[id; 32]).unwrap();
    e
}

/// The year 9999, in the milliseconds operations are dated in.
const YEAR_9999: u64 = 253_402_300_799_000;

#[test]
fn bob_post_dating_his_key_epoch_to_the_year_9999_does_not_keep_it_current() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    let seen = circle.everything();
    let [a, b] = [circle.held(&alice), circle.held(&bob)];
    // Alice and bob each start a new key, neither having seen the other's; bob dates his in
    // the year 9999. Operations that did not see each other go by message id: alice's.
    let bobs = pinned(
        &bob,
        b + 1,
        YEAR_9999,
        new_key(&[&alice, &bob, &carol]),
        &seen,
        1,
    );
    let alices = pinned(
        &alice,
        a + 1,
        3 * SEC,
        new_key(&[&alice, &bob, &carol]),
        &seen,
        2,
    );
    circle.ops.extend([bobs, alices]);
    let m = circle.derive();
    assert_eq!(
        m.current_epoch,
        epoch_of(&circle.genesis.circle, &alice.key(), a + 1)
    );
    // And a key started by anyone who saw both comes after both, whatever bob's date.
    circle.seqs.insert(alice.key(), a + 1);
    circle.seqs.insert(bob.key(), b + 1);
    let carols = circle.rekey(&carol, 4 * SEC, &[&alice, &bob, &carol]);
    assert_eq!(circle.derive().current_epoch, carols);
}

#[test]
fn concurrent_renames_go_by_message_id_however_their_authors_date_them() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, grant(&bob));
    let seen = circle.everything();
    let [a, b] = [circle.held(&alice), circle.held(&bob)];
    // Bob post-dates his rename, then back-dates it: neither saw the other's, so the order
    // (and the name) is the same both times: by message id, alice's last.
    for bobs_date in [YEAR_9999, 0] {
        let mut ops = circle.ops.clone();
        ops.push(pinned(&bob, b + 1, bobs_date, rename("Bob's"), &seen, 1));
        ops.push(pinned(&alice, a + 1, 3 * SEC, rename("Alice's"), &seen, 2));
        let m = Membership::derive(&circle.genesis, &ops);
        assert_eq!(m.name, "Alice's", "bob dated his at {bobs_date}");
    }
}

#[test]
fn an_admin_operation_written_before_its_author_saw_their_grant_has_no_effect() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let before = circle.everything();
    circle.post(&alice, 5 * SEC, grant(&bob));
    // Bob renames the circle having seen no grant, dated after it (and with a message id
    // that puts it after the grant too).
    let b = circle.held(&bob);
    circle
        .ops
        .push(pinned(&bob, b + 1, 6 * SEC, rename("Bob's"), &before, 255));
    let m = circle.derive();
    assert_eq!(role(&m, &bob), Some(Role::Admin));
    assert_eq!(m.name, "Tuesday");
    // Having seen the grant, he can.
    circle.seqs.insert(bob.key(), b + 1);
    circle.post(&bob, 7 * SEC, rename("Bob's"));
    assert_eq!(circle.derive().name, "Bob's");
}

/// `seen` without `who`'s chain.
fn without(mut seen: Vec<(MemberKey, u64)>, who: &Person) -> Vec<(MemberKey, u64)> {
    seen.retain(|(k, _)| *k != who.key());
    seen
}

#[test]
fn an_admins_removal_claiming_to_have_seen_nothing_keeps_what_an_operation_it_acknowledged_had_seen()
 {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, SEC, grant(&carol));
    // Bob shares five messages; carol's node holds them all when it writes an operation as an
    // admin (a plain member's claims would not be trusted for a cut).
    circle.seqs.insert(bob.key(), 5);
    circle.post(&carol, 2 * SEC, rename("Carol's"));
    // Alice's node wrote nothing since. Her modified program removes bob with `upto: 0`,
    // acknowledging carol's operation but none of bob's messages, to hide all five.
    let seen = without(circle.everything(), &bob);
    circle.post_seeing(&alice, 3 * SEC, remove(&bob, 0), seen);
    let m = circle.derive();
    let gone = m.departed(&bob.key()).expect("bob is removed");
    assert_eq!(
        gone.upto, 5,
        "bob's messages seen before the removal are hidden"
    );
    for seq in 1..=5 {
        assert!(m.counts(&bob.key(), seq), "bob's message {seq} is hidden");
    }
    assert!(!m.counts(&bob.key(), 6));
    // Learnt one at a time, the same.
    assert_eq!(circle.learned_one_at_a_time(), m);
}

/// Bob has written three messages; carol, a plain member working with him, writes an
/// operation claiming to hold his chain up to 50; alice's node, holding everything, writes
/// `op` about bob acknowledging carol's operation. Returns the circle.
fn colluders_claim_then(op: impl FnOnce(&Circle) -> Op, bob_is_admin: bool) -> Circle {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    if bob_is_admin {
        circle.post(&alice, SEC, grant(&bob));
    }
    circle.seqs.insert(bob.key(), 3);
    let claim = bump(circle.everything(), &bob, 50);
    circle.post_seeing(&carol, 2 * SEC, rename("Carol's"), claim);
    let op = op(&circle);
    circle.post(&alice, 3 * SEC, op);
    circle
}

#[test]
fn a_plain_members_claim_of_a_removed_members_numbers_not_yet_written_does_not_keep_him_writing() {
    let [_, bob, ..] = people();
    let circle = colluders_claim_then(|c| remove(&people()[1], c.held(&people()[1])), false);
    let (m, settled) = Membership::derive_settled(&circle.genesis, &circle.ops);
    assert!(settled);
    let gone = m.departed(&bob.key()).expect("bob is removed");
    assert_eq!(gone.upto, 3, "the colluder's claim raised the cut");
    for seq in 1..=3 {
        assert!(m.counts(&bob.key(), seq), "bob's message {seq} is hidden");
    }
    for seq in [4, 10, 50] {
        assert!(
            !m.counts(&bob.key(), seq),
            "bob's message {seq}, written after the removal, counts"
        );
    }
    // Learnt one at a time, the same.
    assert_eq!(circle.learned_one_at_a_time(), m);
}

#[test]
fn a_plain_members_claim_of_a_demoted_admins_numbers_not_yet_written_does_not_keep_his_authority() {
    let [alice, bob, carol, ..] = people();
    let mut circle = colluders_claim_then(|c| c.revoke(&people()[1]), true);
    let demoted_at = circle.held(&bob);
    assert_eq!(role(&circle.derive(), &bob), Some(Role::Member));
    // bob's node, not having heard, removes carol with his next number, one the claim covers.
    let seen = bump(circle.everything(), &alice, circle.held(&alice) - 1);
    circle.post_seeing(&bob, 4 * SEC, remove(&carol, 0), seen);
    assert!(circle.held(&bob) > demoted_at && circle.held(&bob) <= 50);
    let m = circle.derive();
    assert!(
        m.contains(&carol.key()),
        "bob's removal written after his demotion took effect"
    );
    assert_eq!(role(&m, &bob), Some(Role::Member));
}

#[test]
fn an_admin_operation_that_saw_its_authors_grant_through_another_members_operation_takes_effect() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    let before = circle.everything();
    let granted = circle.post(&alice, 2 * SEC, grant(&bob));
    // Carol writes having seen the grant; bob's node has seen carol's operation, but its
    // `seen` of alice's chain stops before the grant (the grant reached it through carol's).
    let c = circle.post(&carol, 3 * SEC, rename("Carol's"));
    let mut seen = bump(before, &carol, c);
    assert!(seen.contains(&(alice.key(), granted - 1)));
    seen.sort();
    circle.post_seeing(&bob, 4 * SEC, rename("Bob's"), seen);
    let m = circle.derive();
    assert_eq!(role(&m, &bob), Some(Role::Admin));
    assert_eq!(
        m.name, "Bob's",
        "the grant bob's operation saw was not counted"
    );
}

#[test]
fn an_operation_written_before_its_author_saw_their_own_admission_has_no_effect() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.post(&alice, SEC, policy(InvitePolicy::Members));
    let before = circle.everything();
    let invite = circle.invite(&alice, 2 * SEC);
    circle.admit(&alice, &bob, &invite, 3 * SEC);
    // Bob registers an invite of his own, claiming to have seen nothing of his admission.
    let his = InviteSecret::generate();
    let op = Op::Invite {
        id: his.id(),
        key: his.join_key().public(),
        expires_at: 3600,
        uses: 1,
        bound: None,
    };
    circle.ops.push(pinned(&bob, 1, 4 * SEC, op, &before, 255));
    circle.seqs.insert(bob.key(), 1);
    circle.admit(&bob, &carol, &his, 5 * SEC);
    let m = circle.derive();
    assert!(m.contains(&bob.key()));
    assert!(!m.invites.contains_key(&his.id()));
    assert!(!m.contains(&carol.key()));
}

#[test]
fn a_removed_admins_operations_concurrent_with_the_removal_are_dropped_with_what_rests_on_them() {
    let [alice, bob, carol, dave, erin] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, 2 * SEC, grant(&bob));
    let before = circle.everything();
    let upto = circle.held(&bob);
    let a = circle.held(&alice);
    circle.ops.push(pinned(
        &alice,
        a + 1,
        3 * SEC,
        remove(&bob, upto),
        &before,
        200,
    ));
    // bob, who has not seen his removal (or says so), lets dave in and makes him an admin;
    // dave, having seen that, lets erin in. Their message ids put all of it before the
    // removal in the order: what decides is that the removal did not see it.
    let registration = |invite: &InviteSecret| Op::Invite {
        id: invite.id(),
        key: invite.join_key().public(),
        expires_at: 3600,
        uses: 1,
        bound: None,
    };
    let (bobs_invite, daves_invite) = (InviteSecret::generate(), InviteSecret::generate());
    let mut seen = before;
    let mut id = 0;
    let mut write = |circle: &mut Circle, who: &Person, op: Op| {
        let seq = circle.held(who) + 1;
        id += 1;
        circle.ops.push(pinned(who, seq, 2 * SEC, op, &seen, id));
        circle.seqs.insert(who.key(), seq);
        seen = bump(seen.clone(), who, seq);
    };
    write(&mut circle, &bob, registration(&bobs_invite));
    let op = circle.admission(&dave, &bobs_invite, vec![0]);
    write(&mut circle, &bob, op);
    write(&mut circle, &bob, grant(&dave));
    write(&mut circle, &dave, registration(&daves_invite));
    let op = circle.admission(&erin, &daves_invite, vec![0]);
    write(&mut circle, &dave, op);
    let m = circle.derive();
    assert!(!m.contains(&bob.key()));
    assert_eq!(m.departed(&bob.key()).unwrap().upto, upto);
    for who in [&dave, &erin] {
        assert!(!m.contains(&who.key()), "{} is in", who.name);
        assert!(m.departed(&who.key()).is_none());
    }
    assert!(m.contains(&carol.key()));
}

#[test]
fn a_removal_naming_a_cut_beyond_what_it_saw_keeps_nothing_it_did_not_see() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let said = circle.post(&bob, 2 * SEC, rename("bob's, before"));
    // alice's modified program names a cut far past what her node had seen of bob's chain,
    // so that whatever bob writes after his removal would still count.
    circle.post(&alice, 3 * SEC, remove(&bob, 1000));
    let after = circle.post(&bob, 4 * SEC, rename("bob's, after"));
    let m = circle.derive();
    assert_eq!(m.departed(&bob.key()).unwrap().upto, said);
    assert!(m.counts(&bob.key(), said));
    assert!(!m.counts(&bob.key(), after));
}

/// `seen` with `who`'s number raised to `seq`.
fn bump(mut seen: Vec<(MemberKey, u64)>, who: &Person, seq: u64) -> Vec<(MemberKey, u64)> {
    seen.retain(|(k, _)| *k != who.key());
    seen.push((who.key(), seq));
    seen.sort();
    seen
}

#[test]
fn a_removal_pinning_the_last_message_by_id_drops_another_version_of_it() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&alice, 2 * SEC, grant(&bob));
    let seen = circle.everything();
    let k = circle.held(&bob) + 1;
    let said = pinned(&bob, k, 3 * SEC, rename("Before"), &seen, 200);
    let said_id = said.id;
    circle.ops.push(said);
    circle.seqs.insert(bob.key(), k);
    let removal = Op::RemoveAt {
        member: bob.key(),
        upto: k,
        last: Some(said_id),
        key: None,
    };
    circle.post(&alice, 4 * SEC, removal);
    // bob signs another version of that number, which orders before his real one.
    let forged = pinned(&bob, k, 3 * SEC, rename("Forged"), &seen, 1);
    let forged_id = forged.id;
    circle.ops.push(forged);
    let m = circle.derive();
    assert_ne!(m.name, "Forged");
    assert!(!m.took_effect(&forged_id));
    assert!(m.counts_message(&bob.key(), k, &said_id));
    assert!(!m.counts_message(&bob.key(), k, &forged_id));
    assert_eq!(m.departed(&bob.key()).unwrap().last, Some(said_id));
}

#[test]
fn a_removal_carrying_its_new_key_starts_the_epoch_only_without_the_removed_member() {
    let [alice, bob, carol, ..] = people();
    for (sealed_to, starts) in [
        (vec![&alice, &carol], true),
        (vec![&alice, &bob, &carol], false),
    ] {
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.join(&alice, &carol, SEC);
        let Op::NewKey { keys, commitment } = new_key(&sealed_to) else {
            unreachable!()
        };
        let removal = Op::RemoveAt {
            member: bob.key(),
            upto: 0,
            last: None,
            key: Some((keys, commitment)),
        };
        let seq = circle.post(&alice, 2 * SEC, removal);
        let m = circle.derive();
        let case = format!("sealed to {} people", sealed_to.len());
        assert!(!m.contains(&bob.key()), "{case}");
        let epoch = epoch_of(&circle.genesis.circle, &alice.key(), seq);
        assert_eq!(m.current_epoch == epoch, starts, "{case}");
        assert_eq!(m.needs_rekey(), !starts, "{case}");
    }
}

#[test]
fn a_flood_of_operations_that_acknowledge_only_their_own_chain_is_taken_in_linear_steps() {
    let [alice, bob, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    let mut derivation = Derivation::new(&circle.genesis, circle.ops.clone());
    let before = derivation.steps();
    // bob renames 10 000 times, each time claiming to have seen none of alice's operations:
    // each lands concurrently with hers, by message id, but after his own last one.
    const FLOOD: u64 = 10_000;
    for i in 0..FLOOD {
        let seq = i + 1;
        let mut e = entry(&bob.key(), seq, 2 * SEC + i, rename(&format!("flood {i}")));
        e.seen = if seq > 1 {
            vec![(bob.key(), seq - 1)]
        } else {
            vec![]
        };
        e.legacy = e.seen.is_empty();
        derivation.learn(&circle.genesis, e.clone());
        circle.ops.push(e);
    }
    let taken = derivation.steps() - before;
    assert!(taken <= 2 * FLOOD, "{taken} steps for {FLOOD} operations");
    assert_eq!(derivation.membership(), &circle.derive());
}

#[test]
fn a_page_of_two_interleaving_floods_of_operations_is_taken_in_near_linear_steps() {
    let [alice, bob, carol, ..] = people();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    let mut derivation = Derivation::new(&circle.genesis, circle.ops.clone());
    let (steps, derivations) = (derivation.steps(), derivation.derivations());
    // bob and carol rename in turn, 10 000 times in all, each claiming to have seen none of
    // the other's: one at a time, most land before the operation placed last, and each such
    // one would make the node derive again from all operations (quadratic).
    const FLOOD: u64 = 10_000;
    let mut page = Vec::new();
    for i in 0..FLOOD {
        let (who, seq) = if i % 2 == 0 {
            (&bob, i / 2 + 1)
        } else {
            (&carol, i / 2 + 1)
        };
        let mut e = entry(&who.key(), seq, 2 * SEC + i, rename(&format!("flood {i}")));
        e.seen = if seq > 1 {
            vec![(who.key(), seq - 1)]
        } else {
            vec![]
        };
        e.legacy = false;
        page.push(e);
    }
    // One page of them, as sync brings it.
    for e in &page {
        derivation.take(&circle.genesis, e.clone());
    }
    derivation.settle(&circle.genesis);
    circle.ops.extend(page);
    let taken = derivation.steps() - steps;
    assert!(taken <= 3 * FLOOD, "{taken} steps for {FLOOD} operations");
    assert!(derivation.derivations() - derivations <= 1);
    assert!(!derivation.is_stale());
    assert_eq!(derivation.membership(), &circle.derive());
}

/// The old format (content tag 1): only where older software could have written it.
mod old_format {
    use super::*;

    impl Circle {
        /// Appends `op` to `author`'s chain in content tag 1 (acknowledging nothing), as
        /// before membership version 4 or by a modified program.
        fn post_old(&mut self, author: &Person, at: u64, op: Op) -> u64 {
            self.post_seeing(author, at, op, Vec::new())
        }

        /// `by` registers an invite in content tag 1; one use, an hour from `at`.
        fn invite_old(&mut self, by: &Person, at: u64) -> InviteSecret {
            let secret = InviteSecret::generate();
            let op = Op::Invite {
                id: secret.id(),
                key: secret.join_key().public(),
                expires_at: at / SEC + 3600,
                uses: 1,
                bound: None,
            };
            self.post_old(by, at, op);
            secret
        }
    }

    #[test]
    fn an_admin_let_in_by_a_current_admission_writing_old_format_operations_changes_nothing() {
        let [alice, bob, _, dave, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.post(&alice, 2 * SEC, grant(&bob));
        assert_eq!(role(&circle.derive(), &bob), Some(Role::Admin));
        // Bob's modified program writes in tag 1, skipping the acknowledgement checks: a
        // rename, and an invite and admission of a sockpuppet.
        circle.post_old(&bob, 3 * SEC, rename("Bob's"));
        let invite = circle.invite_old(&bob, 3 * SEC);
        let sockpuppet = circle.admission(&dave, &invite, vec![0]);
        let admitted = circle.post_old(&bob, 3 * SEC, sockpuppet);
        let m = circle.derive();
        assert_eq!(m.name, "Tuesday");
        assert!(!m.invites.contains_key(&invite.id()));
        assert!(!m.contains(&dave.key()));
        let admission = circle
            .ops
            .iter()
            .find(|e| e.author == bob.key() && e.seq == admitted);
        assert!(!m.took_effect(&admission.unwrap().id));
    }

    #[test]
    fn an_admin_writing_in_the_old_format_a_removal_of_someone_they_never_saw_come_in_changes_nothing()
     {
        let [alice, bob, carol, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.post(&alice, 2 * SEC, grant(&bob));
        let before_carol = circle.everything();
        circle.join(&alice, &carol, 3 * SEC);
        // Bob, having seen nothing of carol, removes her: in tag 15 he could not name what
        // he never saw; written in tag 1, it claims to have seen everything.
        circle.post_seeing(&bob, 4 * SEC, remove(&carol, 0), before_carol);
        assert!(circle.derive().contains(&carol.key()));
        circle.ops.pop();
        circle.post_old(&bob, 4 * SEC, remove(&carol, 0));
        let m = circle.derive();
        assert!(m.contains(&carol.key()));
        assert!(m.departed(&carol.key()).is_none());
    }

    /// Strong removal's cut (step 3) drops these too, whatever their format: this shows the
    /// two rules agree, not the format rule alone.
    #[test]
    fn an_admin_removed_while_writing_old_format_operations_changes_nothing_with_them() {
        let [alice, bob, carol, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.post(&alice, 2 * SEC, grant(&bob));
        circle.join(&alice, &carol, 3 * SEC);
        // Alice removes bob; bob, concurrently, writes in tag 1 a removal of carol and a
        // rename.
        circle.post(&alice, 4 * SEC, remove(&bob, circle.held(&bob)));
        circle.post_old(&bob, 4 * SEC, remove(&carol, 0));
        circle.post_old(&bob, 4 * SEC, rename("Bob's"));
        let m = circle.derive();
        assert!(m.departed(&bob.key()).is_some());
        assert!(m.contains(&carol.key()));
        assert_eq!(m.name, "Tuesday");
    }

    #[test]
    fn a_member_who_wrote_a_current_operation_cannot_go_back_to_the_old_format() {
        let [alice, bob, ..] = people();
        let mut circle = Circle::found(&alice);
        // A circle from before membership version 4: bob is let in and made admin in tag 1.
        let invite = circle.invite_old(&alice, SEC);
        let epochs = circle.derive().epochs().collect();
        let admission = circle.admission(&bob, &invite, epochs);
        circle.post_old(&alice, SEC, admission);
        circle.post_old(&alice, 2 * SEC, grant(&bob));
        circle.post_old(&bob, 3 * SEC, rename("Old"));
        assert_eq!(circle.derive().name, "Old");
        // Then bob's node, updated, writes in tag 15; a tag-1 operation after that can only
        // come from a modified program.
        circle.post(&bob, 4 * SEC, rename("New"));
        circle.post_old(&bob, 5 * SEC, rename("Back"));
        assert_eq!(circle.derive().name, "New");
    }

    /// A circle from before membership version 4: alice founded it; bob (an admin) and carol
    /// were let in, and bob renamed it, all in tag 1.
    fn old_circle(alice: &Person, bob: &Person, carol: &Person) -> Circle {
        let mut circle = Circle::found(alice);
        for who in [bob, carol] {
            let invite = circle.invite_old(alice, SEC);
            let epochs = circle.derive().epochs().collect();
            let admission = circle.admission(who, &invite, epochs);
            circle.post_old(alice, SEC, admission);
        }
        circle.post_old(alice, 2 * SEC, grant(bob));
        circle.post_old(bob, 3 * SEC, rename("Old"));
        let m = circle.derive();
        assert!(m.old_format_open());
        assert_eq!((m.name.as_str(), role(&m, bob)), ("Old", Some(Role::Admin)));
        circle
    }

    #[test]
    fn an_old_circles_admin_writing_the_old_format_after_the_circle_moved_on_changes_nothing() {
        let [alice, bob, carol, ..] = people();
        let mut circle = old_circle(&alice, &bob, &carol);
        // alice's node, upgraded, writes a current operation (a new key): the circle moved on.
        circle.rekey(&alice, 4 * SEC, &[&alice, &bob, &carol]);
        let m = circle.derive();
        assert!(!m.old_format_open());
        assert_eq!(m.name, "Old", "the old history was lost");
        // bob's node never wrote the current format; his modified program writes the old one,
        // judged by the order alone: a removal of carol and a rename.
        let removal = circle.post_old(&bob, 5 * SEC, remove(&carol, 0));
        circle.post_old(&bob, 5 * SEC, rename("Bob's"));
        let m = circle.derive();
        assert!(
            m.contains(&carol.key()),
            "bob removed carol in the old format"
        );
        assert_eq!(m.name, "Old");
        let removal = circle
            .ops
            .iter()
            .find(|e| e.author == bob.key() && e.seq == removal);
        assert!(!m.took_effect(&removal.unwrap().id));
        // Learnt one at a time, the same.
        assert_eq!(circle.learned_one_at_a_time(), m);
    }

    #[test]
    fn a_plain_members_claim_of_an_old_format_writers_numbers_not_yet_written_does_not_keep_the_door_open_for_them()
     {
        let [alice, bob, carol, ..] = people();
        let mut circle = old_circle(&alice, &bob, &carol);
        // carol, a plain member working with bob, claims in a current operation to hold bob's
        // chain up to 50; alice's upgraded node, holding it, writes a new key: the door closes.
        let claim = bump(circle.everything(), &bob, 50);
        circle.post_seeing(&carol, 4 * SEC, rename("Carol's"), claim);
        circle.rekey(&alice, 5 * SEC, &[&alice, &bob, &carol]);
        assert!(!circle.derive().old_format_open());
        // bob's modified program writes on in the old format, under numbers the claim covers
        // (so the order places them before alice's new key).
        let renamed = circle.post_old(&bob, 6 * SEC, rename("Bob's"));
        assert!(renamed <= 50);
        let (m, settled) = Membership::derive_settled(&circle.genesis, &circle.ops);
        assert!(settled);
        assert_eq!(m.name, "Old", "bob's later old-format rename took effect");
        assert!(!m.old_format_open());
        // Learnt one at a time, the same.
        assert_eq!(circle.learned_one_at_a_time(), m);
    }

    #[test]
    fn an_old_format_operation_the_first_current_admin_operation_acknowledged_keeps_its_effect() {
        let [alice, bob, carol, ..] = people();
        let mut circle = old_circle(&alice, &bob, &carol);
        // bob's old node renames in tag 1; alice's upgraded node, having seen it, writes a
        // new key; a plain member's current operation before it closes nothing.
        circle.post_old(&bob, 4 * SEC, rename("Older"));
        circle.rekey(&carol, 4 * SEC, &[&alice, &bob, &carol]);
        assert!(circle.derive().old_format_open());
        circle.rekey(&alice, 5 * SEC, &[&alice, &bob, &carol]);
        let m = circle.derive();
        assert!(!m.old_format_open());
        assert_eq!(m.name, "Older");
    }

    #[test]
    fn a_circle_written_wholly_in_the_old_format_derives_as_before() {
        let [alice, bob, carol, dave, ..] = people();
        let mut circle = Circle::found(&alice);
        let admit_old = |circle: &mut Circle, by: &Person, who: &Person, at: u64| {
            let invite = circle.invite_old(by, at);
            let epochs = circle.derive().epochs().collect();
            let op = circle.admission(who, &invite, epochs);
            circle.post_old(by, at, op)
        };
        admit_old(&mut circle, &alice, &bob, SEC);
        circle.post_old(&alice, 2 * SEC, grant(&bob));
        admit_old(&mut circle, &bob, &carol, 3 * SEC);
        admit_old(&mut circle, &bob, &dave, 4 * SEC);
        circle.post_old(&bob, 5 * SEC, rename("Thursday"));
        circle.post_old(&alice, 6 * SEC, remove(&dave, 0));
        circle.post_old(&carol, 7 * SEC, Op::Leave);
        let m = circle.derive();
        assert_eq!(m.name, "Thursday");
        assert_eq!(role(&m, &bob), Some(Role::Admin));
        assert_eq!(m.get(&bob.key()).unwrap().admitted_by, Some(alice.key()));
        assert!(m.departed(&dave.key()).is_some_and(|d| d.by == alice.key()));
        assert!(
            m.departed(&carol.key())
                .is_some_and(|d| d.by == carol.key())
        );
        assert_eq!(m.len(), 2);
        assert!(circle.ops.iter().all(|e| m.took_effect(&e.id)));
    }
}

/// Forks: two versions of one operation (same author and number, other ids), each a story of
/// docs/PROTOCOL.md section 6.5, "Forks". `first` and `second` are the versions' id bytes, so
/// each story runs with either version first in the order.
impl Circle {
    /// Two versions of `author`'s next number, acknowledging everything written so far.
    fn fork(&mut self, author: &Person, at: u64, ops: [(Op, u8); 2]) -> (u64, [MessageId; 2]) {
        let seen = self.everything();
        let seq = self.held(author) + 1;
        let ids = ops.map(|(op, id)| {
            let e = pinned(author, seq, at, op, &seen, id);
            let id = e.id;
            self.ops.push(e);
            id
        });
        self.seqs.insert(author.key(), seq);
        (seq, ids)
    }
}

/// Both ways round: (lower id, higher id) and the reverse.
const BOTH_WAYS: [(u8, u8); 2] = [(10, 20), (20, 10)];

#[test]
fn two_admissions_through_a_one_use_invite_in_two_versions_let_in_only_the_first_in_the_order() {
    for (a, b) in BOTH_WAYS {
        let [alice, bob, carol, dave, ..] = people();
        let mut circle = Circle::found(&alice);
        let invite = circle.invite(&alice, SEC);
        let (_, [to_bob, to_carol]) = circle.fork(
            &alice,
            2 * SEC,
            [
                (circle.admission(&bob, &invite, vec![0]), a),
                (circle.admission(&carol, &invite, vec![0]), b),
            ],
        );
        // dave comes in through another invite, having seen both.
        circle.join(&alice, &dave, 3 * SEC);
        let m = circle.derive();
        let (first, other) = if a < b {
            (&bob, &carol)
        } else {
            (&carol, &bob)
        };
        assert!(m.contains(&first.key()) && !m.contains(&other.key()));
        assert!(m.contains(&dave.key()));
        assert_eq!(m.took_effect(&to_bob), a < b);
        assert_eq!(m.took_effect(&to_carol), b < a);
        assert_eq!(m.invites[&invite.id()].used, 1);
    }
}

/// Below a departed member's pinned cut, the node leaves versions off their chain out of the
/// derivation (`Derivation::exclude`, PROTOCOL.md section 6.4): the version left in counts
/// whichever is first in the order, however the operations arrived.
#[test]
fn a_version_left_out_of_the_derivation_takes_no_effect_and_the_other_version_does() {
    for (a, b) in BOTH_WAYS {
        let [alice, bob, carol, ..] = people();
        let mut circle = Circle::found(&alice);
        let invite = circle.invite(&alice, SEC);
        let (_, [to_bob, to_carol]) = circle.fork(
            &alice,
            2 * SEC,
            [
                (circle.admission(&bob, &invite, vec![0]), a),
                (circle.admission(&carol, &invite, vec![0]), b),
            ],
        );
        let g = &circle.genesis;
        let mut all = Derivation::new(g, circle.ops.clone());
        all.exclude(g, std::collections::BTreeSet::from([to_bob]));
        // Learned one at a time, first first and last first, with the version left out from
        // the start.
        let one_by_one = |ops: Vec<&OpEntry>| {
            let mut d = Derivation::new(g, Vec::new());
            d.exclude(g, std::collections::BTreeSet::from([to_bob]));
            for e in ops {
                d.learn(g, e.clone());
            }
            d
        };
        // The version left out, learned last of all, changes nothing either.
        let without = one_by_one(circle.ops.iter().filter(|e| e.id != to_carol).collect());
        assert!(!without.membership().contains(&bob.key()));
        let forward = one_by_one(circle.ops.iter().collect());
        let backward = one_by_one(circle.ops.iter().rev().collect());
        for d in [&all, &forward, &backward] {
            let m = d.membership();
            assert!(m.contains(&carol.key()) && !m.contains(&bob.key()));
            assert!(m.took_effect(&to_carol) && !m.took_effect(&to_bob));
        }
        // Left in again, both versions are entries, and the first in the order counts.
        all.exclude(g, std::collections::BTreeSet::new());
        assert_eq!(all.membership().contains(&bob.key()), a < b);
        assert_eq!(all.membership(), &circle.derive());
    }
}

#[test]
fn two_versions_of_a_new_key_start_one_epoch_from_the_first_in_the_order() {
    for (a, b) in BOTH_WAYS {
        let [alice, bob, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        let (seq, [one, two]) = circle.fork(
            &bob,
            2 * SEC,
            [(new_key(&[&alice, &bob]), a), (new_key(&[&alice]), b)],
        );
        let m = circle.derive();
        let epoch = epoch_of(&circle.genesis.circle, &bob.key(), seq);
        assert_eq!(m.current_epoch, epoch);
        assert_eq!(m.epochs().collect::<Vec<_>>(), [0, epoch]);
        assert_eq!(m.took_effect(&one), a < b);
        assert_eq!(m.took_effect(&two), b < a);
        let holders = if a < b { 2 } else { 1 };
        assert_eq!(m.holders(epoch).unwrap().len(), holders);
    }
}

#[test]
fn two_versions_of_a_removal_with_different_pins_remove_once_pinned_by_the_first() {
    for (a, b) in BOTH_WAYS {
        let [alice, bob, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        let seen = circle.everything();
        let k = circle.held(&bob) + 1;
        let [x, y] = [1, 2].map(|n| {
            let e = pinned(
                &bob,
                k,
                2 * SEC,
                rename(&format!("bob's {n}")),
                &seen,
                100 + n,
            );
            let id = e.id;
            circle.ops.push(e);
            id
        });
        circle.seqs.insert(bob.key(), k);
        let removal = |last| Op::RemoveAt {
            member: bob.key(),
            upto: k,
            last: Some(last),
            key: None,
        };
        let (_, [pins_x, pins_y]) =
            circle.fork(&alice, 3 * SEC, [(removal(x), a), (removal(y), b)]);
        let m = circle.derive();
        let kept = if a < b { x } else { y };
        assert_eq!(m.departed(&bob.key()).unwrap().last, Some(kept));
        assert_eq!(m.took_effect(&pins_x), a < b);
        assert_eq!(m.took_effect(&pins_y), b < a);
        assert!(m.counts_message(&bob.key(), k, &kept));
    }
}

#[test]
fn a_leave_in_another_version_takes_back_nothing_the_other_version_did() {
    for (a, b) in BOTH_WAYS {
        let [alice, bob, carol, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.post(&alice, 2 * SEC, grant(&bob));
        // bob lets carol in through alice's invite in one version of a number, and leaves in
        // another.
        let invite = circle.invite(&alice, 2 * SEC);
        let admission = circle.admission(&carol, &invite, vec![0]);
        let (seq, [admitted, left]) = circle.fork(&bob, 3 * SEC, [(admission, a), (Op::Leave, b)]);
        let m = circle.derive();
        assert!(m.took_effect(&admitted) && m.took_effect(&left));
        assert!(
            m.contains(&carol.key()),
            "carol came in through bob's admission"
        );
        assert_eq!(m.get(&carol.key()).unwrap().admitted_by, Some(bob.key()));
        assert_eq!(m.departed(&bob.key()).unwrap().upto, seq);
    }
}

#[test]
fn stepping_down_in_another_version_takes_back_no_admin_act_of_the_other() {
    for (a, b) in BOTH_WAYS {
        let [alice, bob, carol, ..] = people();
        let mut circle = Circle::found(&alice);
        circle.join(&alice, &bob, SEC);
        circle.join(&alice, &carol, SEC);
        circle.post(&alice, 2 * SEC, grant(&bob));
        let step_down = Op::Revoke {
            member: bob.key(),
            upto: 0,
        };
        let (_, [granted, stepped]) =
            circle.fork(&bob, 3 * SEC, [(grant(&carol), a), (step_down, b)]);
        let m = circle.derive();
        assert!(m.took_effect(&granted) && m.took_effect(&stepped));
        assert_eq!(role(&m, &carol), Some(Role::Admin));
        assert_eq!(role(&m, &bob), Some(Role::Member));
    }
}
