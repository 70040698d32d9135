//! Invites and admission: issuing invites, answering join requests, taking in a welcome.

use circle_crypto::{open_sealed, seal_to};

use super::*;

const KEY_INFO: &[u8] = b"circle/circle-key/v1";

impl Circles {
    /// Creates an invite to `circle` that the node at `addrs` will honour.
    pub fn create_invite(
        &self,
        circle: &CircleId,
        expires_at: u64,
        uses: u32,
        addrs: Vec<String>,
    ) -> Result<Invite> {
        if uses == 0 {
            return Err(Error::Invalid("an invite needs at least one use".into()));
        }
        let invite = self.with_circle(circle, |c| {
            if c.members.get(&c.me.public()).map(|m| m.role) != Some(Role::Admin) {
                return Err(Error::Invalid(
                    "only the circle's admins can invite in this version: ask an admin for an invite".into(),
                ));
            }
            Ok(Invite::create(&c.me, *circle, &c.genesis.name, expires_at, addrs))
        })?;
        self.store().put_invite(
            &invite.id(),
            &InviteRecord {
                circle: *circle,
                secret: invite.secret.to_bytes().to_vec(),
                expires_at,
                uses_left: uses,
                admitted: Vec::new(),
            },
        )?;
        self.store().flush()?;
        Ok(invite)
    }

    /// Builds a join request for `invite` with a fresh member secret.
    pub fn join_request(invite: &Invite, me: &MemberSecret, nick: &str) -> Result<JoinRequest> {
        let profile = Profile::sign(me, invite.circle, nick)?;
        let proof = invite.secret.proof(&profile).to_vec();
        Ok(JoinRequest {
            invite: invite.id(),
            profile,
            proof,
        })
    }

    /// The default nickname for joining, checked.
    pub fn join_nick(&self, nick: Option<&str>) -> Result<String> {
        self.nick_or(nick)
    }

    /// Answers a join request. On admission, also returns the admit envelope to gossip.
    pub fn admit(
        &self,
        req: &JoinRequest,
        now_secs: u64,
        peers: Vec<String>,
    ) -> Result<(JoinResponse, Option<Envelope>)> {
        let refuse = |reason: &str| {
            Ok((
                JoinResponse::Refused {
                    reason: reason.to_string(),
                },
                None,
            ))
        };
        let Some(mut record) = self.store().invite(&req.invite)? else {
            return refuse(
                "this invite is not known here: it may have been issued by another node",
            );
        };
        let secret = InviteSecret::from_bytes(&record.secret)?;
        if !secret.verify_proof(&req.profile, &req.proof) {
            return refuse("the invite's proof does not match");
        }
        let profile = match Profile::open(&req.profile) {
            Ok(p) if p.circle == record.circle => p,
            Ok(_) => return refuse("the join request is for another circle"),
            Err(e) => return refuse(&e.to_string()),
        };
        let circle = record.circle;
        let again = record.admitted.contains(&profile.member);
        if !again {
            if now_secs >= record.expires_at {
                return refuse("this invite has expired: ask for a new one");
            }
            if record.uses_left == 0 {
                return refuse("this invite has already been used: ask for a new one");
            }
        }
        // Seal the keys first: a joiner whose key cannot receive them is refused before
        // anything is written or any use of the invite is spent.
        let keys = self.with_circle(&circle, |c| {
            c.keys
                .iter()
                .map(|(epoch, key)| seal_key_for(&profile, *epoch, key))
                .collect::<Result<Vec<_>>>()
        });
        let Ok(keys) = keys else {
            return refuse("the joiner's key cannot receive the circle key");
        };
        let envelope = if again {
            None
        } else {
            let wire = self.with_circle(&circle, |c| {
                Ok(Admission::sign(
                    &c.me,
                    circle,
                    req.profile.clone(),
                    req.invite,
                    now_ms(),
                ))
            })?;
            let a = Admission::open(&circle, &wire)?;
            self.learn_admission(&circle, &wire, a)?;
            record.uses_left -= 1;
            record.admitted.push(profile.member);
            self.store().put_invite(&req.invite, &record)?;
            Some(self.post(&circle, Body::Admit { admission: wire })?)
        };
        let welcome = self.with_circle(&circle, |c| {
            Ok(Welcome {
                genesis: c.genesis_wire.clone(),
                admissions: self.store().admissions(&circle)?,
                keys,
                peers,
            })
        })?;
        Ok((JoinResponse::Welcome(welcome), envelope))
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
        let mut verified = Vec::new();
        for wire in &welcome.admissions {
            verified.push(Admission::open(&invite.circle, wire)?);
        }
        let members = MemberSet::derive(&genesis, &verified);
        if !members.contains(&me.public()) {
            return Err(Error::Refused(
                "the inviter's answer does not admit us".into(),
            ));
        }
        let mut keys = Vec::new();
        for k in &welcome.keys {
            let info = key_info(&invite.circle, k.epoch);
            let bytes = open_sealed(&me, &info, &me.public().to_bytes(), &k.sealed)?;
            keys.push((k.epoch, CircleKey::from_bytes(&bytes)?));
        }
        if keys.is_empty() {
            return Err(Error::Refused("the inviter sent no circle key".into()));
        }
        if self.read(|s| s.contains_key(&invite.circle))? {
            return Err(Error::Invalid("this node is already in that circle".into()));
        }
        let circle = self.insert_circle(
            welcome.genesis.clone(),
            me,
            keys,
            welcome.admissions.clone(),
        )?;
        // The secret now lives in the circle record.
        self.store().remove_pending_join(&invite.id())?;
        self.store().flush()?;
        Ok(circle)
    }
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

fn key_info(circle: &CircleId, epoch: u64) -> Vec<u8> {
    let mut info = KEY_INFO.to_vec();
    info.extend_from_slice(circle.as_bytes());
    info.extend_from_slice(&epoch.to_be_bytes());
    info
}
