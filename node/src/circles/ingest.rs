//! Taking in what other nodes send: envelopes (gossip and sync) and admissions.

use super::*;

impl Circles {
    /// Checks and stores an envelope from another node.
    pub fn ingest(&self, envelope: &Envelope) -> Result<Ingest> {
        let h = envelope.header().clone();
        let verdict = {
            let state = self.inner.state.read().map_err(poisoned)?;
            let Some(c) = state.get(&h.circle) else {
                return Ok(Ingest::Rejected("not a circle of this node".into()));
            };
            if !c.members.contains(&h.author) {
                return Ok(Ingest::Later(format!(
                    "author {} is not a member (yet)",
                    h.author.short()
                )));
            }
            let Some(key) = c.keys.get(&h.epoch) else {
                return Ok(Ingest::Later(format!("key epoch {} not held", h.epoch)));
            };
            let plain = match envelope.open(key) {
                Ok(p) => p,
                Err(_) => {
                    return Ok(Ingest::Rejected(
                        "does not decrypt under the circle key".into(),
                    ));
                }
            };
            match Content::from_bytes(&plain) {
                Ok(content) => content,
                Err(e) => return Ok(Ingest::Rejected(e.to_string())),
            }
        };
        if let Body::Admit { admission } = &verdict.body {
            let may_admit =
                self.read(|s| s.get(&h.circle).map(|c| c.members.may_admit(&h.author)))?;
            if may_admit != Some(true) {
                return Ok(Ingest::Rejected(
                    "only an admin can announce a new member".into(),
                ));
            }
            match Admission::open(&h.circle, admission) {
                Ok(a) if a.admitted_by == h.author => {
                    self.learn_admission(&h.circle, admission, a)?;
                }
                Ok(_) => return Ok(Ingest::Rejected("admission signed by someone else".into())),
                Err(e) => return Ok(Ingest::Rejected(e.to_string())),
            }
        }
        // The store's transaction tells a duplicate from a new message in one look-up.
        match self.store().put_envelope(envelope)? {
            Stored::New => {
                self.inner.arrivals.send_modify(|n| *n += 1);
                Ok(Ingest::New)
            }
            Stored::Duplicate => Ok(Ingest::Duplicate),
            Stored::Conflict => Ok(Ingest::Rejected(format!(
                "author {} already has a different message with seq {}",
                h.author.short(),
                h.seq
            ))),
        }
    }

    /// Takes in a verified admission under the shared rule; stores it if it changed anything.
    pub(super) fn learn_admission(
        &self,
        circle: &CircleId,
        wire: &[u8],
        a: Admission,
    ) -> Result<bool> {
        let mut state = self.inner.state.write().map_err(poisoned)?;
        let Some(c) = state.get_mut(circle) else {
            return Ok(false);
        };
        let member = a.profile.member;
        if !merge_admission(&c.members, &mut c.admissions, a) {
            return Ok(false);
        }
        self.store().put_admission(circle, &member, wire)?;
        c.members = MemberSet::derive(&c.genesis, &c.admissions);
        Ok(true)
    }

    /// Takes in one sync page: admissions first, then envelopes. Returns how many were new.
    pub fn apply_page(
        &self,
        circle: &CircleId,
        admissions: &[Vec<u8>],
        envelopes: &[Vec<u8>],
    ) -> Result<usize> {
        for wire in admissions {
            if let Ok(a) = Admission::open(circle, wire) {
                self.learn_admission(circle, wire, a)?;
            }
        }
        let mut new = 0;
        let mut later = Vec::new();
        for bytes in envelopes {
            let env = match Envelope::from_bytes(bytes) {
                Ok(env) if env.header().circle == *circle => env,
                Ok(_) => {
                    tracing::debug!("synced envelope for another circle dropped");
                    continue;
                }
                Err(e) => {
                    tracing::debug!("synced envelope dropped: {e}");
                    continue;
                }
            };
            match self.ingest(&env)? {
                Ingest::New => new += 1,
                Ingest::Later(_) => later.push(env),
                Ingest::Duplicate => {}
                Ingest::Rejected(why) => tracing::debug!("synced envelope rejected: {why}"),
            }
        }
        // An admission carried inside this page may have made a later author a member.
        for env in later {
            if self.ingest(&env)? == Ingest::New {
                new += 1;
            }
        }
        if new > 0 {
            self.store().flush()?;
        }
        Ok(new)
    }
}
