//! Where a circle's notable messages are, so the views that list them read only those.
//!
//! Most of a long-lived circle is shares, replies, reactions and membership operations; the
//! check-ins, goals, clocks' milestones, reach-outs (and who saw them), meetings, resources,
//! partnership steps and private notes that the support views list are a small part of it.
//! Before, every such view opened the whole history (a reach-out page of a circle with
//! 10 000 messages decrypted all of them). Now the notable messages are found once, where
//! they are is kept (sealed in the store, see `store::notable`: which messages are
//! check-ins is itself private; so that a node that starts again does not open its whole
//! history), and each later view looks only at what arrived since, then reads those
//! messages by id.
//!
//! A message is read again each time it is shown, so what can change about it (withdrawn,
//! no longer counting after its author's removal) is always current. One that could not be
//! opened when it was looked at (its author not yet known as a member, its key not held yet)
//! is looked at again once the circle's membership or keys have changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use circle_crypto::{CircleId, MessageId};

use super::views::{Msg, decrypt};
use super::{CircleState, Circles, poisoned};
use crate::content::Body;
use crate::error::Result;
use crate::store::NotableChange;

/// What a node knows of where its circles' notable messages are.
#[derive(Default)]
pub(super) struct NotableIndex {
    circles: Mutex<HashMap<CircleId, Found>>,
}

/// One circle's notable messages found so far.
#[derive(Default)]
struct Found {
    /// Every arrival up to this cursor has been looked at.
    upto: u64,
    /// Notable messages, by cursor (so in arrival order).
    notable: BTreeMap<u64, MessageId>,
    /// Arrivals that could not be opened when looked at, by cursor.
    unopened: BTreeMap<u64, MessageId>,
    /// The circle's membership and keys when `unopened` was last tried.
    tried_at: Option<Generation>,
    /// How many arrivals were opened to find the notable ones (for tests).
    #[cfg(test)]
    opened: usize,
}

/// What decides which messages this node can open: the operations and keys it holds.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Generation {
    ops: usize,
    keys: usize,
}

impl Generation {
    fn of(c: &CircleState) -> Generation {
        Generation {
            ops: c.derivation.ops().len(),
            keys: c.keys.len(),
        }
    }
}

/// Whether the views list this message: anything but the bulk of a circle's talk.
fn is_notable(m: &Msg) -> bool {
    match &m.body {
        None => false,
        Some(
            Body::Share { .. }
            | Body::Post(_)
            | Body::React { .. }
            | Body::Withdraw { .. }
            | Body::Op(_)
            | Body::Acked(_),
        ) => false,
        Some(Body::Private(_)) => m.private.is_some(),
        Some(_) => true,
    }
}

impl Circles {
    /// The circle's notable messages that count (see the module's documentation), decrypted
    /// for this node's member, in arrival order: what [`Circles::messages`] would give, less
    /// shares, reactions, withdrawals and operations.
    pub(crate) fn notable(&self, circle: &CircleId) -> Result<Vec<Msg>> {
        let ids = self.find_notable(circle)?;
        let mut arrivals = Vec::with_capacity(ids.len());
        for (cursor, id) in ids {
            if let Some(mut a) = self.store().arrival_of(&id)? {
                a.cursor = cursor;
                arrivals.push(a);
            }
        }
        self.with_circle(circle, |c| Ok(decrypt(c, circle, arrivals)))
    }

    /// Looks at what arrived since the last call (and, when membership or keys changed, at
    /// what could not be opened before), and gives every notable message's cursor and id.
    fn find_notable(&self, circle: &CircleId) -> Result<Vec<(u64, MessageId)>> {
        let mut index = self.inner.notable.circles.lock().map_err(poisoned)?;
        let found = match index.entry(*circle) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let saved = self.store().notable_saved(circle)?;
                e.insert(Found {
                    upto: saved.upto,
                    notable: saved.notable.into_iter().collect(),
                    unopened: saved.unopened.into_iter().collect(),
                    ..Found::default()
                })
            }
        };
        let before = found.upto;
        let mut change = NotableChange::default();
        let mut fresh = Vec::new();
        let mut last = found.upto;
        for a in self.store().arrivals_after(circle, found.upto) {
            let a = a?;
            last = last.max(a.cursor);
            fresh.push(a);
        }
        let generation = self.with_circle(circle, |c| Ok(Generation::of(c)))?;
        if found.tried_at != Some(generation) && !found.unopened.is_empty() {
            for (cursor, id) in std::mem::take(&mut found.unopened) {
                change.retried.push(cursor);
                if let Some(mut a) = self.store().arrival_of(&id)? {
                    a.cursor = cursor;
                    fresh.push(a);
                }
            }
        }
        found.tried_at = Some(generation);
        found.upto = last;
        #[cfg(test)]
        {
            found.opened += fresh.len();
        }
        let looked_at: Vec<(u64, MessageId, bool)> = fresh
            .iter()
            .map(|a| (a.cursor, a.id, a.gone.is_some()))
            .collect();
        let opened = self.with_circle(circle, |c| Ok(decrypt(c, circle, fresh)))?;
        let mut opened = opened.into_iter().peekable();
        for (cursor, id, gone) in looked_at {
            // `decrypt` keeps the order it was given and leaves out what it cannot open.
            match opened.next_if(|m| m.cursor == cursor) {
                Some(m) if is_notable(&m) => {
                    found.notable.insert(cursor, id);
                    change.notable.push((cursor, id));
                }
                Some(_) => {}
                // Withdrawn or expired before it was ever looked at: nothing to show.
                None if gone => {}
                None => {
                    found.unopened.insert(cursor, id);
                    change.unopened.push((cursor, id));
                }
            }
        }
        // A retried cursor that is still unopened is written again after its removal.
        change.retried.retain(|c| !found.unopened.contains_key(c));
        if found.upto != before
            || !(change.notable.is_empty()
                && change.unopened.is_empty()
                && change.retried.is_empty())
        {
            change.upto = found.upto;
            self.store().save_notable(circle, &change)?;
        }
        Ok(found.notable.iter().map(|(c, id)| (*c, *id)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::ReachOut;

    fn opened(circles: &Circles, circle: &CircleId) -> usize {
        circles.inner.notable.circles.lock().unwrap()[circle].opened
    }

    #[test]
    fn a_reach_out_among_many_shares_is_found_once_and_later_views_open_only_whats_new() {
        let (circles, _dir) = super::super::offline_for_tests();
        let circle = circles.create("Tuesday", Some("alice")).unwrap();
        for n in 0..40 {
            circles.share(&circle, &format!("share {n}")).unwrap();
        }
        let reach = |text: &str| ReachOut {
            text: Some(text.into()),
            callback: None,
        };
        let first = circles.reach_out(&circle, reach("rough night")).unwrap();
        for n in 0..40 {
            circles.share(&circle, &format!("more {n}")).unwrap();
        }

        let listed = circles.reach_outs(&circle).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].reach_out.text.as_deref(), Some("rough night"));
        let everything = opened(&circles, &circle);
        assert!(everything > 80, "the first view looks at the whole history");

        // Five more shares and a second reach-out: only those six are opened to find it.
        for n in 0..5 {
            circles.share(&circle, &format!("later {n}")).unwrap();
        }
        circles.reach_out(&circle, reach("still here")).unwrap();
        let listed = circles.reach_outs(&circle).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(opened(&circles, &circle), everything + 6);

        // Withdrawn after it was found: gone from the list at once.
        let id = first[0].id().to_string();
        circles.withdraw(&id).unwrap();
        let listed = circles.reach_outs(&circle).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].reach_out.text.as_deref(), Some("still here"));
    }

    #[test]
    fn a_node_started_again_finds_its_reach_outs_without_opening_its_whole_history() {
        let (circles, _dir) = super::super::offline_for_tests();
        let circle = circles.create("Tuesday", Some("alice")).unwrap();
        let reach = |text: &str| ReachOut {
            text: Some(text.into()),
            callback: None,
        };
        for n in 0..40 {
            circles.share(&circle, &format!("share {n}")).unwrap();
        }
        circles.reach_out(&circle, reach("rough night")).unwrap();
        assert_eq!(circles.reach_outs(&circle).unwrap().len(), 1);
        assert!(opened(&circles, &circle) > 40);
        circles.share(&circle, "one more").unwrap();

        // The node starts again on the same store.
        let store = circles.store().clone();
        drop(circles);
        let circles = Circles::load(store).unwrap();
        let listed = circles.reach_outs(&circle).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].reach_out.text.as_deref(), Some("rough night"));
        assert_eq!(
            opened(&circles, &circle),
            1,
            "only what arrived since the last look is opened after a start"
        );
    }
}
