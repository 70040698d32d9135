//! Writing: this node's member's own messages, sealed, signed, numbered and on disk before
//! they are handed to the network; and the new key epoch written first when one is due.

use super::*;

impl Circles {
    /// Shares text with a circle. When this returns, the message is on disk. Returns what to
    /// gossip: the share, after a new key epoch if one was due.
    pub fn share(&self, circle: &CircleId, text: &str) -> Result<Vec<Envelope>> {
        self.share_with(circle, text, None, None)
    }

    /// Writes a message by this node's member, durably, before returning it for gossip. If
    /// the current key must be replaced first (someone left, was removed, or never got it), a
    /// new key epoch is written first and returned too.
    pub(super) fn post(&self, circle: &CircleId, body: Body) -> Result<Vec<Envelope>> {
        self.post_dated(circle, body, None)
    }

    /// [`Circles::post`], dated `at` (unix ms) rather than now when given: for an answer that
    /// must come after what it answers even when the other author's clock runs ahead.
    pub(super) fn post_dated(
        &self,
        circle: &CircleId,
        body: Body,
        at: Option<u64>,
    ) -> Result<Vec<Envelope>> {
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        self.check_not_replaced()?;
        if self.is_catching_up(circle) {
            return self.keep_until_caught_up(circle, body, at);
        }
        self.post_checked_locked(circle, body, at)
    }

    /// [`Circles::post_dated`] once it is known that the message is numbered now: a new key
    /// epoch first if one is due, then the message, flushed. The writer lock must be held.
    pub(super) fn post_checked_locked(
        &self,
        circle: &CircleId,
        body: Body,
        at: Option<u64>,
    ) -> Result<Vec<Envelope>> {
        let mut out = Vec::new();
        let stale = self.with_circle(circle, |c| {
            c.check_member()?;
            Ok(c.rekey_due())
        })?;
        if stale {
            out.push(self.rekey_locked(circle)?);
        }
        out.push(self.post_locked_at(circle, body, at)?);
        self.store().flush()?;
        Ok(out)
    }

    /// Writes a new key epoch: a fresh key sealed checkably to each current member, with a
    /// commitment to it; its epoch id comes from this message's author and number. The writer
    /// lock must be held.
    pub(super) fn rekey_locked(&self, circle: &CircleId) -> Result<Envelope> {
        self.with_new_key_locked(circle, None, |keys, commitment| Op::NewKey {
            keys,
            commitment,
        })
    }

    /// Writes the operation `op` makes of a new key epoch sealed checkably to each current
    /// member but `without`, and of its commitment; keeps the key. The epoch id comes from
    /// this message's author and number. The writer lock must be held.
    pub(super) fn with_new_key_locked(
        &self,
        circle: &CircleId,
        without: Option<MemberKey>,
        op: impl FnOnce(Vec<(MemberKey, Vec<u8>)>, [u8; 32]) -> Op,
    ) -> Result<Envelope> {
        let key = CircleKey::generate();
        let (epoch, replacing) = self.with_circle(circle, |c| {
            let seq = self.store().max_seq(circle, &c.me.public())? + 1;
            Ok((
                epoch_of(circle, &c.me.public(), seq),
                c.members.current_epoch,
            ))
        })?;
        let keys = self.with_circle(circle, |c| {
            Ok(c.members
                .iter()
                .filter(|m| Some(m.key) != without)
                .filter_map(|m| {
                    // A member no key can be sealed to is skipped, never a reason for the
                    // whole circle to stop writing (the derivation admits no such member).
                    match seal_new_key_for(circle, &m.key, &m.exchange, epoch, &key) {
                        Ok(sealed) => Some((m.key, sealed)),
                        Err(e) => {
                            tracing::warn!(circle = %circle.short(), member = %m.key.short(),
                                "a new circle key cannot be sealed to this member: {e}");
                            None
                        }
                    }
                })
                .collect::<Vec<_>>())
        })?;
        let commitment = key_commitment(circle, epoch, &key.to_bytes());
        // Sealed under the latest key this node holds, so members who have only that one can
        // open it.
        let envelope = self.post_locked(circle, Body::Op(op(keys, commitment)))?;
        self.store().put_key(circle, epoch, &key)?;
        let mut state = self.inner.state.write().map_err(poisoned)?;
        if let Some(c) = state.get_mut(circle) {
            c.keys.insert(epoch, key);
            c.replaced.insert(replacing);
        }
        Ok(envelope)
    }

    /// Seals, signs and stores one message under the current key. The writer lock must be
    /// held; the caller flushes.
    pub(super) fn post_locked(&self, circle: &CircleId, body: Body) -> Result<Envelope> {
        self.post_locked_at(circle, body, None)
    }

    fn post_locked_at(&self, circle: &CircleId, body: Body, at: Option<u64>) -> Result<Envelope> {
        // The one place a message of this node's member is numbered: never while a newer copy
        // writes in its place, nor before this node holds what it wrote before a restore.
        self.check_not_replaced()?;
        if self.is_catching_up(circle) {
            return Err(Error::Invalid(CATCHING_UP_REFUSAL.into()));
        }
        let store = self.store();
        // Every operation says what this node had seen: it bounds what this member's later
        // removals and demotions may cut (membership version 4).
        let body = match body {
            Body::Op(op) => Body::Acked(Acked {
                op,
                seen: self.seen(circle)?,
            }),
            other => other,
        };
        let content = Content {
            sent_at: at.unwrap_or_else(now_ms),
            body,
        };
        let kind = content.body.kind();
        let envelope = self.with_circle(circle, |c| {
            let me = c.me.public();
            let seq = store.max_seq(circle, &me)? + 1;
            let prev = match seq {
                1 => None,
                _ => store.chain_id(circle, &me, seq - 1)?,
            };
            // The current epoch's key; a node that was never given it (it rekeys before
            // posting anything else) seals the new epoch under the latest key it holds.
            let (epoch, key) = c
                .members
                .epochs()
                .rev()
                .find_map(|e| c.keys.get_key_value(&e))
                .or_else(|| c.keys.iter().next())
                .ok_or_else(|| Error::Refused("this node holds no key of the circle".into()))?;
            let epoch = *epoch;
            let header = Header {
                version: ENVELOPE_VERSION,
                circle: *circle,
                epoch,
                author: me,
                seq,
                prev,
            };
            Ok(Envelope::seal(&c.me, key, header, &content.to_bytes())?)
        })?;
        let record = OpRecord::of(&content, envelope.id());
        match store.put_own_envelope(&envelope, record.as_ref(), content.body.expires_at())? {
            Stored::New => {}
            // Never report as saved what the store did not take.
            Stored::Duplicate | Stored::Conflict | Stored::Fork | Stored::TooManyVersions => {
                return Err(Error::Refused(format!(
                    "this node already holds another message numbered {} by you: nothing was \
                     saved (was the store restored from a backup?)",
                    envelope.header().seq
                )));
            }
        }
        if let Some(record) = record {
            self.learn_op(circle, &envelope, record)?;
        }
        self.tell(circle, &envelope, kind);
        self.inner.arrivals.send_modify(|n| *n += 1);
        Ok(envelope)
    }

    /// For each author of `circle`, the highest number up to which this node holds every
    /// message of theirs: what an operation it writes acknowledges.
    fn seen(&self, circle: &CircleId) -> Result<Vec<(MemberKey, u64)>> {
        let mut seen: Vec<(MemberKey, u64)> = self
            .store()
            .heads(circle)?
            .into_iter()
            .filter(|(_, seq)| *seq > 0)
            .collect();
        seen.sort();
        seen.dedup_by_key(|(author, _)| *author);
        if seen.len() > MAX_SEEN_AUTHORS {
            // Current members first: theirs are the messages a cut could reach.
            self.with_circle(circle, |c| {
                seen.retain(|(author, _)| c.members.contains(author));
                Ok(())
            })?;
            seen.truncate(MAX_SEEN_AUTHORS);
        }
        Ok(seen)
    }

    /// Adds a stored operation to its circle and derives the membership again.
    pub(super) fn learn_op(
        &self,
        circle: &CircleId,
        envelope: &Envelope,
        record: OpRecord,
    ) -> Result<()> {
        self.add_op(circle, envelope, record, true)?;
        // A removal pins a chain; a departed member's operation may extend the one followed.
        self.follow_chains(circle)
    }

    /// Adds a stored operation to its circle: with `now`, deriving the membership again at
    /// once; without, as one of a batch, deriving nothing yet if it needs a whole derivation
    /// ([`Circles::settle`] does it). Tells the membership's watchers when it changed.
    pub(super) fn add_op(
        &self,
        circle: &CircleId,
        envelope: &Envelope,
        record: OpRecord,
        now: bool,
    ) -> Result<()> {
        let h = envelope.header();
        let mut state = self.inner.state.write().map_err(poisoned)?;
        let Some(c) = state.get_mut(circle) else {
            return Ok(());
        };
        let before = c.members.clone();
        let entry = record.entry(h.author, h.seq);
        if now {
            c.learn(entry);
        } else {
            c.take(entry);
        }
        if c.members != before {
            self.inner.membership.send_modify(|n| *n += 1);
        }
        Ok(())
    }
}
