//! Deriving a circle's membership from its genesis and operations, in any arrival order.
//!
//! The rule (docs/PROTOCOL.md, "Membership"), in short:
//!
//! 1. **One order.** Each author's operations are taken in their sequence order, each after
//!    every operation it acknowledged ([`OpEntry::seen`]); operations that did not see each
//!    other are merged by message id (a hash), never by a clock. Every version of a forked
//!    number counts (they are taken one after another by id), so the same set of operations
//!    always gives the same order, whatever order it arrived in and whichever version a node
//!    stored first.
//! 2. **Authority at that point, and at the operation's own causal position.** Operations are
//!    applied one by one; each takes effect only if its author had the right at that point
//!    (a member; an admin for most; see [`apply`]) and what gave them the right (their
//!    admission, their grant, the policy, the invite) is among what the operation
//!    acknowledged: its causal past, what it and its author's earlier operations acknowledged
//!    and what the operations they acknowledged had, and so on ([`Acked::take`]). One that
//!    does not is kept in its author's chain but changes nothing. An
//!    operation in the old format (content tag 1, [`OpEntry::legacy`]) acknowledges nothing;
//!    it changes nothing unless its author is the founder or came in by a tag-1 admission, and
//!    wrote no tag-15 operation before it, and the first admin's tag-15 operation that took
//!    effect (if any) acknowledged it (`Membership::legacy_allowed`).
//! 3. **Removal cuts the chain (strong removal).** A removal of X cuts X's chain at what the
//!    removal's trusted past acknowledged of it: its author's own chain, and what admins'
//!    operations it reaches had seen, never a plain member's claim ([`Acked::take`]) (for an
//!    operation before membership version 4, at the `upto`
//!    it names, raised to that; never below what the remover's own membership and admin role
//!    rest on; for a leave, the leave itself); a `RemoveAt` pins the message at the cut by id.
//!    Every operation of X past the cut has no effect, wherever it falls in the order: X cannot
//!    act concurrently with, or backdate around, their own removal, and what rests on those
//!    operations falls with them. Because a cut can void a removal made by X, the derivation
//!    repeats with the cuts of the previous pass until they no longer change. A demotion
//!    (`Revoke`) cuts the same way, for admin authority only: the demoted admin's operations
//!    past the cut act as a plain member's, unless they were made admin again later in the
//!    order. A return of X that an admin's removal of X did not see, and that did not see it,
//!    has no effect. A removal may carry the new key epoch without X.
//! 4. **Seniority.** An admin can be removed or demoted only by a more senior admin (the founder
//!    first, then admins in the order they were made admins). So two admins can never remove
//!    each other: only the senior one's removal takes effect.
//! 5. **Someone stays in charge.** If the last admin leaves, the longest-standing member
//!    becomes admin.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use circle_crypto::{ExchangeKey, InviteId, MemberKey, MessageId};

use super::{Genesis, InvitePolicy, JOIN_PROOF_DOMAIN, MAX_MEMBERS, Op, Profile};

/// Most passes of the derivation (rule 3); it settles in one or two in practice.
const MAX_PASSES: usize = 16;

/// One operation as the derivation sees it: who, where in their chain, when, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct OpEntry {
    /// The author.
    pub author: MemberKey,
    /// Its sequence number in the author's chain.
    pub seq: u64,
    /// When the author sent it (unix ms, the author's clock).
    pub at: u64,
    /// The id of the message that carried it.
    pub id: MessageId,
    /// The operation.
    pub op: Op,
    /// What its author had seen: per author, the highest number up to which the author's
    /// node held every message (empty for operations written before membership version 4).
    pub seen: Vec<(MemberKey, u64)>,
    /// Whether it came in content tag 1 (`Op`, before membership version 4), which
    /// acknowledges nothing, rather than tag 15 (`Acked`). Such an operation is judged by the
    /// order alone, and only where older software could have written it (docs/PROTOCOL.md,
    /// section 6.5, "The old format"). A tag-15 operation with an empty `seen` is not one.
    pub legacy: bool,
}

/// What orders operations that did not see each other: see [`OpEntry::order_key`].
pub(super) type OrderKey = (bool, u64, MessageId);

impl OpEntry {
    /// What orders this operation among those that did not see it, lowest first: its message
    /// id. An operation that acknowledges nothing (content tag 1, before membership version
    /// 4) says nothing of what it saw, so it goes after every one that does, and among such
    /// operations by its date then id, as they were ordered when written: circles made before
    /// keep their order. This build never writes one.
    pub(super) fn order_key(&self) -> OrderKey {
        let legacy = self.legacy;
        (legacy, if legacy { self.at } else { 0 }, self.id)
    }
}

/// A member's role.
// Names in JSON only: the wire form, postcard, numbers the variants.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May admit, remove, grant and revoke admins (junior ones), set policy, rename.
    Admin,
    /// A member.
    Member,
}

impl Role {
    /// The word shown to people.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// One member as every node derives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The member's key.
    pub key: MemberKey,
    /// Nickname in this circle.
    pub name: String,
    /// Where circle keys are sealed to.
    pub exchange: ExchangeKey,
    /// The peer id (bytes) of the member's node.
    pub node: Vec<u8>,
    /// Role.
    pub role: Role,
    /// Who let them in (none for the founder).
    pub admitted_by: Option<MemberKey>,
    /// Admin seniority: lower is more senior (the founder is 0). Meaningless for members.
    pub rank: u64,
    /// Position in the order members came in (the founder is 0).
    pub joined: u64,
    /// The member key they had before, when they came back after leaving or being removed.
    pub returned_from: Option<MemberKey>,
}

/// A member who left or was removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Departed {
    /// Their nickname.
    pub name: String,
    /// The peer id (bytes) of their node.
    pub node: Vec<u8>,
    /// Their messages numbered up to this stay; later ones are refused.
    pub upto: u64,
    /// The id of their message numbered `upto`, when the removal pinned it: any other version
    /// of that number is refused.
    pub last: Option<MessageId>,
    /// Who removed them (themselves for a leave).
    pub by: MemberKey,
    /// Where circle keys were sealed to them while they were in.
    pub exchange: ExchangeKey,
}

/// An invite as the circle knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct InviteState {
    /// Who made it.
    pub issuer: MemberKey,
    /// Its public signing key: a joiner signs its profile with the matching secret.
    pub key: MemberKey,
    /// Expiry, unix seconds.
    pub expires_at: u64,
    /// How many people it may let in.
    pub uses: u32,
    /// How many it has let in.
    pub used: u32,
    /// The node it is bound to, if any.
    pub bound: Option<Vec<u8>>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// Why an invite cannot let someone in at `now`, in words for the joiner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteUnusable {
    /// Revoked by its issuer or an admin.
    Revoked,
    /// Past its expiry.
    Expired,
    /// All uses spent.
    UsedUp,
    /// Bound to another node.
    OtherNode,
    /// Its issuer may no longer invite (left, removed, or the policy changed).
    IssuerCannotInvite,
}

impl InviteUnusable {
    /// What to tell the person holding the invite.
    pub fn reason(&self) -> &'static str {
        match self {
            InviteUnusable::Revoked => {
                "this invite was revoked by the person who made it: ask them for a new one"
            }
            InviteUnusable::Expired => "this invite has expired: ask for a new one",
            InviteUnusable::UsedUp => "this invite has already been used: ask for a new one",
            InviteUnusable::OtherNode => "this invite was made for another person's node",
            InviteUnusable::IssuerCannotInvite => {
                "whoever made this invite can no longer invite people: ask for a new one"
            }
        }
    }
}

/// The fields an [`Op::Admit`] and an [`Op::Return`] share.
struct Admission<'a> {
    profile: &'a [u8],
    invite: &'a InviteId,
    proof: &'a circle_crypto::Signature,
    epochs: &'a [u64],
}

/// Everything derived about one circle.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    /// The circle's current name.
    pub name: String,
    /// Who may invite.
    pub policy: InvitePolicy,
    /// The format the circle follows and its guidelines, once an admin set them.
    pub guidelines: Option<(crate::support::Format, String)>,
    /// Invites, live or not.
    pub invites: BTreeMap<InviteId, InviteState>,
    /// The key epoch new messages are sealed under (0: the founding key).
    pub current_epoch: u64,
    /// Key epochs in the order they started.
    epoch_order: Vec<u64>,
    members: BTreeMap<MemberKey, Member>,
    departed: BTreeMap<MemberKey, Departed>,
    /// Departed member keys someone came back from (each vouches for one return only).
    returned: BTreeSet<MemberKey>,
    /// Demotion cuts: admin authority of these members' operations numbered after the cut.
    demoted: BTreeMap<MemberKey, Cut>,
    /// Members demoted earlier in this pass and made admin again after.
    regranted: BTreeSet<MemberKey>,
    /// The messages whose operations took effect.
    applied: BTreeSet<MessageId>,
    /// For each key epoch, the members it was sealed to.
    holders: BTreeMap<u64, BTreeSet<MemberKey>>,
    /// Where each member's admission sits (not the founder's: the genesis).
    entered: BTreeMap<MemberKey, Position>,
    /// Members admitted by an operation in content tag 1 (before membership version 4).
    entered_legacy: BTreeSet<MemberKey>,
    /// Authors who wrote an operation in content tag 15 at this point of the order.
    acked_writers: BTreeSet<MemberKey>,
    /// The first operation in content tag 15 by an admin that took effect (the mark): from
    /// there on, a tag-1 operation its trusted past did not acknowledge has no effect.
    moved_on: Option<Mark>,
    /// Whether an operation in content tag 1 was taken.
    had_legacy: bool,
    /// Where each admin was made one (not the founder).
    made_admin: BTreeMap<MemberKey, Position>,
    /// Where the invite policy was last set.
    policy_set: Option<Position>,
    /// Where each invite was registered.
    registered: BTreeMap<InviteId, Position>,
    /// Every removal an admin had the right to write, by whom it removes (rule 3).
    removals: BTreeMap<MemberKey, Vec<Removal>>,
    next_rank: u64,
    next_joined: u64,
}

impl Membership {
    /// Derives the membership from the genesis and operations, whatever their order.
    pub fn derive(genesis: &Genesis, ops: &[OpEntry]) -> Membership {
        Membership::derive_full(genesis, ops).state
    }

    /// [`Membership::derive`], and whether its cuts settled (rule 3).
    #[cfg(test)]
    pub(super) fn derive_settled(genesis: &Genesis, ops: &[OpEntry]) -> (Membership, bool) {
        let full = Membership::derive_full(genesis, ops);
        (full.state, full.settled)
    }

    /// [`Membership::derive`], with what it takes to go on one operation at a time
    /// ([`super::Derivation`]).
    pub(super) fn derive_full(genesis: &Genesis, ops: &[OpEntry]) -> Full {
        let (order, stalled) = merge_order(ops);
        let mut cuts = Cuts::default();
        let mut steps = 0;
        let (mut state, mut acked) = Membership::apply_all(genesis, &order, &cuts, &mut steps);
        let mut settled = false;
        for _ in 1..MAX_PASSES {
            let next = state.cuts();
            if next == cuts {
                settled = true;
                break;
            }
            cuts = next;
            (state, acked) = Membership::apply_all(genesis, &order, &cuts, &mut steps);
        }
        Full {
            last: order.iter().map(|e| e.order_key()).max(),
            tail: order.last().map(|e| (e.author, e.seq)),
            state,
            cuts,
            acked,
            settled: settled && !stalled,
            steps,
        }
    }

    /// The cuts this state makes (rule 3).
    pub(super) fn cuts(&self) -> Cuts {
        Cuts {
            // Only where it can matter, so a circle without a tag-1 operation takes no
            // second pass for it.
            mark: self.moved_on.clone().filter(|_| self.had_legacy),
            // A leave pins itself for messages (`counts_message`), but cuts no other version
            // of its own number: those count as they did (section 6.5, "Forks").
            removed: self
                .departed
                .iter()
                .map(|(k, d)| (*k, (d.upto, d.last.filter(|_| d.by != *k))))
                .collect(),
            demoted: self.demoted.clone(),
            removals: self.removals.clone(),
        }
    }

    fn founded(genesis: &Genesis) -> Membership {
        let f = &genesis.founder;
        let mut members = BTreeMap::new();
        members.insert(
            f.member,
            Member {
                key: f.member,
                name: f.name.clone(),
                exchange: f.exchange,
                node: f.node.clone(),
                role: Role::Admin,
                admitted_by: None,
                rank: 0,
                joined: 0,
                returned_from: None,
            },
        );
        Membership {
            name: genesis.name.clone(),
            policy: InvitePolicy::Admins,
            guidelines: None,
            invites: BTreeMap::new(),
            current_epoch: 0,
            epoch_order: vec![0],
            members,
            departed: BTreeMap::new(),
            returned: BTreeSet::new(),
            demoted: BTreeMap::new(),
            regranted: BTreeSet::new(),
            applied: BTreeSet::new(),
            holders: BTreeMap::from([(0, BTreeSet::from([f.member]))]),
            entered: BTreeMap::new(),
            entered_legacy: BTreeSet::new(),
            acked_writers: BTreeSet::new(),
            moved_on: None,
            had_legacy: false,
            made_admin: BTreeMap::new(),
            policy_set: None,
            registered: BTreeMap::new(),
            removals: BTreeMap::new(),
            next_rank: 1,
            next_joined: 1,
        }
    }

    fn apply_all(
        genesis: &Genesis,
        order: &[&OpEntry],
        cuts: &Cuts,
        steps: &mut u64,
    ) -> (Membership, Acked) {
        let mut state = Membership::founded(genesis);
        // What each author had acknowledged so far of each author's chain: an author's
        // earlier operations always come earlier in the order (step 1).
        let mut acked = Acked::default();
        for entry in order {
            state.step(genesis, entry, cuts, &mut acked);
            *steps += 1;
        }
        (state, acked)
    }

    /// Takes the next operation in the order (step 2), under `cuts` (step 3).
    pub(super) fn step(
        &mut self,
        genesis: &Genesis,
        entry: &OpEntry,
        cuts: &Cuts,
        acked: &mut Acked,
    ) {
        let taken = acked.take(entry);
        let causal = taken.past.clone();
        let legacy_allowed = self.legacy_allowed(genesis, entry, cuts);
        if entry.legacy {
            self.had_legacy = true;
        } else {
            self.acked_writers.insert(entry.author);
        }
        if !legacy_allowed
            || cuts
                .removed
                .get(&entry.author)
                .is_some_and(|cut| past(entry, cut))
        {
            acked.keep(entry, taken, false);
            return;
        }
        let demoted = cuts
            .demoted
            .get(&entry.author)
            .is_some_and(|cut| past(entry, cut))
            && !self.regranted.contains(&entry.author);
        let admin = !demoted
            && self.members.get(&entry.author).is_some_and(|m| {
                m.role == Role::Admin
                    && self.made_admin.get(&entry.author).is_none_or(|at| {
                        acknowledged_by(&causal, entry.legacy, (entry.author, entry.seq), *at)
                    })
            });
        let trusted = acked.keep(entry, taken, admin);
        if self.apply(genesis, entry, &causal, &trusted, demoted, cuts) {
            self.applied.insert(entry.id);
            if admin && !entry.legacy && self.moved_on.is_none() {
                self.moved_on = Some(Mark {
                    at: (entry.author, entry.seq),
                    past: causal,
                    trusted,
                });
            }
        }
    }

    /// Whether `e` may take effect as far as its format goes: a tag-15 operation always; a
    /// tag-1 one (before membership version 4) only if its author came in by a tag-1 admission
    /// (or is the founder) and had written no tag-15 operation before it in their chain. A
    /// node that wrote tag 15 or was let in by a tag-15 admission runs version 4 or later
    /// (older software cannot read tag 15), so a tag-1 operation from it can only come from a
    /// modified program skipping the acknowledgement checks. And once the circle moved on (an
    /// admin's tag-15 operation took effect), only if that first such operation's trusted past
    /// acknowledged it: an old circle keeps its history, but nobody can add to it in the old
    /// format. Before the mark of the previous pass (`cuts`), the same for a tag-1 operation
    /// that the mark's causal past covers: one placed before the mark only because a plain
    /// member's claim made the mark wait for it. Circles made before keep their history.
    fn legacy_allowed(&self, genesis: &Genesis, e: &OpEntry, cuts: &Cuts) -> bool {
        let at = (e.author, e.seq);
        !e.legacy
            || ((e.author == genesis.founder.member || self.entered_legacy.contains(&e.author))
                && !self.acked_writers.contains(&e.author)
                && self
                    .moved_on
                    .as_ref()
                    .is_none_or(|mark| acknowledged_by(&mark.trusted, false, mark.at, at))
                && cuts.mark.as_ref().is_none_or(|mark| {
                    acknowledged_by(&mark.trusted, false, mark.at, at)
                        || !acknowledged_by(&mark.past, false, mark.at, at)
                }))
    }

    /// Whether operations in the old format (content tag 1) may still take effect here: one
    /// was written, and no admin's tag-15 operation has taken effect since (docs/PROTOCOL.md,
    /// section 6.5, "The old format"). The most senior admin's node then writes one.
    pub fn old_format_open(&self) -> bool {
        self.had_legacy && self.moved_on.is_none()
    }

    /// The most senior admin (lowest rank).
    pub fn most_senior_admin(&self) -> Option<&MemberKey> {
        self.members
            .values()
            .filter(|m| m.role == Role::Admin)
            .min_by_key(|m| m.rank)
            .map(|m| &m.key)
    }

    /// Applies one operation if its author had the right to it at this point; `past` is its
    /// causal past and `trusted` the part of it a cut may rest on ([`Acked::take`]);
    /// `demoted` takes admin authority away from it (rule 3). Returns whether it took effect.
    fn apply(
        &mut self,
        genesis: &Genesis,
        e: &OpEntry,
        past: &[(MemberKey, u64)],
        trusted: &[(MemberKey, u64)],
        demoted: bool,
        cuts: &Cuts,
    ) -> bool {
        let acknowledged = |at: &Position| acknowledged_by(past, e.legacy, (e.author, e.seq), *at);
        // Where a removal or demotion of `member` by this operation cuts (rule 3): at what its
        // trusted past acknowledged of that member's chain (its own and its author's earlier
        // operations' acknowledgements, and what operations by admins, reached through them,
        // had acknowledged, and so on), so that nothing of theirs the operation did not see
        // counts (strong removal), nothing it or an admin did see is hidden, and no plain
        // member's claim of numbers not yet written keeps the removed person writing; an
        // operation that acknowledges nothing (before membership version 4) names its cut,
        // raised to that. Never below the operations its author's own membership and admin
        // role rest on.
        let cut = |member: &MemberKey, upto: u64| {
            let acknowledged = highest(trusted, member);
            let named = if e.legacy {
                upto.max(acknowledged)
            } else {
                acknowledged
            };
            [self.entered.get(&e.author), self.made_admin.get(&e.author)]
                .into_iter()
                .flatten()
                .filter(|(by, _)| by == member)
                .fold(named, |cut, (_, seq)| cut.max(*seq))
        };
        let Some(author) = self.members.get(&e.author) else {
            return false;
        };
        // Authority at the operation's own causal position: what made its author a member, an
        // admin, or allowed to invite must be among what it acknowledged (step 2).
        let saw = |at: Option<&Position>| at.is_none_or(acknowledged);
        if !saw(self.entered.get(&e.author)) {
            return false;
        }
        let admin = author.role == Role::Admin && !demoted && saw(self.made_admin.get(&e.author));
        let may_invite =
            admin || (self.policy == InvitePolicy::Members && saw(self.policy_set.as_ref()));
        // A member named by an operation must be one its author had seen come in.
        let knows = |member: &MemberKey| saw(self.entered.get(member));
        match &e.op {
            Op::Invite {
                id,
                key,
                expires_at,
                uses,
                bound,
            } => {
                if !may_invite || self.invites.contains_key(id) {
                    return false;
                }
                self.registered.insert(*id, (e.author, e.seq));
                self.invites.insert(
                    *id,
                    InviteState {
                        issuer: e.author,
                        key: *key,
                        expires_at: *expires_at,
                        uses: *uses,
                        used: 0,
                        bound: bound.clone(),
                        revoked: false,
                    },
                );
            }
            Op::RevokeInvite { id } => match self.invites.get_mut(id) {
                Some(invite)
                    if !invite.revoked
                        && (invite.issuer == e.author || admin)
                        && self.registered.get(id).is_some_and(acknowledged) =>
                {
                    invite.revoked = true;
                }
                _ => return false,
            },
            Op::Admit {
                profile,
                invite,
                proof,
                epochs,
            } => {
                let admission = Admission {
                    profile,
                    invite,
                    proof,
                    epochs,
                };
                return may_invite && self.admit(genesis, e, past, &admission, None);
            }
            Op::Return {
                profile,
                invite,
                proof,
                epochs,
                former,
                vouch,
            } => {
                let admission = Admission {
                    profile,
                    invite,
                    proof,
                    epochs,
                };
                let Some(gone) = self.departed.get(former) else {
                    return false;
                };
                // Someone removed comes back only if an admin lets them in through an admin's
                // invite: a member's invite cannot undo an admin's removal.
                let removed = gone.by != *former;
                let admins_invite = self.invites.get(invite).is_some_and(|i| {
                    self.members
                        .get(&i.issuer)
                        .is_some_and(|m| m.role == Role::Admin)
                });
                // A removal of `former` that this return did not see, and that did not see it,
                // voids it: a re-add concurrent with a removal does not stand (strong removal).
                let raced = cuts.removals.get(former).is_some_and(|removals| {
                    removals.iter().any(|r| {
                        !acknowledged(&r.at)
                            && !acknowledged_by(&r.past, r.legacy, r.at, (e.author, e.seq))
                    })
                });
                if !may_invite
                    || raced
                    || self.returned.contains(former)
                    || (removed && !(admin && admins_invite))
                {
                    return false;
                }
                let Ok(p) = Profile::open(profile) else {
                    return false;
                };
                let vouched = super::return_vouch_bytes(&genesis.circle, &p.member);
                if former
                    .verify(super::RETURN_DOMAIN, &vouched, vouch)
                    .is_err()
                {
                    return false;
                }
                if !self.admit(genesis, e, past, &admission, Some(*former)) {
                    return false;
                }
                self.returned.insert(*former);
            }
            Op::Remove { member, upto } | Op::RemoveAt { member, upto, .. } => {
                if !admin || *member == e.author || !knows(member) {
                    return false;
                }
                // Kept even when it removes no one (they were gone already): a return it did
                // not see is voided by it.
                if self.departed.contains_key(member) || self.outranks(&e.author, member) {
                    self.removals.entry(*member).or_default().push(Removal {
                        at: (e.author, e.seq),
                        past: past.into(),
                        legacy: e.legacy,
                    });
                }
                if !self.outranks(&e.author, member) {
                    return false;
                }
                let kept = cut(member, *upto);
                self.depart(member, (kept, pin(&e.op, kept)), e);
                // A removal that carries the new key starts it at once, without them; a key
                // that does not hold up leaves the removal standing (and a rotation due).
                if let Some((keys, _)) = e.op.new_key() {
                    self.start_epoch(genesis, e, keys);
                }
            }
            Op::Leave => self.depart(&e.author, (e.seq, Some(e.id)), e),
            Op::Grant { member } => {
                if !admin || !knows(member) {
                    return false;
                }
                let Some(m) = self.members.get_mut(member) else {
                    return false;
                };
                if m.role != Role::Member {
                    return false;
                }
                m.role = Role::Admin;
                m.rank = self.next_rank;
                self.next_rank += 1;
                self.made_admin.insert(*member, (e.author, e.seq));
                if self.demoted.contains_key(member) {
                    self.regranted.insert(*member);
                }
            }
            Op::Revoke { member, upto } | Op::RevokeAt { member, upto, .. } => {
                let allowed = admin
                    && knows(member)
                    && self
                        .members
                        .get(member)
                        .is_some_and(|m| m.role == Role::Admin)
                    && (self.outranks(&e.author, member)
                        || (*member == e.author && self.admins() > 1));
                if !allowed {
                    return false;
                }
                if let Some(m) = self.members.get_mut(member) {
                    m.role = Role::Member;
                    m.rank = u64::MAX;
                }
                // Stepping down cuts at the step itself, as a leave does: the demotion must
                // never take its own authority away, nor that of another version of its number
                // (placed before it).
                let upto = if *member == e.author {
                    (e.seq, None)
                } else {
                    let kept = cut(member, *upto);
                    (kept, pin(&e.op, kept))
                };
                let cut = self.demoted.entry(*member).or_insert(upto);
                if upto.0 < cut.0 {
                    *cut = upto;
                }
                self.regranted.remove(member);
            }
            Op::Policy { invites } => {
                if !admin {
                    return false;
                }
                self.policy = *invites;
                self.policy_set = Some((e.author, e.seq));
            }
            Op::Rename { name } => {
                if !admin {
                    return false;
                }
                self.name = name.clone();
            }
            Op::Guidelines { format, text } => {
                if !admin {
                    return false;
                }
                self.guidelines = Some((*format, text.clone()));
            }
            // Before membership v4: its epoch id was chosen by its author (so could copy
            // another's) and nothing committed to its key. Kept in chains, never in effect.
            Op::Rekey { .. } => return false,
            Op::NewKey { keys, .. } => return self.start_epoch(genesis, e, keys),
        }
        true
    }

    /// Starts the key epoch `e` carries, sealed to `keys`, if its epoch has not started yet
    /// and every recipient is a current member. Returns whether it started.
    fn start_epoch(
        &mut self,
        genesis: &Genesis,
        e: &OpEntry,
        keys: &[(MemberKey, Vec<u8>)],
    ) -> bool {
        let epoch = super::epoch_of(&genesis.circle, &e.author, e.seq);
        let recipients: BTreeSet<MemberKey> = keys.iter().map(|(m, _)| *m).collect();
        if self.holders.contains_key(&epoch)
            || !recipients.iter().all(|m| self.members.contains_key(m))
        {
            return false;
        }
        self.holders.insert(epoch, recipients);
        self.current_epoch = epoch;
        self.epoch_order.push(epoch);
        true
    }

    /// Lets the member of `a.profile` in through `a.invite`, admitted by `e`'s author, who
    /// may invite (checked by the caller); `past` is `e`'s causal past. Returns whether they
    /// came in.
    fn admit(
        &mut self,
        genesis: &Genesis,
        e: &OpEntry,
        past: &[(MemberKey, u64)],
        a: &Admission<'_>,
        returned_from: Option<MemberKey>,
    ) -> bool {
        let Ok(p) = Profile::open(a.profile) else {
            return false;
        };
        if p.circle != genesis.circle
            || self.members.contains_key(&p.member)
            || self.departed.contains_key(&p.member)
            || self.members.len() >= MAX_MEMBERS
            || self
                .invite_unusable(a.invite, &p.node, e.at / 1000)
                .is_some()
        {
            return false;
        }
        if !self
            .registered
            .get(a.invite)
            .is_some_and(|at| acknowledged_by(past, e.legacy, (e.author, e.seq), *at))
        {
            return false;
        }
        let Some(state) = self.invites.get_mut(a.invite) else {
            return false;
        };
        if state
            .key
            .verify(JOIN_PROOF_DOMAIN, a.profile, a.proof)
            .is_err()
        {
            return false;
        }
        state.used += 1;
        for epoch in a.epochs {
            if let Some(holders) = self.holders.get_mut(epoch)
                && holders.contains(&e.author)
            {
                holders.insert(p.member);
            }
        }
        self.entered.insert(p.member, (e.author, e.seq));
        if e.legacy {
            self.entered_legacy.insert(p.member);
        }
        let joined = self.next_joined;
        self.next_joined += 1;
        self.members.insert(
            p.member,
            Member {
                key: p.member,
                name: p.name,
                exchange: p.exchange,
                node: p.node,
                role: Role::Member,
                admitted_by: Some(e.author),
                rank: u64::MAX,
                joined,
                returned_from,
            },
        );
        true
    }

    /// Whether admin `by` is more senior than `target`, who must be a member. Anyone outranks
    /// a plain member.
    fn outranks(&self, by: &MemberKey, target: &MemberKey) -> bool {
        match (self.members.get(by), self.members.get(target)) {
            (Some(b), Some(t)) => t.role == Role::Member || b.rank < t.rank,
            _ => false,
        }
    }

    fn admins(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.role == Role::Admin)
            .count()
    }

    /// `who` leaves or is removed by the operation `e`.
    fn depart(&mut self, who: &MemberKey, (upto, last): Cut, e: &OpEntry) {
        let by = e.author;
        let Some(m) = self.members.remove(who) else {
            return;
        };
        self.departed.insert(
            *who,
            Departed {
                name: m.name,
                node: m.node,
                upto,
                last,
                by,
                exchange: m.exchange,
            },
        );
        if self.admins() == 0
            && let Some(next) = self.members.values_mut().min_by_key(|m| m.joined)
        {
            next.role = Role::Admin;
            next.rank = self.next_rank;
            self.next_rank += 1;
            self.made_admin.insert(next.key, (e.author, e.seq));
        }
    }

    /// Why `invite` cannot admit the node `node` at `now_secs`, or `None` if it can.
    /// An unknown invite is reported as revoked.
    pub fn invite_unusable(
        &self,
        invite: &InviteId,
        node: &[u8],
        now_secs: u64,
    ) -> Option<InviteUnusable> {
        let Some(i) = self.invites.get(invite) else {
            return Some(InviteUnusable::Revoked);
        };
        if i.revoked {
            Some(InviteUnusable::Revoked)
        } else if now_secs >= i.expires_at {
            Some(InviteUnusable::Expired)
        } else if i.used >= i.uses {
            Some(InviteUnusable::UsedUp)
        } else if i.bound.as_ref().is_some_and(|b| b.as_slice() != node) {
            Some(InviteUnusable::OtherNode)
        } else if !self.may_invite(&i.issuer) {
            Some(InviteUnusable::IssuerCannotInvite)
        } else {
            None
        }
    }

    /// Whether `key` may invite under the circle's policy.
    pub fn may_invite(&self, key: &MemberKey) -> bool {
        self.members
            .get(key)
            .is_some_and(|m| m.role == Role::Admin || self.policy == InvitePolicy::Members)
    }

    /// The exchange key of a member, current or departed.
    pub fn exchange_of(&self, key: &MemberKey) -> Option<ExchangeKey> {
        self.members
            .get(key)
            .map(|m| m.exchange)
            .or_else(|| self.departed.get(key).map(|d| d.exchange))
    }

    /// Whether `key` is a current member.
    pub fn contains(&self, key: &MemberKey) -> bool {
        self.members.contains_key(key)
    }

    /// One current member.
    pub fn get(&self, key: &MemberKey) -> Option<&Member> {
        self.members.get(key)
    }

    /// A member who left or was removed.
    pub fn departed(&self, key: &MemberKey) -> Option<&Departed> {
        self.departed.get(key)
    }

    /// Whether someone came back in the circle as the one who had `former`.
    pub fn has_returned(&self, former: &MemberKey) -> bool {
        self.returned.contains(former)
    }

    /// Everyone who left or was removed.
    pub fn all_departed(&self) -> impl Iterator<Item = (&MemberKey, &Departed)> {
        self.departed.iter()
    }

    /// Whether a message numbered `seq` by `author` counts: a current member's, or one a
    /// departed member wrote before their cut.
    pub fn counts(&self, author: &MemberKey, seq: u64) -> bool {
        self.members.contains_key(author)
            || self.departed.get(author).is_some_and(|d| seq <= d.upto)
    }

    /// Whether the message `id` numbered `seq` by `author` counts: as [`Membership::counts`],
    /// and, when a departed member's cut pins their last message, it is that very message.
    pub fn counts_message(&self, author: &MemberKey, seq: u64, id: &MessageId) -> bool {
        self.counts(author, seq)
            && self
                .departed
                .get(author)
                .is_none_or(|d| seq < d.upto || d.last.is_none_or(|last| last == *id))
    }

    /// Current members, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// How many current members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members (only after everyone left).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members key epoch `epoch` was sealed to (or handed to on admission).
    pub fn holders(&self, epoch: u64) -> Option<&BTreeSet<MemberKey>> {
        self.holders.get(&epoch)
    }

    /// Whether the operation carried by message `id` took effect.
    pub fn took_effect(&self, id: &MessageId) -> bool {
        self.applied.contains(id)
    }

    /// Key epochs in the order they started, the founding one (0) first.
    pub fn epochs(&self) -> impl DoubleEndedIterator<Item = u64> + '_ {
        self.epoch_order.iter().copied()
    }

    /// Whether the current key must be replaced before anything new is sealed under it: it was
    /// given to someone who is no longer a member, or a member never received it.
    pub fn needs_rekey(&self) -> bool {
        match self.holders.get(&self.current_epoch) {
            Some(holders) => {
                holders.iter().any(|h| !self.members.contains_key(h))
                    || self.members.keys().any(|m| !holders.contains(m))
            }
            None => true,
        }
    }
}

/// A cut: the last number of a member's chain that counts, and the id of the message so
/// numbered when the cut pins it (rule 3).
type Cut = (u64, Option<MessageId>);

/// Whether `e` is past `cut`: numbered after it, or another version of the pinned message.
fn past(e: &OpEntry, (upto, last): &Cut) -> bool {
    e.seq > *upto || (e.seq == *upto && last.is_some_and(|id| id != e.id))
}

/// The message a removal or demotion pins, when the cut it makes is the one it numbers.
fn pin(op: &Op, kept: u64) -> Option<MessageId> {
    match op {
        Op::RemoveAt { upto, last, .. } | Op::RevokeAt { upto, last, .. } if *upto == kept => *last,
        _ => None,
    }
}

/// Whether `e` takes its own author out or steps them down (a `Leave`, a `Revoke` of
/// themselves): among versions of one number it goes last, so it takes back nothing another
/// version did.
fn departs_self(e: &OpEntry) -> bool {
    match &e.op {
        Op::Leave => true,
        Op::Revoke { member, .. } | Op::RevokeAt { member, .. } => *member == e.author,
        _ => false,
    }
}

/// Where an operation sits: its author and its number in their chain.
type Position = (MemberKey, u64);

/// Whether the operation at `own`, whose causal past is `past` ([`Acked::take`]), was written
/// having seen the operation at `at`: an earlier one of its own author's, or one its causal
/// past covers. An operation in content tag 1 (`legacy`, written before membership version 4)
/// acknowledges nothing and is judged by the order alone, as then, where it may take effect
/// at all.
fn acknowledged_by(
    past: &[(MemberKey, u64)],
    legacy: bool,
    own: Position,
    (author, seq): Position,
) -> bool {
    legacy || (author == own.0 && seq < own.1) || highest(past, &author) >= seq
}

/// The highest number of `author`'s chain in `past` (sorted by author), 0 if none.
fn highest(past: &[(MemberKey, u64)], author: &MemberKey) -> u64 {
    past.binary_search_by_key(author, |(of, _)| *of)
        .map_or(0, |i| past[i].1)
}

/// An operation's causal past: per author other than its own, sorted by author, the highest
/// number of theirs it acknowledged, itself or through what it acknowledged, and so on.
type Past = Arc<[(MemberKey, u64)]>;

/// The causal past of every operation taken so far: per author, in their chain's order
/// (step 2). Operations that did not change what their author's previous one had seen share
/// its pasts.
#[derive(Clone, Default)]
pub(super) struct Acked {
    chains: BTreeMap<MemberKey, Vec<Taken>>,
}

/// What the derivation keeps of one operation it took ([`Acked::take`]).
#[derive(Clone)]
pub(super) struct Taken {
    seq: u64,
    /// Its causal past: what step 2's checks use.
    past: Past,
    /// What admins vouched for in it: the `seen` of every operation in its causal past whose
    /// author was an admin when it was applied (itself included, once [`Acked::keep`] knows),
    /// reached through any operation; a plain member's claims are not in it.
    vouched: Past,
    /// Its own chain's `seen` (its author's claims, up to it) and what admins vouched for in
    /// its past: what a removal or demotion it makes cuts at (step 3).
    trusted: Past,
}

impl Acked {
    /// The next operation in the order and its pasts: its causal past is the highest of its
    /// own [`OpEntry::seen`], its author's previous operation's past, and the past of the last
    /// operation of each author it acknowledged (taken before it, step 1), with the numbers
    /// that operation acknowledged (Kleppmann, PaPoC 2022: the closure of its predecessors).
    /// A past already holding what an acknowledgement names holds that operation's pasts
    /// too, so each acknowledgement adds its pasts at most once: about what the operation's
    /// `seen` and the pasts it adds hold, per operation. What admins vouched for travels the
    /// same way; the operation's own `seen` joins it only if [`Acked::keep`] says its author
    /// was an admin.
    pub(super) fn take(&self, e: &OpEntry) -> Taken {
        let empty = || Arc::from([]);
        let (past, vouched, trusted) = self
            .chains
            .get(&e.author)
            .and_then(|chain| chain.last())
            .map_or_else(
                || (empty(), empty(), empty()),
                |t| (t.past.clone(), t.vouched.clone(), t.trusted.clone()),
            );
        let raises =
            |of: &MemberKey, upto: u64, held: &Past| *of != e.author && highest(held, of) < upto;
        // Most operations acknowledge nothing their author's previous one had not: they share
        // its pasts without building anything.
        if !e.seen.iter().any(|(of, upto)| raises(of, *upto, &past)) {
            let trusted = if e.seen.iter().any(|(of, upto)| raises(of, *upto, &trusted)) {
                raise(&trusted, &e.seen, &e.author)
            } else {
                trusted
            };
            return Taken {
                seq: e.seq,
                past,
                vouched,
                trusted,
            };
        }
        let mut all: BTreeMap<MemberKey, u64> = past.iter().copied().collect();
        let mut admins: BTreeMap<MemberKey, u64> = vouched.iter().copied().collect();
        for (of, upto) in &e.seen {
            if *of == e.author || all.get(of).is_some_and(|held| held >= upto) {
                continue;
            }
            all.insert(*of, *upto);
            let Some(chain) = self.chains.get(of) else {
                continue;
            };
            let Some(last) = chain.partition_point(|t| t.seq <= *upto).checked_sub(1) else {
                continue;
            };
            for (into, from) in [
                (&mut all, &chain[last].past),
                (&mut admins, &chain[last].vouched),
            ] {
                for (author, seq) in from.iter() {
                    if *author != e.author {
                        let held = into.entry(*author).or_default();
                        *held = (*held).max(*seq);
                    }
                }
            }
        }
        let vouched: Past = admins.into_iter().collect();
        let trusted = raise(&trusted, &vouched, &e.author);
        Taken {
            seq: e.seq,
            past: all.into_iter().collect(),
            trusted: raise(&trusted, &e.seen, &e.author),
            vouched,
        }
    }

    /// Keeps `taken` as `e`'s pasts, `admin` saying whether its author was an admin when it
    /// was applied (so its `seen` is vouched for); returns its trusted past.
    pub(super) fn keep(&mut self, e: &OpEntry, mut taken: Taken, admin: bool) -> Past {
        if admin
            && e.seen
                .iter()
                .any(|(of, upto)| *of != e.author && highest(&taken.vouched, of) < *upto)
        {
            taken.vouched = raise(&taken.vouched, &e.seen, &e.author);
        }
        let trusted = taken.trusted.clone();
        self.chains.entry(e.author).or_default().push(taken);
        trusted
    }
}

/// `held` raised, per author other than `own`, to the numbers in `by`.
fn raise(held: &Past, by: &[(MemberKey, u64)], own: &MemberKey) -> Past {
    let mut map: BTreeMap<MemberKey, u64> = held.iter().copied().collect();
    for (of, upto) in by {
        if of != own {
            let at = map.entry(*of).or_default();
            *at = (*at).max(*upto);
        }
    }
    map.into_iter().collect()
}

/// A whole derivation and where it ended: what [`super::Derivation`] goes on from.
pub(super) struct Full {
    pub(super) state: Membership,
    pub(super) cuts: Cuts,
    pub(super) acked: Acked,
    /// The highest [`OpEntry::order_key`] of any operation in the order.
    pub(super) last: Option<OrderKey>,
    /// The author and number of the operation placed last in the order.
    pub(super) tail: Option<(MemberKey, u64)>,
    /// The cuts settled, and the order needed no acknowledgement passed over.
    pub(super) settled: bool,
    /// Operations taken, over every pass.
    pub(super) steps: u64,
}

/// The cuts one pass of the derivation applies (rule 3).
#[derive(Clone, Default, PartialEq)]
pub(super) struct Cuts {
    removed: BTreeMap<MemberKey, Cut>,
    demoted: BTreeMap<MemberKey, Cut>,
    /// Every removal an admin had the right to write, by whom it removes.
    removals: BTreeMap<MemberKey, Vec<Removal>>,
    /// Where the old format's door closed (the mark), if it did.
    mark: Option<Mark>,
}

/// The first tag-15 operation by an admin that took effect: where it sits, its causal past,
/// and its trusted past ([`Acked::take`]).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Mark {
    at: Position,
    past: Past,
    trusted: Past,
}

/// A removal an admin had the right to write (whether or not its target was still in): where
/// it sits and what it acknowledged, so that a return it did not see can be voided (rule 3).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Removal {
    at: Position,
    past: Past,
    legacy: bool,
}

/// The one order every node applies operations in: what an operation acknowledged comes before
/// it (its author's earlier operations, and every operation its `seen` covers), and among the
/// operations whose acknowledged ones are all placed, the lowest message id (a hash of the
/// signed envelope) goes first. No clock decides anything: an author's date is for display
/// only, so a post-dated or back-dated operation lands where its acknowledgements put it. An
/// acknowledgement that could only be a lie (it closes a cycle) is passed over: when nothing is
/// ready, the waiting operation with the lowest id goes first. Versions of one number (a
/// fork: same author and sequence, other ids) are all kept, one after another by id, and
/// acknowledging the number acknowledges every one of them; only a duplicate (same id) counts
/// once.
fn merge_order(ops: &[OpEntry]) -> (Vec<&OpEntry>, bool) {
    let mut chains: BTreeMap<MemberKey, Vec<&OpEntry>> = BTreeMap::new();
    for e in ops {
        chains.entry(e.author).or_default().push(e);
    }
    for chain in chains.values_mut() {
        chain.sort_by_key(|e| (e.seq, departs_self(e), e.id));
        chain.dedup_by_key(|e| (e.seq, e.id));
    }
    let authors: Vec<MemberKey> = chains.keys().copied().collect();
    let chains: Vec<Vec<&OpEntry>> = chains.into_values().collect();
    // For each entry, the entries of other chains it acknowledged: (chain, index), the last
    // one of each chain only (the chain's order covers the rest).
    let deps: Vec<Vec<Vec<(usize, usize)>>> = chains
        .iter()
        .enumerate()
        .map(|(own, chain)| {
            chain
                .iter()
                .map(|e| {
                    e.seen
                        .iter()
                        .filter_map(|(of, upto)| {
                            let c = authors.binary_search(of).ok().filter(|c| *c != own)?;
                            let covered = chains[c].partition_point(|x| x.seq <= *upto);
                            covered.checked_sub(1).map(|last| (c, last))
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut placed = vec![0usize; chains.len()];
    let mut order = Vec::with_capacity(ops.len());
    let mut stalled = false;
    loop {
        let mut ready = None;
        let mut waiting = None;
        for (c, chain) in chains.iter().enumerate() {
            let Some(e) = chain.get(placed[c]) else {
                continue;
            };
            let key = e.order_key();
            if waiting.is_none_or(|(k, _)| key < k) {
                waiting = Some((key, c));
            }
            let seen_placed = deps[c][placed[c]].iter().all(|(d, i)| placed[*d] > *i);
            if seen_placed && ready.is_none_or(|(k, _)| key < k) {
                ready = Some((key, c));
            }
        }
        stalled |= ready.is_none() && waiting.is_some();
        let Some((_, c)) = ready.or(waiting) else {
            break;
        };
        order.push(chains[c][placed[c]]);
        placed[c] += 1;
    }
    (order, stalled)
}
