//! Driving the sync protocol: when to ask, and taking in the answers.

use circle_crypto::CircleId;
use libp2p::{PeerId, request_response};
use tracing::{debug, warn};

use super::EventLoop;
use crate::protocol::{SyncPage, SyncRequest, SyncResponse};

impl EventLoop {
    /// Asks `peer` for what this node lacks of `circle`, if `peer` is the node of one of its
    /// members. A request names the circle, this node's member key and every author's count,
    /// so it never goes to any other node (a stranger let in to join, an inviter or home server
    /// named in a token, a member of another circle).
    pub(super) fn start_sync(&mut self, peer: PeerId, circle: CircleId) {
        if !self.circles.is_member_node(&circle, &peer.to_bytes()) {
            debug!(%peer, circle = %circle.short(), "no sync with a node that is not a member's");
            return;
        }
        if !self.syncing.insert((peer, circle)) {
            return;
        }
        let local = *self.swarm.local_peer_id();
        match self.circles.sync_request(&circle, &local, &peer) {
            Ok(request) => {
                debug!(%peer, circle = %circle.short(), "sync requested");
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.syncs.insert(id, (peer, circle));
            }
            Err(e) => {
                self.syncing.remove(&(peer, circle));
                warn!("could not build a sync request: {e}");
            }
        }
    }

    /// Syncs every circle this node takes part in with every connected node of one of its
    /// members. Judged by membership, not by what gossipsub knows of the peer's
    /// subscriptions: sync is what guarantees delivery, so it must not depend on the fast
    /// path's bookkeeping.
    pub(super) fn sync_all(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            self.sync_with(peer);
        }
    }

    /// Syncs with `peer` every circle this node takes part in where it is a member's node.
    pub(super) fn sync_with(&mut self, peer: PeerId) {
        let node = peer.to_bytes();
        let circles: Vec<CircleId> = self
            .topics
            .values()
            .filter(|c| self.circles.is_member_node(c, &node))
            .copied()
            .collect();
        for circle in circles {
            self.start_sync(peer, circle);
        }
    }

    pub(super) fn on_sync(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let local = *self.swarm.local_peer_id();
                // Served only to the node of a member of that circle (the proof in the
                // request then shows the member key is held on this very connection).
                let response = if self
                    .circles
                    .is_member_node(&request.circle, &peer.to_bytes())
                {
                    let records = self.records_for(&request.circle, &peer);
                    self.circles
                        .answer_sync(&request, &peer, &local, records)
                        .unwrap_or_else(|e| {
                            warn!("could not answer a sync request: {e}");
                            SyncResponse::Refused {
                                reason: crate::refusal::PeerRefusal::Failed,
                            }
                        })
                } else {
                    self.circles.not_served()
                };
                if matches!(response, SyncResponse::Page(_)) {
                    // The request carried a valid membership proof for this connection.
                    self.proven_member(peer, request.circle, &[]);
                }
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, circle)) = self.syncs.remove(&request_id) else {
                    return;
                };
                self.syncing.remove(&(peer, circle));
                debug!(%peer, circle = %circle.short(), "sync answered");
                match response {
                    SyncResponse::Page(page) => self.on_page(peer, circle, *page),
                    SyncResponse::Refused { reason } => debug!(%peer, "sync refused: {reason}"),
                }
                if self.ask_again.remove(&(peer, circle)) {
                    self.start_sync(peer, circle);
                }
            }
            Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                if let Some((_, circle)) = self.syncs.remove(&request_id) {
                    self.syncing.remove(&(peer, circle));
                    self.ask_again.remove(&(peer, circle));
                    debug!(%peer, "sync failed: {error}");
                }
            }
            _ => {}
        }
    }

    fn on_page(&mut self, peer: PeerId, circle: CircleId, page: SyncPage) {
        let local = *self.swarm.local_peer_id();
        if let Err(e) = self.circles.check_page(&circle, &page, &peer, &local) {
            debug!(%peer, "sync answer ignored: {e}");
            return;
        }
        self.proven_member(peer, circle, &[]);
        debug!(%peer, ops = page.ops.len(), envelopes = page.envelopes.len(), page.more, "sync page");
        let new =
            match self
                .circles
                .apply_sync_page(&circle, &page.ops, &page.envelopes, &page.forks)
            {
                Ok(new) => new,
                Err(e) => {
                    warn!("could not store synced messages: {e}");
                    0
                }
            };
        if new > 0 {
            debug!(%peer, new, "synced");
        }
        self.take_records(&circle, &page.records);
        // A restored node holds, after a member's last page, every message of its own that
        // member holds: what it kept meanwhile is numbered after them and sent now.
        if !page.more && self.circles.is_catching_up(&circle) {
            match self.circles.caught_up(&circle) {
                Ok(written) => {
                    for envelope in &written {
                        self.publish(envelope);
                    }
                }
                Err(e) => warn!("could not send what was kept while catching up: {e}"),
            }
        }
        // Ask for the next page only if this one moved us forward: a page that adds nothing
        // would otherwise be asked for again and again.
        if page.more && new > 0 {
            self.start_sync(peer, circle);
        }
    }
}
