//! The sync protocol's two sides: asking for what this node lacks, and answering.

use libp2p::PeerId;

use super::*;

/// Most envelopes in one sync page.
pub const SYNC_PAGE_MESSAGES: usize = 2000;
/// Most envelope bytes in one sync page (the response limit is 4 MiB).
pub const SYNC_PAGE_BYTES: usize = 2 * 1024 * 1024;

const SYNC_PROOF_DOMAIN: &str = "circle/sync-proof/v1";
/// Most membership operations looked at in one page.
const MAX_PAGE_OPS: usize = 10_000;
/// A different domain for answers, so a request's proof can never pass as an answer's.
const SYNC_ANSWER_DOMAIN: &str = "circle/sync-answer/v1";
/// The one refusal for anything not served: it says nothing about which check failed.
const NOT_SERVED: &str = "not served: this node cannot confirm that membership";

impl Circles {
    /// A sync request for `circle`, from this node (`local`) to `remote`.
    pub fn sync_request(
        &self,
        circle: &CircleId,
        local: &PeerId,
        remote: &PeerId,
    ) -> Result<SyncRequest> {
        let heads = self.store().heads(circle)?;
        self.with_circle(circle, |c| {
            let proof =
                c.me.sign(SYNC_PROOF_DOMAIN, &proof_message(circle, local, remote));
            Ok(SyncRequest {
                circle: *circle,
                member: c.me.public(),
                proof,
                heads,
            })
        })
    }

    /// Answers a sync request from `remote` (the connection's peer) to this node (`local`).
    pub fn answer_sync(
        &self,
        req: &SyncRequest,
        remote: &PeerId,
        local: &PeerId,
        peers: Vec<String>,
    ) -> Result<SyncResponse> {
        let refuse = |reason: &str| {
            Ok(SyncResponse::Refused {
                reason: reason.into(),
            })
        };
        let proven = req
            .member
            .verify(
                SYNC_PROOF_DOMAIN,
                &proof_message(&req.circle, remote, local),
                &req.proof,
            )
            .is_ok();
        // Served only to current members, by a node that takes part (a node that left still
        // answers, so its leave reaches the circle; one that was removed does not).
        let served = self.read(|s| {
            s.get(&req.circle)
                .map(|c| c.members.contains(&req.member) && c.takes_part())
        })?;
        if !proven || served != Some(true) {
            return refuse(NOT_SERVED);
        }
        let theirs: BTreeMap<MemberKey, u64> = req.heads.iter().copied().collect();
        let (mut envelopes, mut bytes, mut more) = (Vec::new(), 0usize, false);
        'authors: for (author, mine) in self.store().heads(&req.circle)? {
            let known = theirs.get(&author).copied().unwrap_or(0);
            if mine <= known {
                continue;
            }
            // A departed member's messages after their cut are not passed on.
            let upto = self.with_circle(&req.circle, |c| {
                Ok(c.members.departed(&author).map_or(u64::MAX, |d| d.upto))
            })?;
            for env in self
                .store()
                .envelopes_between(&req.circle, &author, known, upto)
            {
                let env = env?;
                if envelopes.len() >= SYNC_PAGE_MESSAGES || bytes + env.len() > SYNC_PAGE_BYTES {
                    more = true;
                    break 'authors;
                }
                bytes += env.len();
                envelopes.push(env);
            }
        }
        let (member, proof) = self.with_circle(&req.circle, |c| {
            let message = proof_message(&req.circle, remote, local);
            Ok((c.me.public(), c.me.sign(SYNC_ANSWER_DOMAIN, &message)))
        })?;
        Ok(SyncResponse::Page(Box::new(SyncPage {
            member,
            proof,
            ops: self.store().op_envelopes(&req.circle)?,
            envelopes,
            more,
            peers,
        })))
    }

    /// Checks that a sync page for `circle` came from a member on this connection (this node
    /// `local` asked `remote`).
    pub fn check_page(
        &self,
        circle: &CircleId,
        page: &SyncPage,
        remote: &PeerId,
        local: &PeerId,
    ) -> Result<()> {
        // The answering member may be newer than what this node knows: its admission can come
        // in the same page. Operations that were already known are not read again.
        let member = self.read(|s| {
            s.get(circle).map(|c| {
                c.members.contains(&page.member) || {
                    let mut ops = c.ops.clone();
                    let fresh = page.ops.iter().take(MAX_PAGE_OPS).map(Vec::as_slice);
                    ops.extend(super::join::read_ops(circle, &c.keys, fresh));
                    Membership::derive(&c.genesis, &ops).contains(&page.member)
                }
            })
        })?;
        let proven = page
            .member
            .verify(
                SYNC_ANSWER_DOMAIN,
                &proof_message(circle, local, remote),
                &page.proof,
            )
            .is_ok();
        if member == Some(true) && proven {
            Ok(())
        } else {
            Err(Error::Refused(
                "the answering node did not prove membership".into(),
            ))
        }
    }
}

fn proof_message(circle: &CircleId, requester: &PeerId, responder: &PeerId) -> Vec<u8> {
    let mut m = circle.as_bytes().to_vec();
    for p in [requester, responder] {
        let b = p.to_bytes();
        m.push(b.len() as u8);
        m.extend_from_slice(&b);
    }
    m
}
