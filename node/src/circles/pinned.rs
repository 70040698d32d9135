//! A departed member's hash chain down from the message their removal pinned (PROTOCOL.md
//! section 6.4, "A pinned cut"): below the cut, what counts of theirs is exactly that chain.
//! A version of one of their numbers the chain verifies is taken even when another version
//! is held, and the held one that is not on the chain stops counting: its operation is not
//! an entry of the derivation, and feeds do not show it.

use super::*;
use circle_crypto::MessageId;

/// How far down from the pin a departed member's chain is verified by what this node holds.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ChainDown {
    /// The cut: the number and id of the pinned message.
    pin: (u64, MessageId),
    /// The lowest number whose version on the chain is held (one above the cut while the
    /// pinned message is not held).
    low: u64,
    /// The id the chain's version of number `low - 1` has (what the one at `low` names as
    /// `prev`); `None` if it names none.
    want: Option<MessageId>,
    /// Held versions of numbers from `low` to below the cut that are not on the chain.
    off: BTreeSet<MessageId>,
}

/// Where a departed member's message at or below their pinned cut stands.
pub(super) enum OnChain {
    /// It is the next one down the chain (or the pin): taken.
    Yes,
    /// The chain is verified at its number and names another version: refused.
    No,
    /// The chain is not verified down to its number yet: later.
    NotYet,
}

impl ChainDown {
    /// Where the message `id` numbered `seq` stands (`seq` at most the cut).
    pub(super) fn judge(&self, seq: u64, id: &MessageId) -> OnChain {
        if seq >= self.low {
            OnChain::No
        } else if seq + 1 == self.low {
            if self.want == Some(*id) {
                OnChain::Yes
            } else {
                OnChain::No
            }
        } else {
            OnChain::NotYet
        }
    }

    /// Whether this chain is the one down from `pin`.
    pub(super) fn pinned_at(&self, pin: (u64, MessageId)) -> bool {
        self.pin == pin
    }
}

impl CircleState {
    /// Whether `id` is a departed member's version that their verified chain replaced.
    pub(super) fn off_chain(&self, id: &MessageId) -> bool {
        self.chains.values().any(|c| c.off.contains(id))
    }
}

/// Most rounds of following chains and deriving again (excluding an operation could, in
/// principle, move a pin).
const MAX_ROUNDS: usize = 4;

impl Circles {
    /// Follows every departed member's chain down from their pinned message through what
    /// this node holds, and makes the operations of versions off the chain not entries of
    /// `circle`'s derivation.
    pub(super) fn follow_chains(&self, circle: &CircleId) -> Result<()> {
        for _ in 0..MAX_ROUNDS {
            let pins: Vec<(MemberKey, ChainDown)> = self.with_circle(circle, |c| {
                Ok(c.members
                    .all_departed()
                    .filter_map(|(k, d)| {
                        let pin = (d.upto, d.last?);
                        let chain = c
                            .chains
                            .get(k)
                            .filter(|chain| chain.pinned_at(pin))
                            .cloned()
                            .unwrap_or(ChainDown {
                                pin,
                                low: pin.0.saturating_add(1),
                                want: Some(pin.1),
                                off: BTreeSet::new(),
                            });
                        Some((*k, chain))
                    })
                    .collect())
            })?;
            let mut chains = BTreeMap::new();
            for (author, mut chain) in pins {
                while chain.low > 1 {
                    let Some(want) = chain.want else { break };
                    let seq = chain.low - 1;
                    let versions = self.store().versions_at(circle, &author, seq)?;
                    let mut found = None;
                    let mut others = Vec::new();
                    for bytes in versions {
                        let Ok(env) = Envelope::from_bytes(&bytes) else {
                            continue;
                        };
                        if env.id() == want {
                            found = Some(env);
                        } else {
                            others.push(env.id());
                        }
                    }
                    let Some(env) = found else { break };
                    // At the pinned number itself, other versions stand as the cut has them
                    // (past it for a removal; a leave cuts none, section 6.5, "Forks").
                    if seq < chain.pin.0 {
                        chain.off.extend(others);
                    }
                    chain.low = seq;
                    chain.want = env.header().prev;
                }
                chains.insert(author, chain);
            }
            let mut state = self.inner.state.write().map_err(poisoned)?;
            let Some(c) = state.get_mut(circle) else {
                return Ok(());
            };
            c.chains = chains;
            let excluded: BTreeSet<MessageId> = c
                .chains
                .values()
                .flat_map(|chain| chain.off.iter().copied())
                .collect();
            if !c.derivation.exclude(&c.genesis, excluded) {
                return Ok(());
            }
            let derived = c.derivation.membership().clone();
            if std::mem::replace(&mut c.members, derived) == c.members {
                return Ok(());
            }
            self.inner.membership.send_modify(|n| *n += 1);
        }
        Ok(())
    }
}
