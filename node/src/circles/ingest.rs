//! Taking in what other nodes send: envelopes, from gossip, sync and welcomes.

use circle_crypto::open_sealed;

use super::*;
use crate::circles::join::key_info;
use crate::circles::pinned::OnChain;
use crate::refusal::Refusal;

impl Circles {
    /// Checks and stores an envelope from another node.
    pub fn ingest(&self, envelope: &Envelope) -> Result<Ingest> {
        self.ingest_as(envelope, false, &mut || true)
    }

    /// [`Circles::ingest`] for an envelope that came by gossip, one at a time: a membership
    /// operation this node does not hold yet is stored only if `may_take_op` says its author
    /// has not used up their operations for now (PROTOCOL.md section 10.3); otherwise it is
    /// [`Ingest::Later`], and sync, which takes a page's operations with one derivation,
    /// brings it.
    pub fn ingest_gossip(
        &self,
        envelope: &Envelope,
        mut may_take_op: impl FnMut() -> bool,
    ) -> Result<Ingest> {
        self.ingest_as(envelope, false, &mut may_take_op)
    }

    /// How much deriving `circle`'s membership has cost since this node started: what a
    /// flood of operations costs it.
    pub fn derivation_cost(&self, circle: &CircleId) -> Result<DerivationCost> {
        self.with_circle(circle, |c| {
            Ok(DerivationCost {
                derivations: c.derivation.derivations(),
                steps: c.derivation.steps(),
            })
        })
    }

    /// Checks and stores an envelope; in a `batch`, its operation waits for
    /// [`Circles::settle`] if it needs a whole derivation.
    fn ingest_as(
        &self,
        envelope: &Envelope,
        batch: bool,
        may_take_op: &mut dyn FnMut() -> bool,
    ) -> Result<Ingest> {
        let h = envelope.header().clone();
        // Whether its author is a departed member whose cut is pinned.
        let departed_pinned;
        let content = {
            let state = self.inner.state.read().map_err(poisoned)?;
            let Some(c) = state.get(&h.circle) else {
                return Ok(Ingest::Rejected(Refusal::UnknownCircle));
            };
            if !c.members.counts(&h.author, h.seq) {
                if c.members.departed(&h.author).is_some() {
                    return Ok(Ingest::Rejected(Refusal::NoLongerMember {
                        author: h.author,
                    }));
                }
                return Ok(Ingest::Later(Refusal::NotMemberYet { author: h.author }));
            }
            // Someone gone cannot add another version of a message of theirs that counts: it
            // would be shown and passed on as a fork. Their removal pins their last message
            // by id, and each message names the one before it: a version other than the one
            // the message after it names is not theirs either.
            let pinned = c
                .members
                .departed(&h.author)
                .and_then(|d| Some((d.upto, d.last?)))
                .and_then(|pin| c.chains.get(&h.author).filter(|ch| ch.pinned_at(pin)));
            departed_pinned = pinned.is_some();
            if let Some(chain) = pinned {
                // Below a pinned cut, what counts of theirs is exactly their hash chain down
                // from the pin (section 6.4): the pin, then the version the one above names.
                // That version is taken even if another is held (which then stops counting).
                match chain.judge(h.seq, &envelope.id()) {
                    OnChain::Yes => {}
                    OnChain::No if self.store().message_circle(&envelope.id())?.is_some() => {
                        return Ok(Ingest::Duplicate);
                    }
                    OnChain::No => {
                        return Ok(Ingest::Rejected(Refusal::DepartedVersion {
                            author: h.author,
                            seq: h.seq,
                        }));
                    }
                    OnChain::NotYet => {
                        return Ok(Ingest::Later(Refusal::DepartedUnlinked {
                            author: h.author,
                            seq: h.seq,
                        }));
                    }
                }
            } else if let Some(departed) = c.members.departed(&h.author) {
                let next = self.store().envelope_at(&h.circle, &h.author, h.seq + 1)?;
                if self
                    .store()
                    .id_at(&h.circle, &h.author, h.seq)?
                    .is_some_and(|held| held != envelope.id())
                    || !c.members.counts_message(&h.author, h.seq, &envelope.id())
                    || next.as_ref().is_some_and(|next| {
                        next.header().prev.is_some_and(|prev| prev != envelope.id())
                    })
                {
                    return Ok(Ingest::Rejected(Refusal::DepartedVersion {
                        author: h.author,
                        seq: h.seq,
                    }));
                }
                // Below a pinned cut, only what the chain verifies down from the pin: the
                // message held at the next number names this one (section 6.4). Until that
                // one is here, this could be a version made after the removal.
                if departed.last.is_some()
                    && h.seq < departed.upto
                    && next.is_none_or(|next| next.header().prev != Some(envelope.id()))
                {
                    return Ok(Ingest::Later(Refusal::DepartedUnlinked {
                        author: h.author,
                        seq: h.seq,
                    }));
                }
            }
            let Some(key) = c.keys.get(&h.epoch) else {
                return Ok(Ingest::Later(Refusal::EpochNotHeld(h.epoch)));
            };
            let Ok(plain) = envelope.open(key) else {
                return Ok(Ingest::Rejected(Refusal::Undecryptable));
            };
            let content = match Content::from_bytes(&plain) {
                Ok(content) => content,
                Err(e) => return Ok(Ingest::Rejected(Refusal::Malformed(e.to_string()))),
            };
            // A new key's copies are checked against every recipient's exchange key: wait
            // until each recipient's admission is here.
            if let Some((keys, _)) = content.body.op().and_then(Op::new_key)
                && let Some((unknown, _)) = keys
                    .iter()
                    .find(|(m, _)| c.members.exchange_of(m).is_none())
            {
                return Ok(Ingest::Later(Refusal::RecipientNotHere {
                    member: *unknown,
                }));
            }
            content
        };
        let record = OpRecord::of(&content, envelope.id());
        if self
            .store()
            .take_withdrawal(&h.circle, &h.author, h.seq, &envelope.id())?
            && record.is_none()
        {
            // Its author withdrew it before it got here: its number counts as held, its
            // content is never stored.
            self.store().drop_content(
                &h.circle,
                &h.author,
                h.seq,
                &envelope.id(),
                crate::store::Gone::Withdrawn,
                Some(content.sent_at),
            )?;
            return Ok(Ingest::Dropped(Refusal::Withdrawn));
        }
        let expires = content.body.expires_at();
        if expires.is_some_and(|at| at <= now_ms()) {
            // Its time is up: its number counts as held, its content is never stored.
            self.store().drop_content(
                &h.circle,
                &h.author,
                h.seq,
                &envelope.id(),
                crate::store::Gone::Expired,
                Some(content.sent_at),
            )?;
            return Ok(Ingest::Dropped(Refusal::Expired));
        }
        if record.is_some()
            && self.store().id_at(&h.circle, &h.author, h.seq)?.is_none()
            && !may_take_op()
        {
            return Ok(Ingest::Later(Refusal::TooManyOps { author: h.author }));
        }
        // The store's transaction tells a duplicate, a new message and another version of a
        // held one apart in one look-up.
        let stored = self
            .store()
            .put_expiring_envelope(envelope, record.as_ref(), expires)?;
        // A message of this node's own member that it did not write (it stores what it
        // writes before anyone else can have it): after a restore, what it catches up with;
        // otherwise, another copy of this node writes (section 4.5).
        if matches!(stored, Stored::New | Stored::Fork)
            && self.my_key(&h.circle).is_ok_and(|me| me == h.author)
        {
            self.judge_own(&h.circle, &content.body)?;
        }
        match stored {
            Stored::New => {}
            Stored::Duplicate => return Ok(Ingest::Duplicate),
            // Kept and flagged; its operation, if any, counts like the chain's version
            // (docs/PROTOCOL.md, section 4.4), so nodes holding the same versions agree
            // whichever they stored first.
            Stored::Fork => {
                if let Some(record) = record {
                    self.learn_other_version(&h.circle, envelope, record)?;
                }
                if departed_pinned {
                    self.follow_chains(&h.circle)?;
                }
                self.inner.arrivals.send_modify(|n| *n += 1);
                return Ok(Ingest::Fork);
            }
            Stored::TooManyVersions => {
                return Ok(Ingest::Dropped(Refusal::TooManyVersions {
                    author: h.author,
                    seq: h.seq,
                }));
            }
            Stored::Conflict => {
                return Ok(Ingest::Rejected(Refusal::Conflict {
                    author: h.author,
                    seq: h.seq,
                }));
            }
        }
        if let Some(record) = record {
            match &record.op {
                Op::Rekey { epoch, keys } => self.take_new_key(&h.circle, *epoch, keys)?,
                Op::NewKey { .. } | Op::RemoveAt { key: Some(_), .. } => {
                    let (keys, commitment) = record.op.new_key().expect("carries a new key");
                    let epoch = epoch_of(&h.circle, &h.author, h.seq);
                    self.take_committed_key(&h.circle, epoch, keys, commitment)?;
                }
                _ => {}
            }
            if batch {
                self.add_op(&h.circle, envelope, record, false)?;
            } else {
                self.learn_op(&h.circle, envelope, record)?;
            }
        }
        if let Body::Withdraw { seq, id } = &content.body
            && *seq < h.seq
        {
            self.apply_withdraw(&h.circle, &h.author, *seq, id)?;
        }
        if departed_pinned {
            // The chain down from their pin may reach further now.
            self.follow_chains(&h.circle)?;
        }
        self.tell(&h.circle, envelope, content.body.kind());
        self.inner.arrivals.send_modify(|n| *n += 1);
        Ok(Ingest::New)
    }

    /// Takes in the operation of another version of a held number: it joins the derivation
    /// beside the chain's. Two versions of a new key share one epoch id, and only the first in
    /// the order starts it: if this version is now that one, its key replaces the one held
    /// under the epoch, and if its key does not hold up, the epoch is refused (this node
    /// starts a new one at its next write), so no node seals under a key other nodes took
    /// from another version.
    fn learn_other_version(
        &self,
        circle: &CircleId,
        envelope: &Envelope,
        record: OpRecord,
    ) -> Result<()> {
        let h = envelope.header();
        let new_key = record
            .op
            .new_key()
            .map(|(keys, commitment)| (keys.to_vec(), *commitment));
        self.learn_op(circle, envelope, record)?;
        let Some((keys, commitment)) = new_key else {
            return Ok(());
        };
        if !self.with_circle(circle, |c| Ok(c.members.took_effect(&envelope.id())))? {
            return Ok(());
        }
        let epoch = epoch_of(circle, &h.author, h.seq);
        if !self.take_committed_key(circle, epoch, &keys, &commitment)? {
            self.store().drop_key(circle, epoch)?;
            let mut state = self.inner.state.write().map_err(poisoned)?;
            if let Some(c) = state.get_mut(circle) {
                c.keys.remove(&epoch);
            }
        }
        Ok(())
    }

    /// Opens this node's copy of a new key epoch's key and keeps it only if it holds up: it
    /// matches the commitment, and every member's copy is that key, sealed as its author had
    /// to (so no member was given another). A key that fails is refused: this node never
    /// seals under that epoch, and starts a new one at its next write
    /// ([`CircleState::rekey_due`]). Returns whether it kept the key.
    fn take_committed_key(
        &self,
        circle: &CircleId,
        epoch: u64,
        keys: &[(MemberKey, Vec<u8>)],
        commitment: &[u8; 32],
    ) -> Result<bool> {
        let checked = self.with_circle(circle, |c| {
            let me = c.me.public();
            let Some((_, sealed)) = keys.iter().find(|(m, _)| *m == me) else {
                return Ok(None);
            };
            let info = key_info(circle, epoch);
            let Some(key) = open_sealed(&c.me, &info, &me.to_bytes(), sealed)
                .ok()
                .and_then(|bytes| CircleKey::from_bytes(&bytes).ok())
            else {
                tracing::warn!(circle = %circle.short(), "a new circle key sealed to us does not open: refused");
                return Ok(None);
            };
            if key_commitment(circle, epoch, &key.to_bytes()) != *commitment {
                tracing::warn!(circle = %circle.short(), "a new circle key does not match its commitment: refused");
                return Ok(None);
            }
            let alike = keys.iter().all(|(m, sealed)| {
                c.members.exchange_of(m).is_some_and(|exchange| {
                    seal_new_key_for(circle, m, &exchange, epoch, &key)
                        .is_ok_and(|again| again == *sealed)
                })
            });
            if !alike {
                tracing::warn!(circle = %circle.short(), "a new circle key was not sealed alike to every member: refused");
                return Ok(None);
            }
            Ok(Some(key))
        })?;
        if let Some(key) = checked {
            // Replaces whatever an old-format new key put under this epoch id.
            self.store().put_key(circle, epoch, &key)?;
            let mut state = self.inner.state.write().map_err(poisoned)?;
            if let Some(c) = state.get_mut(circle) {
                c.keys.insert(epoch, key);
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Opens and keeps this node's copy of a new key epoch, if it was given one.
    fn take_new_key(
        &self,
        circle: &CircleId,
        epoch: u64,
        keys: &[(MemberKey, Vec<u8>)],
    ) -> Result<()> {
        let opened = self.with_circle(circle, |c| {
            let me = c.me.public();
            let Some((_, sealed)) = keys.iter().find(|(m, _)| *m == me) else {
                return Ok(None);
            };
            if c.keys.contains_key(&epoch) {
                return Ok(None);
            }
            let info = key_info(circle, epoch);
            match open_sealed(&c.me, &info, &me.to_bytes(), sealed) {
                Ok(bytes) => Ok(CircleKey::from_bytes(&bytes).ok()),
                Err(_) => {
                    tracing::warn!(circle = %circle.short(), "a new circle key sealed to us does not open");
                    Ok(None)
                }
            }
        })?;
        if let Some(key) = opened {
            self.store().put_key(circle, epoch, &key)?;
            let mut state = self.inner.state.write().map_err(poisoned)?;
            if let Some(c) = state.get_mut(circle) {
                c.keys.insert(epoch, key);
            }
        }
        Ok(())
    }

    /// Takes in envelopes (wire bytes) of one circle, membership operations among them in any
    /// order: what cannot be judged yet is tried again while anything new comes in. Returns
    /// how many were new. The operations of each round cost at most one derivation (issue 13,
    /// finding 6).
    pub fn ingest_all<'a>(
        &self,
        circle: &CircleId,
        envelopes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<usize> {
        let (new, _) = self.ingest_rounds(circle, envelopes_of(circle, envelopes))?;
        Ok(new)
    }

    /// Takes in `pending` in rounds while a round stores something new, each round's
    /// operations with at most one derivation. Returns how many were new and what is still
    /// *later*.
    fn ingest_rounds(
        &self,
        circle: &CircleId,
        mut pending: Vec<Envelope>,
    ) -> Result<(usize, Vec<Envelope>)> {
        let mut new = 0;
        loop {
            let before = new;
            self.departed_from_the_top(circle, &mut pending)?;
            let mut later = Vec::new();
            for env in pending {
                match self.ingest_as(&env, true, &mut || true)? {
                    Ingest::New | Ingest::Fork => new += 1,
                    Ingest::Later(_) => later.push(env),
                    Ingest::Duplicate => {}
                    Ingest::Dropped(why) => tracing::debug!("envelope dropped: {why}"),
                    Ingest::Rejected(why) => tracing::debug!("envelope rejected: {why}"),
                }
            }
            self.settle(circle)?;
            pending = later;
            if pending.is_empty() || new == before {
                break;
            }
        }
        Ok((new, pending))
    }

    /// Puts the messages of departed members whose cut is pinned last, each one's from the
    /// highest number down: below the pin, a message is taken only once the one after it is
    /// held (section 6.4), so one round takes a whole chain.
    fn departed_from_the_top(&self, circle: &CircleId, pending: &mut Vec<Envelope>) -> Result<()> {
        let pinned: BTreeSet<MemberKey> = self.with_circle(circle, |c| {
            Ok(c.members
                .all_departed()
                .filter(|(_, d)| d.last.is_some())
                .map(|(k, _)| *k)
                .collect())
        })?;
        if pinned.is_empty() {
            return Ok(());
        }
        let (mut departed, others): (Vec<Envelope>, Vec<Envelope>) = std::mem::take(pending)
            .into_iter()
            .partition(|e| pinned.contains(&e.header().author));
        departed.sort_by_key(|e| (e.header().author, std::cmp::Reverse(e.header().seq)));
        *pending = others;
        pending.extend(departed);
        Ok(())
    }

    /// Takes in membership operations first, then envelopes. Returns how many were new.
    pub fn apply_page(
        &self,
        circle: &CircleId,
        ops: &[Vec<u8>],
        envelopes: &[Vec<u8>],
    ) -> Result<usize> {
        self.apply_sync_page(circle, ops, envelopes, &[])
    }

    /// Takes in one sync page: membership operations first, then envelopes, then other
    /// versions (so that each chain keeps the version that comes in order). Returns how many
    /// were new, other versions kept included. The page must have passed
    /// [`Circles::check_page`].
    pub fn apply_sync_page(
        &self,
        circle: &CircleId,
        ops: &[Vec<u8>],
        envelopes: &[Vec<u8>],
        forks: &[Vec<u8>],
    ) -> Result<usize> {
        // Operations first, with one derivation a round, so the envelopes are judged by the
        // membership they make.
        let (from_ops, mut pending) =
            self.ingest_rounds(circle, envelopes_of(circle, ops.iter().map(Vec::as_slice)))?;
        let rest = envelopes.iter().chain(forks).map(Vec::as_slice);
        pending.extend(envelopes_of(circle, rest));
        let (from_rest, _) = self.ingest_rounds(circle, pending)?;
        let new = from_ops + from_rest;
        if new > 0 {
            self.store().flush()?;
        }
        Ok(new)
    }

    /// Derives `circle`'s membership once for the operations of a batch taken so far.
    fn settle(&self, circle: &CircleId) -> Result<()> {
        let mut state = self.inner.state.write().map_err(poisoned)?;
        let Some(c) = state.get_mut(circle) else {
            return Ok(());
        };
        if c.derivation.is_stale() {
            let before = c.members.clone();
            c.settle();
            if c.members != before {
                self.inner.membership.send_modify(|n| *n += 1);
            }
            drop(state);
            self.follow_chains(circle)?;
        }
        Ok(())
    }
}

/// The envelopes of `circle` among `wire`, in order; what does not read, or is another
/// circle's, is dropped.
fn envelopes_of<'a>(circle: &CircleId, wire: impl IntoIterator<Item = &'a [u8]>) -> Vec<Envelope> {
    let mut out = Vec::new();
    for bytes in wire {
        match Envelope::from_bytes(bytes) {
            Ok(env) if env.header().circle == *circle => out.push(env),
            Ok(_) => tracing::debug!("envelope for another circle dropped"),
            Err(e) => tracing::debug!("envelope dropped: {e}"),
        }
    }
    out
}
