//! Invites and admission: issuing invites, answering join requests, taking in a welcome.

use circle_crypto::{open_sealed, seal_to, seal_to_checkably};

use super::*;
use crate::membership::{InvitePolicy, JOIN_PROOF_DOMAIN, MAX_MEMBERS};
use crate::refusal::PeerRefusal;

const KEY_INFO: &[u8] = b"circle/circle-key/v1";

impl Circles {
    /// Creates an invite to `circle` that the node at `addrs` will honour, and registers it
    /// with the circle (the returned envelopes) so every member's node knows its terms.
    pub fn create_invite(
        &self,
        circle: &CircleId,
        expires_at: u64,
        uses: u32,
        bound: Option<Vec<u8>>,
        addrs: Vec<String>,
    ) -> Result<(Invite, Vec<Envelope>)> {
        if uses == 0 {
            return Err(Error::Invalid("an invite needs at least one use".into()));
        }
        let invite = self.with_circle(circle, |c| {
            let me = c.check_member()?;
            if !c.members.may_invite(&me) {
                let hint = match c.members.policy {
                    InvitePolicy::Admins => format!(
                        "only admins can invite people to '{}': ask an admin for an invite, or \
                         ask one to let every member invite (`circle policy '{}' --invites \
                         members`)",
                        c.members.name, c.members.name
                    ),
                    InvitePolicy::Members => {
                        format!("you cannot invite people to '{}'", c.members.name)
                    }
                };
                return Err(Error::Invalid(hint));
            }
            Ok(Invite::create(
                &c.me,
                *circle,
                &c.members.name,
                expires_at,
                addrs,
            ))
        })?;
        let op = Op::Invite {
            id: invite.id(),
            key: invite.secret.join_key().public(),
            expires_at,
            uses,
            bound,
        };
        let envelopes = self.post(circle, Body::Op(op))?;
        Ok((invite, envelopes))
    }

    /// Builds a join request for `invite` with a fresh member secret, from the node `node`.
    pub fn join_request(
        invite: &Invite,
        me: &MemberSecret,
        nick: &str,
        node: &[u8],
    ) -> Result<JoinRequest> {
        let profile = Profile::sign(me, invite.circle, nick, node)?;
        let proof = invite.secret.join_key().sign(JOIN_PROOF_DOMAIN, &profile);
        Ok(JoinRequest {
            invite: invite.id(),
            profile,
            proof,
            preview: false,
            returning: None,
            record: None,
        })
    }

    /// Whether this node may join `circle` with an invite: not while its member is in it; after
    /// leaving or being removed, yes (it comes back under a new member key).
    fn check_may_join(&self, circle: &CircleId, name: &str) -> Result<()> {
        self.read(|s| match s.get(circle) {
            Some(c) if !matches!(c.standing(), Standing::Left | Standing::Removed) => Err(
                Error::Invalid(format!("this node is already in the circle '{name}'")),
            ),
            _ => Ok(()),
        })?
    }

    /// For a node coming back to `circle` under the member key `new`: its former member key,
    /// vouching for the new one. `None` when it was never in the circle. Given even when this
    /// node still counts its member in: a member removed while its node was away never hears
    /// of it (members' nodes no longer talk to it), and the inviter's node knows better.
    pub fn returning(
        &self,
        circle: &CircleId,
        new: &MemberKey,
    ) -> Result<Option<crate::protocol::Returning>> {
        self.read(|s| {
            let c = s.get(circle)?;
            Some(crate::protocol::Returning {
                former: c.me.public(),
                vouch: c.me.sign(
                    crate::membership::RETURN_DOMAIN,
                    &crate::membership::return_vouch_bytes(circle, new),
                ),
            })
        })
    }

    /// This node's peer id (bytes).
    pub fn node_id(&self) -> &[u8] {
        &self.inner.node
    }

    /// The default nickname for joining, checked.
    pub fn join_nick(&self, nick: Option<&str>) -> Result<String> {
        self.nick_or(nick)
    }

    /// The circle an invite belongs to, if this node knows it.
    pub fn invite_circle(&self, id: &circle_crypto::InviteId) -> Option<CircleId> {
        self.read(|s| {
            s.iter()
                .find(|(_, c)| c.members.invites.contains_key(id))
                .map(|(circle, _)| *circle)
        })
        .ok()
        .flatten()
    }

    /// Whether an invite this node made (with `any_issuer`, any member) is live at `now_secs`,
    /// so a stranger may come with a join request (even for an invite bound to another node:
    /// whoever holds it is told why it does not work for them).
    pub fn has_live_invite(&self, now_secs: u64, any_issuer: bool) -> bool {
        self.read(|s| {
            s.values().any(|c| {
                let me = c.me.public();
                c.members.invites.iter().any(|(id, i)| {
                    let node = i.bound.clone().unwrap_or_default();
                    (any_issuer || i.issuer == me)
                        && c.members.invite_unusable(id, &node, now_secs).is_none()
                })
            })
        })
        .unwrap_or(false)
    }

    /// Answers a join request that came from the node `remote` (peer id bytes). On admission,
    /// also returns the envelopes to gossip.
    pub fn admit(
        &self,
        req: &JoinRequest,
        now_secs: u64,
        peers: Vec<String>,
        remote: &[u8],
    ) -> Result<(JoinResponse, Vec<Envelope>)> {
        let refuse = |reason: PeerRefusal| Ok((JoinResponse::Refused { reason }, Vec::new()));
        let found = self.read(|s| {
            s.iter()
                .find(|(_, c)| c.members.invites.contains_key(&req.invite))
                .map(|(id, c)| (*id, c.members.invites[&req.invite].key))
        })?;
        let Some((circle, invite_key)) = found else {
            return refuse(PeerRefusal::UnknownInvite);
        };
        if invite_key
            .verify(JOIN_PROOF_DOMAIN, &req.profile, &req.proof)
            .is_err()
        {
            return refuse(PeerRefusal::InviteProof);
        }
        let profile = match Profile::open(&req.profile) {
            Ok(p) if p.circle == circle => p,
            Ok(_) => return refuse(PeerRefusal::OtherCircle),
            Err(e) => return refuse(PeerRefusal::BadProfile(e.to_string())),
        };
        if profile.node != remote {
            return refuse(PeerRefusal::OtherNode);
        }
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        let verdict = self.with_circle(&circle, |c| {
            let me = c.check_member()?;
            if c.members.contains(&profile.member) {
                return Ok(Ok(false)); // a retried join: answer again, spend nothing
            }
            if let Some(why) = c.members.invite_unusable(&req.invite, remote, now_secs) {
                return Ok(Err(PeerRefusal::from(why)));
            }
            if c.members.departed(&profile.member).is_some() {
                return Ok(Err(PeerRefusal::KeyLeft));
            }
            if !c.members.may_invite(&me) {
                return Ok(Err(PeerRefusal::InviterCannotAdmit));
            }
            if c.members.len() >= MAX_MEMBERS {
                return Ok(Err(PeerRefusal::Full));
            }
            if let Some(back) = &req.returning
                && let Err(why) = may_return(c, &me, &req.invite, &profile.member, back)
            {
                return Ok(Err(why));
            }
            Ok(Ok(true))
        });
        let mut envelopes = Vec::new();
        let admitting = match verdict {
            Ok(Ok(admitting)) => admitting,
            Ok(Err(reason)) => return refuse(reason),
            // This node's member is not in the circle any more (it left or was removed).
            Err(Error::Invalid(_)) => return refuse(PeerRefusal::InviterCannotAdmit),
            Err(e) => return Err(e),
        };
        if req.preview {
            let preview = self.with_circle(&circle, |c| {
                let (format, guidelines) = match &c.members.guidelines {
                    Some((f, text)) => (
                        Some(f.as_str().to_string()),
                        Some(text.clone()).filter(|t| !t.trim().is_empty()),
                    ),
                    None => (None, None),
                };
                Ok(crate::protocol::CirclePreview {
                    name: c.members.name.clone(),
                    format,
                    guidelines,
                    members: u32::try_from(c.members.len()).unwrap_or(u32::MAX),
                })
            })?;
            return Ok((JoinResponse::Preview(preview), envelopes));
        }
        if admitting && self.with_circle(&circle, |c| Ok(c.rekey_due()))? {
            envelopes.push(self.rekey_locked(&circle)?);
        }
        // Sealed before the admission is written (a joiner whose key cannot receive them would
        // be a member no new key can ever be sealed to) and after any rekey just now.
        let keys = self.with_circle(&circle, |c| {
            c.keys
                .iter()
                .map(|(epoch, key)| seal_key_for(&profile, *epoch, key))
                .collect::<Result<Vec<_>>>()
        });
        let Ok(keys) = keys else {
            self.store().flush()?;
            return refuse(PeerRefusal::NoExchangeKey);
        };
        if admitting {
            let epochs = keys.iter().map(|k| k.epoch).collect();
            let op = match &req.returning {
                None => Op::Admit {
                    profile: req.profile.clone(),
                    invite: req.invite,
                    proof: req.proof,
                    epochs,
                },
                Some(back) => Op::Return {
                    profile: req.profile.clone(),
                    invite: req.invite,
                    proof: req.proof,
                    epochs,
                    former: back.former,
                    vouch: back.vouch,
                },
            };
            envelopes.push(self.post_locked(&circle, Body::Op(op))?);
            self.store().flush()?;
        }
        let welcome = self.with_circle(&circle, |c| {
            Ok(Welcome {
                genesis: c.genesis_wire.clone(),
                ops: self.store().op_envelopes(&circle)?,
                keys,
                peers,
            })
        })?;
        Ok((JoinResponse::Welcome(welcome), envelopes))
    }

    /// The member secret this node uses to redeem `invite`: made once and kept (sealed) until
    /// the join completes, so a retried join is recognised by the inviter rather than spending
    /// another use of the invite.
    pub fn join_secret(&self, invite: &Invite) -> Result<MemberSecret> {
        if let Some(bytes) = self.store().pending_join(&invite.id())? {
            return Ok(MemberSecret::from_bytes(&bytes)?);
        }
        let me = MemberSecret::generate();
        self.store()
            .put_pending_join(&invite.id(), me.to_bytes().as_slice())?;
        self.store().flush()?;
        Ok(me)
    }

    /// Takes in a welcome for the invite this node redeemed with `me`.
    pub fn accept_welcome(
        &self,
        invite: &Invite,
        me: MemberSecret,
        welcome: &Welcome,
    ) -> Result<CircleId> {
        let genesis = Genesis::open(&welcome.genesis)?;
        if genesis.circle != invite.circle {
            return Err(Error::Refused(
                "the inviter answered for another circle".into(),
            ));
        }
        let mut keys = BTreeMap::new();
        for k in &welcome.keys {
            let info = key_info(&invite.circle, k.epoch);
            let bytes = open_sealed(&me, &info, &me.public().to_bytes(), &k.sealed)?;
            keys.insert(k.epoch, CircleKey::from_bytes(&bytes)?);
        }
        if keys.is_empty() {
            return Err(Error::Refused("the inviter sent no circle key".into()));
        }
        // Check before writing anything that the circle's own records admit us.
        let members = Membership::derive(
            &genesis,
            &read_ops(
                &genesis.circle,
                &keys,
                welcome.ops.iter().map(Vec::as_slice),
            ),
        );
        if !members.contains(&me.public()) {
            return Err(Error::Refused(
                "the inviter's answer does not admit us".into(),
            ));
        }
        let circle = if self.contains(&invite.circle) {
            // Back after leaving or being removed: what this node holds stays; the new member
            // key and the keys sealed to it take over. The welcome's operations first: they
            // may tell this node that its member was removed while it was away.
            self.ingest_all(&invite.circle, welcome.ops.iter().map(Vec::as_slice))?;
            self.check_may_join(&invite.circle, &invite.circle_name)?;
            self.rejoin_circle(&invite.circle, me, keys)?
        } else {
            self.insert_circle(welcome.genesis.clone(), me, keys.into_iter().collect())?
        };
        self.ingest_all(&circle, welcome.ops.iter().map(Vec::as_slice))?;
        // The secret now lives in the circle record.
        self.store().remove_pending_join(&invite.id())?;
        self.store().flush()?;
        Ok(circle)
    }
}

/// Why the member `me` may not let `new` back in as the one who had `back.former`, if not:
/// the same rules as the derivation's for [`Op::Return`], worded for the joiner.
fn may_return(
    c: &CircleState,
    me: &MemberKey,
    invite: &circle_crypto::InviteId,
    new: &MemberKey,
    back: &crate::protocol::Returning,
) -> std::result::Result<(), PeerRefusal> {
    if c.members.contains(&back.former) {
        return Err(PeerRefusal::AlreadyMember);
    }
    let Some(gone) = c.members.departed(&back.former) else {
        return Err(PeerRefusal::DepartureNotKnown);
    };
    if c.members.has_returned(&back.former) {
        return Err(PeerRefusal::AlreadyReturned);
    }
    let vouched = crate::membership::return_vouch_bytes(&c.genesis.circle, new);
    if back
        .former
        .verify(crate::membership::RETURN_DOMAIN, &vouched, &back.vouch)
        .is_err()
    {
        return Err(PeerRefusal::ReturnProof);
    }
    let removed = gone.by != back.former;
    let is_admin = |k: &MemberKey| c.members.get(k).is_some_and(|m| m.role == Role::Admin);
    let issuer_admin = c
        .members
        .invites
        .get(invite)
        .is_some_and(|i| is_admin(&i.issuer));
    if removed && !(is_admin(me) && issuer_admin) {
        return Err(PeerRefusal::RemovedNeedsAdmin);
    }
    Ok(())
}

/// The membership operations among `envelopes` (wire bytes) that open under `keys`.
pub(super) fn read_ops<'a>(
    circle: &CircleId,
    keys: &BTreeMap<u64, CircleKey>,
    envelopes: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<OpEntry> {
    envelopes
        .into_iter()
        .filter_map(|bytes| {
            let env = Envelope::from_bytes(bytes).ok()?;
            let h = env.header();
            if h.circle != *circle {
                return None;
            }
            let plain = env.open(keys.get(&h.epoch)?).ok()?;
            let content = Content::from_bytes(&plain).ok()?;
            Some(OpRecord::of(&content, env.id())?.entry(h.author, h.seq))
        })
        .collect()
}

/// Seals one epoch's circle key to the member described by `profile` (HPKE to their exchange
/// key, bound to their member key and to circle and epoch).
pub fn seal_key_for(profile: &Profile, epoch: u64, key: &CircleKey) -> Result<SealedKey> {
    let info = key_info(&profile.circle, epoch);
    let sealed = seal_to(
        &profile.exchange,
        &info,
        &profile.member.to_bytes(),
        key.to_bytes().as_slice(),
    )?;
    Ok(SealedKey { epoch, sealed })
}

/// Domain of the seed a new circle key is sealed to one member with (section 8 of
/// docs/PROTOCOL.md): secret (it hashes the key), one per member and epoch.
const KEY_SEAL_SEED_DOMAIN: &str = "circle/key-seal-seed/v1";

/// Seals a new epoch's circle key to `member` so that anyone holding the key can seal it
/// again and compare: how a [`Op::NewKey`]'s copies are made and checked.
pub fn seal_new_key_for(
    circle: &CircleId,
    member: &MemberKey,
    exchange: &circle_crypto::ExchangeKey,
    epoch: u64,
    key: &CircleKey,
) -> Result<Vec<u8>> {
    let mut input = key.to_bytes().to_vec();
    input.extend_from_slice(circle.as_bytes());
    input.extend_from_slice(&epoch.to_be_bytes());
    input.extend_from_slice(&member.to_bytes());
    input.extend_from_slice(&exchange.to_bytes());
    let seed = zeroize::Zeroizing::new(blake3::derive_key(KEY_SEAL_SEED_DOMAIN, &input));
    zeroize::Zeroize::zeroize(&mut input);
    Ok(seal_to_checkably(
        exchange,
        &key_info(circle, epoch),
        &member.to_bytes(),
        key.to_bytes().as_slice(),
        &seed,
    )?)
}

pub(super) fn key_info(circle: &CircleId, epoch: u64) -> Vec<u8> {
    let mut info = KEY_INFO.to_vec();
    info.extend_from_slice(circle.as_bytes());
    info.extend_from_slice(&epoch.to_be_bytes());
    info
}
