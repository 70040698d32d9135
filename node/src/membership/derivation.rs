//! Keeping a circle's membership up to date one operation at a time (issue 13, finding 6).
//!
//! [`Membership::derive`] takes every operation again. Most operations a node learns come
//! last in the order and change no cut, and for those applying the one operation to the state
//! already derived gives exactly what a whole derivation would: [`Derivation::learn`] does
//! that, and derives from scratch only when the new operation lands earlier in the order,
//! something already held acknowledged it, or it moved a cut.
//!
//! A sync page or a welcome brings many operations at once: [`Derivation::take`] applies each
//! that way while it can, keeps the rest without deriving, and [`Derivation::settle`] derives
//! once for all of them, so a page costs at most one derivation whatever it holds.

use std::collections::{BTreeMap, BTreeSet};

use circle_crypto::{MemberKey, MessageId};

use super::derive::{Acked, Cuts, Full, OrderKey};
use super::{Genesis, Membership, OpEntry};

/// A circle's operations and the membership derived from them.
pub struct Derivation {
    ops: Vec<OpEntry>,
    state: Membership,
    cuts: Cuts,
    acked: Acked,
    /// The highest [`OpEntry::order_key`] in the order.
    last: Option<OrderKey>,
    /// The author and number of the operation placed last in the order.
    tail: Option<(MemberKey, u64)>,
    settled: bool,
    /// Per author, the highest sequence number among the operations held.
    heads: BTreeMap<MemberKey, u64>,
    /// Per author, the highest number of theirs any operation held says it had seen.
    claimed: BTreeMap<MemberKey, u64>,
    steps: u64,
    /// How many times it derived from all operations.
    derivations: u64,
    /// Whether an operation was taken that the state does not reflect yet.
    stale: bool,
    /// Operations held that are not entries: versions of a departed member's numbers at or
    /// below their pinned cut that are not on their hash chain down from the pin (PROTOCOL.md
    /// section 6.4, "A pinned cut").
    excluded: BTreeSet<MessageId>,
}

impl Derivation {
    /// Derives the membership from `ops`.
    pub fn new(genesis: &Genesis, ops: Vec<OpEntry>) -> Derivation {
        let mut d = Derivation {
            ops: Vec::new(),
            state: Membership::derive(genesis, &[]),
            cuts: Cuts::default(),
            acked: Acked::default(),
            last: None,
            tail: None,
            settled: true,
            heads: BTreeMap::new(),
            claimed: BTreeMap::new(),
            steps: 0,
            derivations: 0,
            stale: false,
            excluded: BTreeSet::new(),
        };
        for e in &ops {
            d.note(e);
        }
        d.ops = ops;
        d.rederive(genesis);
        d
    }

    /// Adds one operation and brings the membership up to date.
    pub fn learn(&mut self, genesis: &Genesis, e: OpEntry) {
        self.take(genesis, e);
        self.settle(genesis);
    }

    /// Adds one operation of a batch: applied to the state at once if that gives what a
    /// whole derivation would, otherwise only kept, and from then on every operation of the
    /// batch is only kept until [`Derivation::settle`]. Meanwhile ([`Derivation::is_stale`])
    /// [`Derivation::membership`] does not reflect them.
    pub fn take(&mut self, genesis: &Genesis, e: OpEntry) {
        if self.excluded.contains(&e.id) {
            self.ops.push(e);
            return;
        }
        let appends = !self.stale
            && self.settled
            && self.heads.get(&e.author).is_none_or(|seq| e.seq > *seq)
            && self.claimed.get(&e.author).is_none_or(|seq| *seq < e.seq)
            && (self.rests_on_tail(&e)
                || self.acknowledges_all(&e)
                || self.last.is_none_or(|last| e.order_key() > last));
        self.note(&e);
        self.ops.push(e);
        if !appends {
            self.stale = true;
            return;
        }
        let e = self.ops.last().expect("just pushed");
        // Everything held is placed before it could be (it comes after the operation placed
        // last, or acknowledged all of it, or its order key is the highest; and nothing held
        // waits for it): the order is the old one with it at the end.
        self.state.step(genesis, e, &self.cuts, &mut self.acked);
        self.steps += 1;
        self.last = self.last.max(Some(e.order_key()));
        self.tail = Some((e.author, e.seq));
        if self.state.cuts() != self.cuts {
            self.stale = true;
        }
    }

    /// Derives once from all operations if any taken since the last derivation needs it.
    pub fn settle(&mut self, genesis: &Genesis) {
        if self.stale {
            self.rederive(genesis);
        }
    }

    /// Whether operations were taken that the membership does not reflect until
    /// [`Derivation::settle`].
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Whether `e` comes after the operation placed last (its author's own, or one it
    /// acknowledged): then it is ready only once everything held is placed.
    fn rests_on_tail(&self, e: &OpEntry) -> bool {
        self.tail.is_none_or(|(author, seq)| {
            author == e.author
                || e.seen
                    .iter()
                    .any(|(of, upto)| *of == author && *upto >= seq)
        })
    }

    /// Whether `e` acknowledged every operation held: then nothing held can come after it.
    fn acknowledges_all(&self, e: &OpEntry) -> bool {
        let sorted = e.seen.windows(2).all(|w| w[0].0 < w[1].0);
        sorted
            && self.heads.iter().all(|(author, head)| {
                *author == e.author
                    || e.seen
                        .binary_search_by_key(author, |(of, _)| *of)
                        .is_ok_and(|i| e.seen[i].1 >= *head)
            })
    }

    fn note(&mut self, e: &OpEntry) {
        let head = self.heads.entry(e.author).or_default();
        *head = (*head).max(e.seq);
        for (of, seq) in &e.seen {
            let claimed = self.claimed.entry(*of).or_default();
            *claimed = (*claimed).max(*seq);
        }
    }

    /// Makes the operations with these ids not entries (and those no longer among them
    /// entries again), deriving again if that changes anything. Returns whether it did.
    pub fn exclude(&mut self, genesis: &Genesis, ids: BTreeSet<MessageId>) -> bool {
        if ids == self.excluded {
            return false;
        }
        self.excluded = ids;
        self.rederive(genesis);
        true
    }

    fn rederive(&mut self, genesis: &Genesis) {
        let entries: Vec<OpEntry>;
        let ops = if self.excluded.is_empty() {
            &self.ops
        } else {
            entries = self
                .ops
                .iter()
                .filter(|e| !self.excluded.contains(&e.id))
                .cloned()
                .collect();
            &entries
        };
        let Full {
            state,
            cuts,
            acked,
            last,
            tail,
            settled,
            steps,
        } = Membership::derive_full(genesis, ops);
        self.tail = tail;
        self.state = state;
        self.cuts = cuts;
        self.acked = acked;
        self.last = last;
        self.settled = settled;
        self.steps += steps;
        self.derivations += 1;
        self.stale = false;
    }

    /// The membership as derived now.
    pub fn membership(&self) -> &Membership {
        &self.state
    }

    /// The operations held.
    pub fn ops(&self) -> &[OpEntry] {
        &self.ops
    }

    /// How many operations were taken, over every derivation so far: what a flood of
    /// operations costs.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// How many times it derived from all operations, the first included.
    pub fn derivations(&self) -> u64 {
        self.derivations
    }
}
