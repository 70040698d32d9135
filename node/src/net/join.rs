//! The join exchange, both sides.

use circle_crypto::{CircleId, Invite};
use libp2p::{Multiaddr, request_response};
use tokio::sync::oneshot;
use tracing::{info, warn};

use super::{EventLoop, PendingJoin, peer_of};
use crate::{
    circles::Circles,
    error::{Error, Result},
    protocol::{JoinRequest, JoinResponse},
    time::now_secs,
};

impl EventLoop {
    pub(super) fn start_join(
        &mut self,
        invite: Box<Invite>,
        nick: String,
        reply: oneshot::Sender<Result<CircleId>>,
    ) {
        let addrs: Vec<Multiaddr> = invite.addrs.iter().filter_map(|a| a.parse().ok()).collect();
        let Some(inviter) = addrs.iter().find_map(peer_of) else {
            let _ = reply.send(Err(Error::Invalid(
                "the invite has no address to reach the inviter".into(),
            )));
            return;
        };
        let request = self
            .circles
            .join_secret(&invite)
            .and_then(|me| Circles::join_request(&invite, &me, &nick).map(|r| (me, r)));
        let (me, request) = match request {
            Ok(r) => r,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let addrs = addrs
            .into_iter()
            .filter(|a| peer_of(a) == Some(inviter))
            .collect();
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
                reply,
            },
        );
    }

    pub(super) fn on_join(&mut self, event: request_response::Event<JoinRequest, JoinResponse>) {
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
                let response = match self.circles.store().invite(&request.invite) {
                    Ok(Some(record)) => {
                        let peers = self.member_addrs(&record.circle, &peer);
                        self.circles.admit(&request, now_secs(), peers)
                    }
                    Ok(None) => Ok((
                        JoinResponse::Refused {
                            reason: "this invite is not known here".into(),
                        },
                        None,
                    )),
                    Err(e) => Err(e),
                };
                let response = match response {
                    Ok((response, envelope)) => {
                        if let Some(envelope) = envelope {
                            info!(
                                "admitted a new member to circle {}",
                                envelope.header().circle.short()
                            );
                            self.publish(&envelope);
                        }
                        response
                    }
                    Err(e) => {
                        warn!("join request failed: {e}");
                        JoinResponse::Refused {
                            reason: "the inviter's node could not process the request".into(),
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
                let result = match response {
                    JoinResponse::Welcome(welcome) => {
                        match self
                            .circles
                            .accept_welcome(&pending.invite, pending.me, &welcome)
                        {
                            Ok(circle) => {
                                self.subscribe(circle);
                                let invited: Vec<Multiaddr> = pending
                                    .invite
                                    .addrs
                                    .iter()
                                    .filter_map(|a| a.parse().ok())
                                    .collect();
                                self.proven_member(pending.inviter, circle, &invited);
                                self.dial_all(&welcome.peers);
                                self.start_sync(pending.inviter, circle);
                                Ok(circle)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    JoinResponse::Refused { reason } => Err(Error::Refused(reason)),
                };
                let _ = pending.reply.send(result);
            }
            Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.joins.remove(&request_id) {
                    let _ = pending
                        .reply
                        .send(Err(Error::Unreachable(error.to_string())));
                }
            }
            _ => {}
        }
    }
}
