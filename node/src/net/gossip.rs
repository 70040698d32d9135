//! Gossip: one opaque topic per circle; every message judged before it is forwarded.

use circle_crypto::{CircleId, Envelope};
use libp2p::{PeerId, gossipsub};
use tracing::{debug, warn};

use super::EventLoop;
use crate::circles::Ingest;

/// What this node's gossipsub knows of a circle's topic: who it sends that circle's messages
/// to. For tests that check every member is reached by gossip, not only by sync.
#[derive(Clone, Debug, Default)]
pub struct GossipPeers {
    /// Connected nodes whose subscription to the topic this node has heard.
    pub subscribed: Vec<PeerId>,
    /// Of those, the ones in this node's mesh for the topic.
    pub mesh: Vec<PeerId>,
    /// Connected nodes whose gossipsub score is below the publish threshold: this node does not
    /// send them its own messages.
    pub shunned: Vec<PeerId>,
}

impl EventLoop {
    pub(super) fn subscribe(&mut self, circle: CircleId) {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(&circle));
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        if let Err(e) = gossipsub.subscribe(&topic) {
            warn!(circle = %circle.short(), "could not subscribe: {e}");
        }
        if let Err(e) = gossipsub.set_topic_params(topic.clone(), super::behaviour::topic_score()) {
            warn!(circle = %circle.short(), "could not set gossip scoring: {e}");
        }
        self.topics.insert(topic.hash(), circle);
    }

    /// Stops gossiping in a circle this node's member is no longer in.
    pub(super) fn unsubscribe(&mut self, circle: CircleId) {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(&circle));
        self.swarm.behaviour_mut().gossipsub.unsubscribe(&topic);
        self.topics.remove(&topic.hash());
    }

    pub(super) fn gossip_peers(&self, circle: CircleId) -> GossipPeers {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(&circle)).hash();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let publish_threshold = gossipsub::PeerScoreThresholds::default().publish_threshold;
        GossipPeers {
            subscribed: gossipsub
                .all_peers()
                .filter(|(_, topics)| topics.contains(&&topic))
                .map(|(peer, _)| *peer)
                .collect(),
            mesh: gossipsub.mesh_peers(&topic).copied().collect(),
            shunned: gossipsub
                .all_peers()
                .filter(|(peer, _)| {
                    gossipsub
                        .peer_score(peer)
                        .is_some_and(|score| score < publish_threshold)
                })
                .map(|(peer, _)| *peer)
                .collect(),
        }
    }

    pub(super) fn publish(&mut self, envelope: &Envelope) {
        let topic = gossipsub::IdentTopic::new(circle_crypto::topic_for(&envelope.header().circle));
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic, envelope.to_bytes().to_vec())
        {
            Ok(_) => {}
            // Stored already; sync delivers it when members connect.
            Err(e) => debug!("not gossiped now ({e}); sync will deliver it"),
        }
    }

    pub(super) fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let acceptance = self.judge_gossip(&propagation_source, &message);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                // Knowing a circle's topic proves nothing: `start_sync` asks only members' nodes.
                if let Some(circle) = self.topics.get(&topic).copied() {
                    self.start_sync(peer_id, circle);
                }
            }
            _ => {}
        }
    }

    pub(super) fn judge_gossip(
        &mut self,
        from: &PeerId,
        message: &gossipsub::Message,
    ) -> gossipsub::MessageAcceptance {
        use gossipsub::MessageAcceptance::{Accept, Ignore, Reject};
        debug!(peer = %from, bytes = message.data.len(), "gossip received");
        let envelope = match Envelope::from_bytes(&message.data) {
            Ok(e) => e,
            Err(e) => {
                debug!(peer = %from, "rejected gossip: {e}");
                return Reject;
            }
        };
        let (circle, author) = (envelope.header().circle, envelope.header().author);
        if self.topics.get(&message.topic) != Some(&circle) {
            debug!(peer = %from, "rejected gossip on the wrong topic");
            return Reject;
        }
        // Only the nodes of the circle's current members carry its gossip: a node removed from
        // it (still connected through another circle, or in its last seconds) or any other node
        // passes on nothing, not even messages that would count; sync with members brings
        // them. Judged before the rate limit, so such a node cannot use up an author's tokens.
        if !self.circles.is_member_node(&circle, &from.to_bytes()) {
            debug!(peer = %from, "gossip from a node that is not a member's in that circle");
            // A node this one has never known in the circle may be a member's just admitted
            // there, whose admission has not arrived here yet: not to blame. A departed
            // member's node is.
            return if self.circles.is_departed_node(&circle, &from.to_bytes()) {
                Reject
            } else {
                Ignore
            };
        }
        // The signature was checked when decoding, so the author is real: hold a flooding
        // member, or a departed one, back before decrypting or storing anything of theirs.
        if self.circles.is_known_author(&circle, &author)
            && !self
                .limiter
                .allow(circle, author, std::time::Instant::now())
        {
            let own_node = self
                .circles
                .node_of(&circle, &author)
                .is_some_and(|node| node == from.to_bytes());
            debug!(peer = %from, author = %author.short(), "gossip over the author's rate limit");
            // Score down the author's own node; a node passing it on is not to blame.
            return if own_node { Reject } else { Ignore };
        }
        // One by one, each operation can make this node derive the membership again: past
        // the author's budget, sync brings them, a page at a time (section 10.3).
        let mut over = false;
        let budget = &mut self.op_budget;
        let membership = *self.membership.borrow();
        let judged = self.circles.ingest_gossip(&envelope, || {
            let taken = budget.take(&(circle, author), std::time::Instant::now());
            over |= !taken;
            taken
        });
        match judged {
            Ok(Ingest::Later(why)) if over => {
                debug!(peer = %from, "gossip left to sync: {why}");
                Ignore
            }
            Ok(Ingest::New) => {
                if *self.membership.borrow() != membership {
                    // Perhaps an admission: its author's node holds the new member's address.
                    self.membership_news(circle, &author, *from);
                }
                Accept
            }
            // Another version of a held message: valid, signed content, kept and flagged.
            // Passed on, so every member ends up holding and flagging the same fork.
            Ok(Ingest::Fork) => {
                debug!(peer = %from, author = %author.short(), "gossip: another version of a message");
                Accept
            }
            Ok(Ingest::Dropped(why)) => {
                debug!(peer = %from, "gossip not kept: {why}");
                Ignore
            }
            Ok(Ingest::Duplicate) => {
                debug!(peer = %from, "gossip duplicate");
                Ignore
            }
            Ok(Ingest::Later(why)) => {
                debug!(peer = %from, "gossip held back: {why}");
                self.start_sync(*from, circle);
                Ignore
            }
            Ok(Ingest::Rejected(why)) => {
                debug!(peer = %from, "rejected gossip: {why}");
                Reject
            }
            Err(e) => {
                warn!("could not store a message: {e}");
                Ignore
            }
        }
    }
}
