//! Running the circle: removing members, leaving, admins, the invite policy, listing and
//! revoking invites. Each is a membership operation written to this node's chain; the checks
//! here only give a person a clear reason before anything is written: every node applies the
//! same rule again (see `membership::derive`).

use circle_crypto::InviteId;

use super::*;
use crate::membership::InvitePolicy;

/// An invite as listed to people.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct InviteInfo {
    /// The invite's id (text form): pass it to `circle revoke`.
    pub id: String,
    /// Who made it (nickname).
    pub issuer: String,
    /// Their member key.
    pub issuer_key: String,
    /// Their fingerprint ([`MemberKey::fingerprint`](circle_crypto::MemberKey::fingerprint)).
    pub issuer_fingerprint: String,
    /// When it expires, RFC 3339.
    pub expires_at: String,
    /// How many people it may still let in.
    pub uses_left: u32,
    /// The node it is bound to, if any.
    pub bound_to: Option<String>,
}

impl Circles {
    /// Removes `member` from `circle` and starts a new key epoch without them. Returns what
    /// to gossip.
    pub fn remove(&self, circle: &CircleId, member: &MemberKey) -> Result<Vec<Envelope>> {
        self.with_circle(circle, |c| {
            let me = c.check_member()?;
            let name = &c.members.name;
            let target = c
                .members
                .get(member)
                .ok_or_else(|| Error::Invalid(format!("they are not a member of '{name}'")))?;
            if *member == me {
                return Err(Error::Invalid(format!(
                    "to leave '{name}' yourself, use `circle leave '{name}'`"
                )));
            }
            let mine = c.members.get(&me).expect("checked above");
            if mine.role != Role::Admin {
                return Err(Error::Invalid(format!(
                    "only admins can remove members from '{name}'"
                )));
            }
            if target.role == Role::Admin && target.rank < mine.rank {
                return Err(Error::Invalid(format!(
                    "{} has been an admin of '{name}' longer than you: only a more senior \
                     admin can remove them",
                    target.name
                )));
            }
            Ok(())
        })?;
        // Cut where this node holds everything before: a message held beyond a gap could sit
        // on withheld ones that would count once released.
        let upto = self.store().head(circle, member)?;
        // One operation: the removal, pinning that message by its id, and the new key without
        // them.
        let last = self.store().id_at(circle, member, upto)?;
        let member = *member;
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        let envelope = match last {
            // Its content was withdrawn before it got here: nothing to pin (membership v4).
            None if upto > 0 => self.post_locked(circle, Body::Op(Op::Remove { member, upto }))?,
            last => {
                self.with_new_key_locked(circle, Some(member), |keys, commitment| Op::RemoveAt {
                    member,
                    upto,
                    last,
                    key: Some((keys, commitment)),
                })?
            }
        };
        let mut out = vec![envelope];
        if self.with_circle(circle, |c| Ok(c.rekey_due()))? {
            out.push(self.rekey_locked(circle)?);
        }
        self.store().flush()?;
        Ok(out)
    }

    /// Starts a new key epoch in `circle` by hand: a fresh key, sealed to every current
    /// member. Returns what to gossip.
    pub fn rekey(&self, circle: &CircleId) -> Result<Vec<Envelope>> {
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        self.with_circle(circle, |c| c.check_member().map(drop))?;
        let envelope = self.rekey_locked(circle)?;
        self.store().flush()?;
        Ok(vec![envelope])
    }

    /// Closes the old format's door in every circle made before membership version 4 where
    /// this node's member is the most senior admin and no admin has written the current format
    /// yet: writes a new key epoch (a current operation, shown in no feed), after which an
    /// operation in the old format that it did not acknowledge has no effect (docs/PROTOCOL.md,
    /// section 6.5, "The old format"). Run when a node opens its store; what cannot be written
    /// now (the node is catching up, or was replaced, or the write failed) is left for the
    /// next open.
    pub fn close_old_format_doors(&self) {
        let open: Vec<CircleId> = self
            .read(|state| {
                state
                    .iter()
                    .filter(|(_, c)| {
                        c.members.old_format_open()
                            && c.members.most_senior_admin() == Some(&c.me.public())
                    })
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        for circle in open {
            if self.is_catching_up(&circle) || self.is_replaced() {
                continue;
            }
            match self.rekey(&circle) {
                Ok(_) => tracing::info!(circle = %circle.short(),
                    "this circle was made by an older version: started a new key, so that operations in the old format no longer count"),
                Err(e) => tracing::warn!(circle = %circle.short(),
                    "could not close the old format's door (it is tried again at the next start): {e}"),
            }
        }
    }

    /// This node's member leaves `circle`. What was said before stays readable here; nothing
    /// new reaches this node. Returns what to gossip.
    pub fn leave(&self, circle: &CircleId) -> Result<Vec<Envelope>> {
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        self.with_circle(circle, |c| c.check_member().map(drop))?;
        let envelope = self.post_locked(circle, Body::Op(Op::Leave))?;
        self.store().flush()?;
        Ok(vec![envelope])
    }

    /// Makes `member` an admin (`admin`) or a plain member again.
    pub fn set_admin(
        &self,
        circle: &CircleId,
        member: &MemberKey,
        admin: bool,
    ) -> Result<Vec<Envelope>> {
        self.with_circle(circle, |c| {
            let me = c.check_member()?;
            let name = &c.members.name;
            let mine = c.members.get(&me).expect("checked above");
            let target = c
                .members
                .get(member)
                .ok_or_else(|| Error::Invalid(format!("they are not a member of '{name}'")))?;
            if mine.role != Role::Admin {
                return Err(Error::Invalid(format!(
                    "only admins of '{name}' can change who is an admin"
                )));
            }
            match (admin, target.role) {
                (true, Role::Admin) => Err(Error::Invalid(format!(
                    "{} is already an admin of '{name}'",
                    target.name
                ))),
                (false, Role::Member) => Err(Error::Invalid(format!(
                    "{} is not an admin of '{name}'",
                    target.name
                ))),
                (false, Role::Admin) if *member == me => {
                    let others = c
                        .members
                        .iter()
                        .filter(|m| m.role == Role::Admin && m.key != me)
                        .count();
                    if others == 0 {
                        return Err(Error::Invalid(format!(
                            "you are the only admin of '{name}': make someone else an admin first"
                        )));
                    }
                    Ok(())
                }
                (false, Role::Admin) if target.rank < mine.rank => Err(Error::Invalid(format!(
                    "{} has been an admin of '{name}' longer than you: only a more senior \
                         admin can change that",
                    target.name
                ))),
                _ => Ok(()),
            }
        })?;
        let op = if admin {
            Op::Grant { member: *member }
        } else {
            let upto = self.store().head(circle, member)?;
            match self.store().id_at(circle, member, upto)? {
                None if upto > 0 => Op::Revoke {
                    member: *member,
                    upto,
                },
                last => Op::RevokeAt {
                    member: *member,
                    upto,
                    last,
                },
            }
        };
        self.post(circle, Body::Op(op))
    }

    /// Sets who may invite people into `circle`.
    pub fn set_policy(&self, circle: &CircleId, invites: InvitePolicy) -> Result<Vec<Envelope>> {
        self.with_circle(circle, |c| {
            let me = c.check_member()?;
            if c.members.get(&me).map(|m| m.role) != Some(Role::Admin) {
                return Err(Error::Invalid(format!(
                    "only admins of '{}' can decide who may invite",
                    c.members.name
                )));
            }
            Ok(())
        })?;
        self.post(circle, Body::Op(Op::Policy { invites }))
    }

    /// Renames `circle` (admins only).
    pub fn rename(&self, circle: &CircleId, name: &str) -> Result<Vec<Envelope>> {
        let name = check_name(
            "circle name",
            name,
            crate::membership::MAX_CIRCLE_NAME_CHARS,
        )?;
        self.with_circle(circle, |c| {
            let me = c.check_member()?;
            if c.members.get(&me).map(|m| m.role) != Some(Role::Admin) {
                return Err(Error::Invalid(format!(
                    "only admins of '{}' can rename it",
                    c.members.name
                )));
            }
            Ok(())
        })?;
        self.post(circle, Body::Op(Op::Rename { name }))
    }

    /// The invites of `circle` that can still let someone in at `now_secs`.
    pub fn invites(&self, circle: &CircleId, now_secs: u64) -> Result<Vec<InviteInfo>> {
        self.with_circle(circle, |c| {
            let mut list: Vec<InviteInfo> = c
                .members
                .invites
                .iter()
                .filter(|(id, i)| {
                    // Bound invites are checked against their own node here.
                    let node = i.bound.clone().unwrap_or_default();
                    c.members.invite_unusable(id, &node, now_secs).is_none()
                })
                .map(|(id, i)| InviteInfo {
                    id: id.to_string(),
                    issuer: c.author_name(&i.issuer),
                    issuer_key: i.issuer.to_string(),
                    issuer_fingerprint: i.issuer.fingerprint(),
                    expires_at: crate::time::rfc3339(i.expires_at.saturating_mul(1000)),
                    uses_left: i.uses - i.used,
                    bound_to: i
                        .bound
                        .as_ref()
                        .and_then(|b| libp2p::PeerId::from_bytes(b).ok())
                        .map(|p| p.to_string()),
                })
                .collect();
            list.sort_by(|a, b| a.expires_at.cmp(&b.expires_at).then(a.id.cmp(&b.id)));
            Ok(list)
        })
    }

    /// Ends an invite of `circle` before its time. `id` is its id or a unique start of it.
    pub fn revoke_invite(&self, circle: &CircleId, id: &str) -> Result<Vec<Envelope>> {
        let id = self.with_circle(circle, |c| {
            let me = c.check_member()?;
            let text = id.trim();
            let found: Vec<(&InviteId, _)> = c
                .members
                .invites
                .iter()
                .filter(|(i, _)| !text.is_empty() && i.to_string().starts_with(text))
                .collect();
            let (id, invite) = match found.as_slice() {
                [one] => *one,
                [] => {
                    return Err(Error::Invalid(format!(
                        "no invite of '{}' has the id '{text}': see `circle invites '{}'`",
                        c.members.name, c.members.name
                    )));
                }
                _ => {
                    return Err(Error::Invalid(format!(
                        "more than one invite id starts with '{text}': give more of it"
                    )));
                }
            };
            if invite.revoked {
                return Err(Error::Invalid("that invite was already revoked".into()));
            }
            let admin = c.members.get(&me).map(|m| m.role) == Some(Role::Admin);
            if invite.issuer != me && !admin {
                return Err(Error::Invalid(
                    "only whoever made an invite, or an admin, can revoke it".into(),
                ));
            }
            Ok(*id)
        })?;
        self.post(circle, Body::Op(Op::RevokeInvite { id }))
    }
}
