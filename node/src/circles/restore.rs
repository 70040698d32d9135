//! Never a fork of yourself: a node restored from a backup may be behind what its member
//! wrote before. In each circle it catches up with its own messages from another member's
//! node before it numbers anything (what the person writes meanwhile is kept, then numbered
//! and sent in order), then says in its own chain that it is the newer copy (`Moved`). An
//! older copy that reads a message in its own chain it did not write, or that notice, stops
//! writing for good (docs/PROTOCOL.md, section 4.5).

use std::{path::Path, sync::atomic::Ordering};

use super::*;
use crate::home::CATCHING_UP_FILE;

/// The error of every write on a node a newer copy replaced.
pub const REPLACED_REFUSAL: &str =
    "this node was replaced by a restored copy on another machine: use that one";

/// The error of a change to the circle (a membership operation) while catching up.
pub const CATCHING_UP_REFUSAL: &str = "this node is catching up with your own messages after \
     a restore: changes to the circle wait until it has (see `circle status`)";

impl Circles {
    /// Reads the home's [`CATCHING_UP_FILE`] (a restore leaves it): if it is there, every
    /// circle this node takes part in with another member catches up with its own messages
    /// before this node numbers anything there. A circle with no other member has no one to
    /// catch up from and nobody who could hold more of this member's messages: it is caught
    /// up at once. The file is removed when every circle is caught up.
    pub fn catch_up_after_restore(&self, home: &Path) -> Result<()> {
        let marker = home.join(CATCHING_UP_FILE);
        if !marker.exists() {
            return Ok(());
        }
        let circles: BTreeSet<CircleId> = self.read(|s| {
            s.iter()
                .filter(|(_, c)| {
                    let me = c.me.public();
                    c.takes_part() && c.members.iter().any(|m| m.key != me)
                })
                .map(|(id, _)| *id)
                .collect()
        })?;
        let mut catching = self.inner.catching_up.lock().map_err(poisoned)?;
        if circles.is_empty() {
            drop(catching);
            return remove_marker(&marker);
        }
        tracing::info!(
            circles = circles.len(),
            "restored: catching up with this member's own messages before writing"
        );
        *catching = (circles, Some(marker));
        Ok(())
    }

    /// Whether this node is catching up with its own messages in `circle` (after a restore).
    pub fn is_catching_up(&self, circle: &CircleId) -> bool {
        self.inner
            .catching_up
            .lock()
            .is_ok_and(|c| c.0.contains(circle))
    }

    /// Whether a newer copy of this node (restored on another machine) replaced it.
    pub fn is_replaced(&self) -> bool {
        self.inner.replaced.load(Ordering::SeqCst)
    }

    pub(super) fn check_not_replaced(&self) -> Result<()> {
        if self.is_replaced() {
            return Err(Error::Invalid(REPLACED_REFUSAL.into()));
        }
        Ok(())
    }

    /// Keeps a message written while `circle` catches up: sealed on disk, not numbered, not
    /// sent (nothing to gossip is returned). Changes to the circle are refused meanwhile.
    /// The writer lock must be held.
    pub(super) fn keep_until_caught_up(
        &self,
        circle: &CircleId,
        body: Body,
        at: Option<u64>,
    ) -> Result<Vec<Envelope>> {
        if body.op().is_some() {
            return Err(Error::Invalid(CATCHING_UP_REFUSAL.into()));
        }
        self.with_circle(circle, |c| c.check_member().map(|_| ()))?;
        let content = Content {
            sent_at: at.unwrap_or_else(now_ms),
            body,
        };
        self.store().queue_write(circle, &content.to_bytes())?;
        self.store().flush()?;
        Ok(Vec::new())
    }

    /// Called when a member's node answered a sync of `circle` in full (its last page) and
    /// the page was taken in: this node now holds every message of its own that node holds
    /// (a page carries everything of each author above the requester's head). If its own
    /// chain has no gap, `circle` is caught up: this node writes that it is the newer copy
    /// (`Moved`), then numbers and stores what was kept meanwhile, in order. Returns what to
    /// gossip (nothing if the circle was not catching up or is not caught up yet).
    pub fn caught_up(&self, circle: &CircleId) -> Result<Vec<Envelope>> {
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        if !self.is_catching_up(circle) || self.is_replaced() {
            return Ok(Vec::new());
        }
        let me = self.my_key(circle)?;
        let store = self.store();
        let (head, top) = (store.head(circle, &me)?, store.max_seq(circle, &me)?);
        if head < top {
            // Something of its own is still missing: the next sync brings it.
            return Ok(Vec::new());
        }
        let marker = {
            let mut catching = self.inner.catching_up.lock().map_err(poisoned)?;
            catching.0.remove(circle);
            if catching.0.is_empty() {
                catching.1.take()
            } else {
                None
            }
        };
        let mut out = Vec::new();
        if self.with_circle(circle, |c| Ok(c.members.contains(&me)))? {
            let (known, mine) = store.generations(circle)?;
            let generation = known.max(mine).saturating_add(1);
            match self.post_checked_locked(circle, Body::Moved { generation }, None) {
                Ok(written) => out.extend(written),
                Err(e) => {
                    // Still catching up: what was kept stays kept, and the next full sync
                    // tries again.
                    let mut catching = self.inner.catching_up.lock().map_err(poisoned)?;
                    catching.0.insert(*circle);
                    if catching.1.is_none() {
                        catching.1 = marker;
                    }
                    return Err(e);
                }
            }
            store.set_generations(circle, generation, generation)?;
            for (key, bytes) in store.queued(circle)? {
                match Content::from_bytes(&bytes) {
                    Ok(content) => {
                        let sent_at = Some(content.sent_at);
                        match self.post_checked_locked(circle, content.body, sent_at) {
                            Ok(written) => out.extend(written),
                            // Kept until it can be written (say the member was removed
                            // meanwhile): it is never silently dropped.
                            Err(e) => {
                                tracing::warn!(circle = %circle.short(), "a message kept while catching up cannot be sent: {e}");
                                continue;
                            }
                        }
                    }
                    Err(e) => tracing::warn!("a kept message does not decode: {e}"),
                }
                store.unqueue(&key)?;
            }
        }
        store.flush()?;
        tracing::info!(circle = %circle.short(), sent = out.len(), "caught up with this member's own messages");
        if let Some(marker) = marker {
            remove_marker(&marker)?;
        }
        Ok(out)
    }

    /// Judges a message by this node's own member in `circle` that another node sent and this
    /// node stored (new, or another version of a number it holds): this node did not write it.
    /// While catching up that is what it asked for; otherwise another copy of this node
    /// writes. A copy that never moved (it wrote no `Moved` here) stops at any such message;
    /// a moved copy stops only at a `Moved` of its own generation or newer (so the newest
    /// copy keeps writing while older ones stop). Returns whether this node stops now.
    pub(super) fn judge_own(&self, circle: &CircleId, body: &Body) -> Result<bool> {
        let store = self.store();
        let (known, mine) = store.generations(circle)?;
        let named = match body {
            Body::Moved { generation } => Some(*generation),
            _ => None,
        };
        if let Some(g) = named
            && g > known
        {
            store.set_generations(circle, g, mine)?;
        }
        if self.is_catching_up(circle) || self.is_replaced() {
            return Ok(false);
        }
        let stop = match named {
            Some(g) => g >= mine,
            None => mine == 0,
        };
        if stop {
            store.set_replaced()?;
            self.inner.replaced.store(true, Ordering::SeqCst);
            tracing::warn!(circle = %circle.short(), "{REPLACED_REFUSAL}");
        }
        Ok(stop)
    }

    /// How many messages are kept for `circle` until it is caught up.
    pub fn queued_count(&self, circle: &CircleId) -> usize {
        self.store().queued_count(circle)
    }
}

fn remove_marker(marker: &Path) -> Result<()> {
    match std::fs::remove_file(marker) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(
            format!("could not remove {}", marker.display()),
            e,
        )),
    }
}
