//! The sync protocol's two sides: asking for what this node lacks, and answering.
//!
//! An answer costs what the requester lacks, not the history: per author, a range scan from
//! the requester's head (messages and membership operations), and the versions of numbers
//! known to be forked.

use std::collections::BTreeSet;

use circle_crypto::MessageId;
use libp2p::PeerId;

use super::*;
use crate::protocol::{MAX_HELD_RANGES, MAX_SYNC_VERSIONS};
use crate::refusal::PeerRefusal;

/// The stretches (after, upto] of `author`'s numbers above `known` and at most `upto` that
/// `held` does not cover, in order.
fn gaps(
    held: &[(MemberKey, u64, u64)],
    author: &MemberKey,
    known: u64,
    upto: u64,
) -> Vec<(u64, u64)> {
    let mut covered: Vec<(u64, u64)> = held
        .iter()
        .filter(|(a, after, last)| a == author && after < last)
        .map(|(_, after, last)| (*after, *last))
        .collect();
    covered.sort_unstable();
    let mut out = Vec::new();
    let mut from = known;
    for (after, last) in covered {
        if after > from {
            out.push((from, after.min(upto)));
        }
        from = from.max(last);
        if from >= upto {
            break;
        }
    }
    if from < upto {
        out.push((from, upto));
    }
    out.retain(|(a, b)| a < b);
    out
}

/// Most envelopes in one sync page.
pub const SYNC_PAGE_MESSAGES: usize = 2000;
/// Most envelope bytes in one sync page (the response limit is 4 MiB).
pub const SYNC_PAGE_BYTES: usize = 2 * 1024 * 1024;

const SYNC_PROOF_DOMAIN: &str = "circle/sync-proof/v1";
/// Most membership operations looked at in one page.
const MAX_PAGE_OPS: usize = 10_000;
/// A different domain for answers, so a request's proof can never pass as an answer's.
const SYNC_ANSWER_DOMAIN: &str = "circle/sync-answer/v1";
impl Circles {
    /// A sync request for `circle`, from this node (`local`) to `remote`.
    pub fn sync_request(
        &self,
        circle: &CircleId,
        local: &PeerId,
        remote: &PeerId,
    ) -> Result<SyncRequest> {
        let store = self.store();
        let heads = store.heads(circle)?;
        // The message at each head first, so a fork where both nodes hold one version each
        // is seen; then every version held of each number known to be forked.
        let mut versions = Vec::new();
        for (author, seq) in &heads {
            versions.extend(store.chain_id(circle, author, *seq)?);
        }
        for forked in store.forked(circle)? {
            versions.extend(forked.held);
        }
        versions.truncate(MAX_SYNC_VERSIONS);
        // Where a chain has a gap, what is held above it, so the answer is only the gap (a
        // number no member holds any more, such as a share that expired while this node was
        // away, would otherwise bring everything after it again at every sync).
        let authors: Vec<MemberKey> = self.with_circle(circle, |c| {
            Ok(c.members
                .iter()
                .map(|m| m.key)
                .chain(c.members.all_departed().map(|(k, _)| *k))
                .collect())
        })?;
        let mut held = Vec::new();
        for author in authors {
            let head = store.head(circle, &author)?;
            let top = store.max_seq(circle, &author)?;
            if top > head.saturating_add(1) {
                for (after, upto) in store.held_ranges(circle, &author, head, top)? {
                    held.push((author, after, upto));
                }
            }
        }
        held.truncate(MAX_HELD_RANGES);
        self.with_circle(circle, |c| {
            let proof =
                c.me.sign(SYNC_PROOF_DOMAIN, &proof_message(circle, local, remote));
            Ok(SyncRequest {
                circle: *circle,
                member: c.me.public(),
                proof,
                heads,
                versions,
                held,
            })
        })
    }

    /// The answer to a sync request this node does not serve (it says nothing about why).
    pub fn not_served(&self) -> SyncResponse {
        SyncResponse::Refused {
            reason: PeerRefusal::NotServed,
        }
    }

    /// Answers a sync request from `remote` (the connection's peer) to this node (`local`).
    pub fn answer_sync(
        &self,
        req: &SyncRequest,
        remote: &PeerId,
        local: &PeerId,
        records: Vec<Vec<u8>>,
    ) -> Result<SyncResponse> {
        let refuse = |reason: PeerRefusal| Ok(SyncResponse::Refused { reason });
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
            return refuse(PeerRefusal::NotServed);
        }
        let page = self.page_for(req)?;
        let (member, proof) = self.with_circle(&req.circle, |c| {
            let message = proof_message(&req.circle, remote, local);
            Ok((c.me.public(), c.me.sign(SYNC_ANSWER_DOMAIN, &message)))
        })?;
        Ok(SyncResponse::Page(Box::new(SyncPage {
            member,
            proof,
            ops: page.ops,
            envelopes: page.envelopes,
            forks: page.forks,
            more: page.more,
            records,
        })))
    }

    /// What a member who sent `req` lacks: operations, then envelopes, then other versions.
    fn page_for(&self, req: &SyncRequest) -> Result<Page> {
        let circle = &req.circle;
        let store = self.store();
        // An author listed twice counts once.
        let theirs: BTreeMap<MemberKey, u64> = req.heads.iter().copied().collect();
        let listed: BTreeSet<MessageId> = req
            .versions
            .iter()
            .take(MAX_SYNC_VERSIONS)
            .copied()
            .collect();
        // Every author whose messages count, with the last number that does (a departed
        // member's messages after their cut are not passed on).
        let authors: BTreeMap<MemberKey, u64> = self.with_circle(circle, |c| {
            Ok(c.members
                .iter()
                .map(|m| (m.key, u64::MAX))
                .chain(c.members.all_departed().map(|(k, d)| (*k, d.upto)))
                .collect())
        })?;
        let known = |author: &MemberKey| theirs.get(author).copied().unwrap_or(0);
        let held_ranges: Vec<(MemberKey, u64, u64)> =
            req.held.iter().take(MAX_HELD_RANGES).copied().collect();
        let held = |author: &MemberKey, seq: u64| {
            held_ranges
                .iter()
                .any(|(a, after, upto)| a == author && *after < seq && seq <= *upto)
        };
        let mut page = Page::default();
        // What this page carries of each chain, so nothing goes twice.
        let mut sent: BTreeSet<(MemberKey, u64)> = BTreeSet::new();
        // Membership operations the requester lacks go first, so it judges authors before
        // their messages (the answering member's own admission among them, for check_page).
        // They share the page's byte budget (the address records that travel with the page
        // are bounded apart: the whole answer stays under the 4 MiB response limit).
        'ops: for (author, upto) in &authors {
            for (seq, bytes) in store.op_envelopes_between(circle, author, known(author), *upto)? {
                if held(author, seq) {
                    continue;
                }
                if page.bytes + bytes.len() > SYNC_PAGE_BYTES {
                    page.more = true;
                    break 'ops;
                }
                sent.insert((*author, seq));
                page.bytes += bytes.len();
                page.ops.push(bytes);
            }
        }
        'authors: for (author, mine) in store.heads(circle)? {
            let Some(&upto) = authors.get(&author) else {
                continue;
            };
            if mine <= known(&author) {
                continue;
            }
            // Only the numbers the requester lacks are read: the stretches between what it
            // holds (not everything after a gap it cannot fill). A departed member's from
            // the cut down: below the pinned message, the requester takes each only once it
            // holds the one after it (PROTOCOL.md section 6.4), so a page must start at the
            // top.
            let departed = upto != u64::MAX;
            let mut stretches = gaps(&held_ranges, &author, known(&author), upto);
            if departed {
                stretches.reverse();
            }
            for (after, last) in stretches {
                let envelopes = store.envelopes_between(circle, &author, after, last);
                let envelopes: Box<dyn Iterator<Item = _>> = if departed {
                    Box::new(envelopes.rev())
                } else {
                    Box::new(envelopes)
                };
                for item in envelopes {
                    let (seq, env) = item?;
                    if held(&author, seq) || !sent.insert((author, seq)) {
                        continue;
                    }
                    if !page.fits(env.len()) {
                        page.more = true;
                        break 'authors;
                    }
                    page.add(env, false);
                }
            }
        }
        if !page.more {
            self.add_versions(req, &theirs, &authors, &listed, &sent, &mut page)?;
        }
        Ok(page)
    }

    /// Adds the versions the requester may lack where chains differ: this node's message at
    /// the requester's head when the request does not list it (each holds another version
    /// there), and every version of a number known here to be forked that it does not list.
    /// A forked number above the requester's head gets its other versions only once the
    /// chain's message is in the page, so the requester's chain keeps the same one.
    fn add_versions(
        &self,
        req: &SyncRequest,
        theirs: &BTreeMap<MemberKey, u64>,
        authors: &BTreeMap<MemberKey, u64>,
        listed: &BTreeSet<MessageId>,
        sent: &BTreeSet<(MemberKey, u64)>,
        page: &mut Page,
    ) -> Result<()> {
        let circle = &req.circle;
        let store = self.store();
        let counts = |author: &MemberKey, seq: u64| authors.get(author).is_some_and(|u| seq <= *u);
        // (author, seq, whether the chain's message goes too, whether forks go)
        let mut wanted: Vec<(MemberKey, u64, bool, bool)> = Vec::new();
        for (author, head) in theirs {
            if *head > 0 && counts(author, *head) {
                wanted.push((*author, *head, true, false));
            }
        }
        for forked in store.forked(circle)? {
            let (author, seq) = (forked.author, forked.seq);
            if !counts(&author, seq) {
                continue;
            }
            let head = theirs.get(&author).copied().unwrap_or(0);
            if seq <= head {
                wanted.push((author, seq, true, true));
            } else if sent.contains(&(author, seq)) {
                wanted.push((author, seq, false, true));
            }
        }
        let mut offered: BTreeSet<MessageId> = BTreeSet::new();
        for (author, seq, chain, forks) in wanted {
            let versions = store.versions_at(circle, &author, seq)?;
            let picked = versions
                .into_iter()
                .enumerate()
                .filter(|(i, _)| if *i == 0 { chain } else { forks })
                .map(|(_, bytes)| bytes);
            for bytes in picked {
                let id = MessageId::from_bytes(blake3::hash(&bytes).as_bytes())?;
                if listed.contains(&id) || !offered.insert(id) {
                    continue;
                }
                if !page.fits(bytes.len()) {
                    page.more = true;
                    return Ok(());
                }
                page.add(bytes, true);
            }
        }
        Ok(())
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
                    let mut ops = c.derivation.ops().to_vec();
                    ops.retain(|e| !c.off_chain(&e.id));
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

/// A sync page's contents, before it is signed.
#[derive(Default)]
struct Page {
    ops: Vec<Vec<u8>>,
    envelopes: Vec<Vec<u8>>,
    forks: Vec<Vec<u8>>,
    more: bool,
    bytes: usize,
}

impl Page {
    /// Whether another envelope of `len` bytes fits within the page's limits.
    fn fits(&self, len: usize) -> bool {
        self.envelopes.len() + self.forks.len() < SYNC_PAGE_MESSAGES
            && self.bytes + len <= SYNC_PAGE_BYTES
    }

    fn add(&mut self, envelope: Vec<u8>, fork: bool) {
        self.bytes += envelope.len();
        if fork {
            self.forks.push(envelope);
        } else {
            self.envelopes.push(envelope);
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

#[cfg(test)]
mod tests {
    use super::gaps;
    use circle_crypto::MemberSecret;

    #[test]
    fn gaps_are_what_the_held_ranges_leave_out() {
        let (bob, carol) = (
            MemberSecret::generate().public(),
            MemberSecret::generate().public(),
        );
        assert_eq!(gaps(&[], &bob, 3, 10), [(3, 10)]);
        // bob's 6..=8 held: 4, 5 and 9, 10 are missing.
        assert_eq!(gaps(&[(bob, 5, 8)], &bob, 3, 10), [(3, 5), (8, 10)]);
        // Someone else's ranges, ranges upside down or below the head change nothing.
        assert_eq!(
            gaps(&[(carol, 5, 8), (bob, 9, 2), (bob, 0, 2)], &bob, 3, 10),
            [(3, 10)]
        );
        // Overlapping and unsorted ranges, one running past the top.
        assert_eq!(
            gaps(&[(bob, 7, 20), (bob, 4, 6), (bob, 5, 7)], &bob, 3, 10),
            [(3, 4)]
        );
        assert_eq!(gaps(&[(bob, 0, u64::MAX)], &bob, 3, 10), []);
        assert_eq!(gaps(&[], &bob, 10, 10), []);
    }
}
