//! The backup protocol in the network task: a home server answering members' nodes (leaving a
//! backup) and holders (fetching one back); a member's node leaving its backup with the home
//! servers of a circle. What is kept and who gets it is decided in [`crate::held`].

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use circle_crypto::{CircleId, Signature, recovery::RecoveryKeys};
use libp2p::{
    PeerId,
    multiaddr::Protocol,
    request_response::{self, OutboundRequestId},
    swarm::ConnectionId,
};
use tokio::sync::oneshot;
use tracing::{debug, info};

use super::EventLoop;
use crate::{
    error::{Error, Result},
    protocol::{
        BACKUP_LEAVE_PART_BYTES, BackupRequest, BackupResponse, LeavePart, leave_proof_bytes,
    },
};

/// How long a holder's connection (let in for the backup protocol alone) may stay.
pub(super) const HOLDER_GRACE: Duration = Duration::from_secs(600);

/// What became of leaving a backup with one home server.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LeftBackup {
    /// The home server's peer id.
    pub home_server: String,
    /// None when it keeps the backup; otherwise why not.
    pub refused: Option<String>,
}

/// A backup being left with a circle's home servers.
pub(super) struct LeaveJob {
    circle: CircleId,
    blob: Arc<Vec<u8>>,
    hash: [u8; 32],
    holder: [u8; 32],
    /// The holder key's proof for each home server.
    proofs: HashMap<PeerId, Signature>,
    waiting: HashSet<PeerId>,
    results: Vec<LeftBackup>,
    reply: Option<oneshot::Sender<Result<Vec<LeftBackup>>>>,
}

/// The peer id a holder key connects with (ed25519 keys are inlined in peer ids).
pub(crate) fn holder_peer(holder: &[u8; 32]) -> Option<PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(holder).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

fn refused(reason: &str) -> BackupResponse {
    BackupResponse::Refused {
        reason: reason.into(),
    }
}

impl EventLoop {
    /// Lets holders of the backups kept here connect (for the backup protocol alone).
    pub(super) fn refresh_holders(&mut self) {
        let Some(held) = &self.held else {
            return;
        };
        let holders = held.holders().unwrap_or_default();
        self.holder_peers = holders
            .into_iter()
            .filter_map(|h| holder_peer(&h).map(|p| (p, h)))
            .collect();
        let peers = self.holder_peers.keys().copied().collect();
        self.swarm.behaviour_mut().gate.set_holders(peers);
    }

    /// Whether a holder's connection may have one more challenge (per IP address, or per
    /// node where the connection names none).
    fn proof_allowed(&mut self, peer: &PeerId, connection: ConnectionId) -> bool {
        let now = Instant::now();
        let ip = self.relay.paths.get(&connection).and_then(|p| {
            p.address.iter().find_map(|proto| match proto {
                Protocol::Ip4(ip) => Some(IpAddr::from(ip)),
                Protocol::Ip6(ip) => Some(IpAddr::from(ip)),
                _ => None,
            })
        });
        match ip {
            Some(ip) => self.proof_budget.take(&ip, now),
            None => self.proof_budget_peer.take(peer, now),
        }
    }

    pub(super) fn on_backup(
        &mut self,
        event: request_response::Event<BackupRequest, BackupResponse>,
    ) {
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
                let response = self.answer_backup(peer, connection_id, request);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .backup
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
            } => self.on_leave_answer(peer, request_id, response),
            Event::OutboundFailure {
                peer, request_id, ..
            } => self.on_leave_answer(
                peer,
                request_id,
                refused("the home server stopped answering"),
            ),
            _ => {}
        }
    }

    fn answer_backup(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        request: BackupRequest,
    ) -> BackupResponse {
        let now = Instant::now();
        if self.held.is_none() {
            return refused("this node is not a home server");
        }
        let holder = self.holder_peers.get(&peer).copied();
        match request {
            BackupRequest::Leave(part) => {
                let node = peer.to_bytes();
                // Checked on every part: a member removed halfway is refused the rest.
                let member = self.circles.is_member_node(&part.circle, &node);
                let done = part.offset.saturating_add(part.bytes.len() as u64) == part.size;
                let Some(held) = self.held.as_mut() else {
                    return refused("this node is not a home server");
                };
                let response = held.leave(&node, member, part, now);
                if done && matches!(response, BackupResponse::Taken { .. }) {
                    info!("kept a member's backup");
                    self.refresh_holders();
                }
                response
            }
            BackupRequest::Challenge => {
                let Some(holder) = holder else {
                    return refused(crate::held::NOTHING_FOR_YOU);
                };
                if !self.proof_allowed(&peer, connection) {
                    return refused("too many tries from your address: wait a minute");
                }
                match self.held.as_mut() {
                    Some(held) => held.challenge(&holder, now),
                    None => refused("this node is not a home server"),
                }
            }
            BackupRequest::Prove { proof } => match (holder, self.held.as_mut()) {
                (Some(holder), Some(held)) => held.prove(&holder, &proof, now),
                _ => refused(crate::held::NOTHING_FOR_YOU),
            },
            BackupRequest::Fetch { offset } => match (holder, self.held.as_mut()) {
                (Some(holder), Some(held)) => held.fetch(&holder, offset, now),
                _ => refused(crate::held::NOTHING_FOR_YOU),
            },
        }
    }

    /// Leaves `blob` (a backup file) with every connected home server of `circle`.
    pub(super) fn start_leave(
        &mut self,
        circle: CircleId,
        blob: Arc<Vec<u8>>,
        keys: Arc<RecoveryKeys>,
        reply: oneshot::Sender<Result<Vec<LeftBackup>>>,
    ) {
        let servers: Vec<PeerId> = self
            .relay
            .home_servers
            .keys()
            .filter(|p| {
                self.swarm.is_connected(p) && self.circles.is_member_node(&circle, &p.to_bytes())
            })
            .copied()
            .collect();
        if servers.is_empty() {
            let _ = reply.send(Err(Error::Refused(
                "no home server of this circle is connected now: try again when one is \
                 (circle status lists them)"
                    .into(),
            )));
            return;
        }
        if blob.is_empty() {
            let _ = reply.send(Err(Error::Invalid("the backup is empty".into())));
            return;
        }
        let hash = *blake3::hash(&blob).as_bytes();
        let local = self.swarm.local_peer_id().to_bytes();
        let size = blob.len() as u64;
        let proofs = servers
            .iter()
            .map(|s| {
                let bytes = leave_proof_bytes(&s.to_bytes(), &local, size, &hash);
                let proof =
                    Signature::from_bytes(&keys.prove(&bytes).to_bytes()).expect("64 bytes");
                (*s, proof)
            })
            .collect();
        let job = self.next_leave;
        self.next_leave += 1;
        self.leave_jobs.insert(
            job,
            LeaveJob {
                circle,
                blob,
                hash,
                holder: keys.holder_key().to_bytes(),
                proofs,
                waiting: servers.iter().copied().collect(),
                results: Vec::new(),
                reply: Some(reply),
            },
        );
        for server in servers {
            self.send_leave_part(job, server, 0);
        }
    }

    fn send_leave_part(&mut self, job_id: u64, server: PeerId, offset: u64) {
        let Some(job) = self.leave_jobs.get(&job_id) else {
            return;
        };
        let Some(proof) = job.proofs.get(&server).copied() else {
            return;
        };
        let start = offset as usize;
        let end = (start + BACKUP_LEAVE_PART_BYTES).min(job.blob.len());
        let part = LeavePart {
            circle: job.circle,
            holder: job.holder,
            size: job.blob.len() as u64,
            hash: job.hash,
            proof,
            offset,
            bytes: job.blob[start..end].to_vec(),
        };
        let id = self
            .swarm
            .behaviour_mut()
            .backup
            .send_request(&server, BackupRequest::Leave(part));
        self.leaves.insert(id, (job_id, end as u64));
    }

    fn on_leave_answer(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        response: BackupResponse,
    ) {
        let Some((job_id, sent_to)) = self.leaves.remove(&request_id) else {
            return;
        };
        let Some(job) = self.leave_jobs.get_mut(&job_id) else {
            return;
        };
        let size = job.blob.len() as u64;
        let refusal = match response {
            BackupResponse::Taken { received } if received == size && sent_to == size => None,
            BackupResponse::Taken { received } if received == sent_to => {
                self.send_leave_part(job_id, peer, received);
                return;
            }
            BackupResponse::Refused { reason } => Some(reason),
            _ => Some("the home server answered out of turn".to_string()),
        };
        debug!(home_server = %peer, ?refusal, "leaving a backup ended");
        job.waiting.remove(&peer);
        job.results.push(LeftBackup {
            home_server: peer.to_string(),
            refused: refusal,
        });
        if job.waiting.is_empty()
            && let Some(mut job) = self.leave_jobs.remove(&job_id)
            && let Some(reply) = job.reply.take()
        {
            let _ = reply.send(Ok(std::mem::take(&mut job.results)));
        }
    }
}
