//! The join exchange, both sides.

use circle_crypto::Invite;
use libp2p::{Multiaddr, PeerId, multiaddr::Protocol, request_response, swarm::ConnectionId};
use tracing::{debug, info, warn};

use std::{net::IpAddr, time::Instant};

use super::{EventLoop, JoinReply, PendingJoin, REFUSED_GRACE, peer_of, relay::relay_of};
use crate::{
    circles::Circles,
    error::Error,
    protocol::{JoinRequest, JoinResponse},
    refusal::PeerRefusal,
    time::now_secs,
};

impl EventLoop {
    /// Takes one join request from `peer` on `connection` out of its IP address's budget.
    /// Members' nodes and connections with no IP address of their own (relayed) are not
    /// counted here (a relayed one is counted by the home server's circuit budget).
    fn join_allowed(&mut self, peer: &PeerId, connection: ConnectionId) -> bool {
        if self.swarm.behaviour().gate.is_member(peer) {
            return true;
        }
        let Some(ip) = self
            .relay
            .paths
            .get(&connection)
            .filter(|p| !p.relayed)
            .and_then(|p| {
                p.address.iter().find_map(|proto| match proto {
                    Protocol::Ip4(ip) => Some(IpAddr::from(ip)),
                    Protocol::Ip6(ip) => Some(IpAddr::from(ip)),
                    _ => None,
                })
            })
        else {
            return true;
        };
        self.join_budget.take(&ip, Instant::now())
    }

    pub(super) fn start_join(&mut self, invite: Box<Invite>, nick: String, reply: JoinReply) {
        let addrs: Vec<Multiaddr> = invite.addrs.iter().filter_map(|a| a.parse().ok()).collect();
        let Some(inviter) = addrs.iter().find_map(peer_of) else {
            reply.fail(Error::Invalid(
                "the invite has no address to reach the inviter".into(),
            ));
            return;
        };
        let node = self.swarm.local_peer_id().to_bytes();
        let request = self.circles.join_secret(&invite).and_then(|me| {
            let mut request = Circles::join_request(&invite, &me, &nick, &node)?;
            request.returning = self.circles.returning(&invite.circle, &me.public())?;
            Ok((me, request))
        });
        let (me, mut request) = match request {
            Ok(r) => r,
            Err(e) => {
                reply.fail(e);
                return;
            }
        };
        request.preview = matches!(reply, JoinReply::Preview(_));
        // Where this node can be found, for the circle's members to learn with the admission;
        // only for a join, not for a look at the circle.
        if !request.preview {
            request.record = self.own_record.clone();
        }
        let addrs: Vec<Multiaddr> = addrs
            .into_iter()
            .filter(|a| peer_of(a) == Some(inviter))
            .collect();
        // An inviter behind NAT is reached through its circle's home server.
        let relays: Vec<PeerId> = addrs.iter().filter_map(relay_of).collect();
        for peer in relays.iter().chain([&inviter]) {
            self.swarm.behaviour_mut().gate.joining(*peer, true);
        }
        let id = self
            .swarm
            .behaviour_mut()
            .join
            .send_request_with_addresses(&inviter, request, addrs);
        self.joins.insert(
            id,
            PendingJoin {
                invite,
                me,
                inviter,
                relays,
                reply,
            },
        );
    }

    /// The join is over: the inviter and its home servers are let in only as members' nodes.
    fn end_join(&mut self, pending: &PendingJoin) {
        for peer in pending.relays.iter().chain([&pending.inviter]) {
            self.swarm.behaviour_mut().gate.joining(*peer, false);
        }
    }

    pub(super) fn on_join(&mut self, event: request_response::Event<JoinRequest, JoinResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                connection_id,
                message:
                    Message::Request {
                        request, channel, ..
                    },
            } => {
                if !self.join_allowed(&peer, connection_id) {
                    debug!(%peer, "join request over the budget of its address");
                    self.hasten_probation(&peer, Instant::now() + REFUSED_GRACE);
                    let refused = JoinResponse::Refused {
                        reason: PeerRefusal::Busy,
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .join
                        .send_response(channel, refused);
                    return;
                }
                let circle = self.circles.invite_circle(&request.invite);
                let record = request.record.clone();
                let peers = match circle {
                    Some(circle) => self.member_addrs(&circle, &peer),
                    None => Vec::new(),
                };
                let response = self
                    .circles
                    .admit(&request, now_secs(), peers, &peer.to_bytes());
                let response = match response {
                    Ok((response, envelopes)) => {
                        if !envelopes.is_empty() {
                            info!("admitted a new member");
                        }
                        for envelope in &envelopes {
                            self.publish(envelope);
                        }
                        if matches!(response, JoinResponse::Refused { .. }) {
                            // Long enough to carry the answer, no longer.
                            self.hasten_probation(&peer, Instant::now() + REFUSED_GRACE);
                        }
                        self.on_membership();
                        if let (JoinResponse::Welcome(_), Some(circle)) = (&response, circle) {
                            // The joiner's node is a member's now: remember where it is, so this
                            // node finds it again after a restart even if they never synced.
                            self.proven_member(peer, circle, &[]);
                            // Hold its address record now: members who take the admission ask
                            // this node for it at once (`EventLoop::ask_for_addresses`).
                            if let Some(record) = record {
                                self.take_joiners_record(&circle, peer, &record);
                            }
                        }
                        response
                    }
                    Err(e) => {
                        warn!("join request failed: {e}");
                        JoinResponse::Refused {
                            reason: PeerRefusal::Failed,
                        }
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .join
                    .send_response(channel, response);
            }
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(pending) = self.joins.remove(&request_id) else {
                    return;
                };
                let inviter = pending.inviter;
                self.end_join(&pending);
                let reply = match pending.reply {
                    JoinReply::Preview(tx) => {
                        let answer = match response {
                            JoinResponse::Preview(p) => Ok(p),
                            JoinResponse::Refused { reason } => {
                                Err(Error::Refused(reason.to_string()))
                            }
                            JoinResponse::Welcome(_) => Err(Error::Refused(
                                "the inviter's node answered a preview with a welcome".into(),
                            )),
                        };
                        // The connection stays: the person usually joins right after reading,
                        // and the inviter's node closes a stranger's connection on its own.
                        let _ = tx.send(answer);
                        return;
                    }
                    JoinReply::Join(tx) => tx,
                };
                let result = match response {
                    JoinResponse::Welcome(welcome) => {
                        match self
                            .circles
                            .accept_welcome(&pending.invite, pending.me, &welcome)
                        {
                            Ok(circle) => {
                                self.on_membership();
                                let invited: Vec<Multiaddr> = pending
                                    .invite
                                    .addrs
                                    .iter()
                                    .filter_map(|a| a.parse().ok())
                                    .collect();
                                self.proven_member(inviter, circle, &invited);
                                // The inviter let this connection in as a stranger's, without
                                // gossip: start a member's connection in its place.
                                self.reconnect.insert(
                                    inviter,
                                    invited.iter().map(ToString::to_string).collect(),
                                );
                                let _ = self.swarm.disconnect_peer_id(inviter);
                                self.dial_all(&welcome.peers);
                                Ok(circle)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    JoinResponse::Refused { reason } => Err(Error::Refused(reason.to_string())),
                    JoinResponse::Preview(_) => Err(Error::Refused(
                        "the inviter's node answered a join with a preview".into(),
                    )),
                };
                if result.is_err() && !self.swarm.behaviour().gate.is_member(&inviter) {
                    let _ = self.swarm.disconnect_peer_id(inviter);
                }
                let _ = reply.send(result);
            }
            Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.joins.remove(&request_id) {
                    self.end_join(&pending);
                    warn!("join request failed: {error}");
                    pending
                        .reply
                        .fail(Error::Unreachable(unanswered(&error).into()));
                }
            }
            _ => {}
        }
    }
}

/// What a joiner is told when the inviter's node gave no answer, in plain words.
fn unanswered(error: &request_response::OutboundFailure) -> &'static str {
    use request_response::OutboundFailure;
    match error {
        // Its node shut the door right after the handshake: it has no live invite out any
        // more (it answers for an invite that just ended, so this one ended a while ago, or
        // was made on a node that has been reset).
        OutboundFailure::ConnectionClosed => {
            "the inviter's node would not take this invite: it is no longer valid (revoked, \
             expired or used up); ask the person who sent it for a new one"
        }
        OutboundFailure::DialFailure => {
            "could not reach the inviter's node at the addresses in the invite: ask them to make \
             sure `circle up` is running and to send a fresh invite"
        }
        OutboundFailure::Timeout => {
            "could not reach the inviter's node: it did not answer in time; ask them to make \
             sure `circle up` is running, then try again"
        }
        OutboundFailure::UnsupportedProtocols => {
            "the inviter's node runs a version of circle that cannot take this invite: ask them \
             to update circle and send a fresh invite"
        }
        OutboundFailure::Io(_) => {
            "could not reach the inviter's node: the connection broke off; try again in a \
             moment, or ask them for a fresh invite"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_join_is_explained_without_libp2p_words() {
        use request_response::OutboundFailure as Failure;
        let io = std::io::Error::other("stream reset");
        for failure in [
            Failure::DialFailure,
            Failure::Timeout,
            Failure::ConnectionClosed,
            Failure::UnsupportedProtocols,
            Failure::Io(io),
        ] {
            let words = unanswered(&failure);
            assert_ne!(words, failure.to_string());
            for jargon in ["dial", "peer", "Connection was", "protocol", "stream"] {
                assert!(!words.contains(jargon), "{words}");
            }
        }
    }
}
