//! Fetching a backup back from a home server with the recovery phrase alone.
//!
//! The restoring machine has no node yet: it connects with a network identity made from the
//! holder key itself, so the home server's gate knows whose backup is asked for, and answers a
//! fresh challenge with the holder key's signature, so a proof seen once is worth nothing
//! again. Only the backup protocol runs on that connection.

use std::time::Duration;

use circle_crypto::{Signature, recovery::RecoveryKeys};
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm,
    request_response::{self, OutboundRequestId},
    swarm::{NetworkBehaviour, SwarmEvent},
};

use super::peers::peer_of;
use crate::{
    error::{Error, Result},
    protocol::{BACKUP_PROTOCOL, BackupRequest, BackupResponse, Codec},
};

/// How long any one step (connecting, one answer) may take.
const STEP: Duration = Duration::from_secs(30);

/// A backup fetched from a home server.
#[derive(Debug)]
pub struct FetchedBackup {
    /// The backup file's bytes (checked against the size and hash the home server kept).
    pub bytes: Vec<u8>,
    /// The home server it came from.
    pub home_server: PeerId,
}

#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct FetchBehaviour {
    backup: request_response::Behaviour<Codec<BackupRequest, BackupResponse>>,
}

fn net(e: impl std::fmt::Display) -> Error {
    Error::Net(format!("could not set up the connection: {e}"))
}

fn fetch_swarm(keys: &RecoveryKeys) -> Result<Swarm<FetchBehaviour>> {
    let mut secret = keys.holder_secret();
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(&mut secret[..]).map_err(net)?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(net)?
        .with_quic()
        .with_dns()
        .map_err(net)?
        .with_behaviour(|_| FetchBehaviour {
            backup: request_response::Behaviour::new(
                [(BACKUP_PROTOCOL, request_response::ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(STEP),
            ),
        })
        .map_err(net)?
        .with_swarm_config(|c| c.with_idle_connection_timeout(STEP))
        .build();
    Ok(swarm)
}

/// Asks `home_server` one thing and waits for its answer.
async fn ask(
    swarm: &mut Swarm<FetchBehaviour>,
    home_server: PeerId,
    request: BackupRequest,
) -> Result<BackupResponse> {
    let id: OutboundRequestId = swarm
        .behaviour_mut()
        .backup
        .send_request(&home_server, request);
    let answer = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(FetchBehaviourEvent::Backup(
                    request_response::Event::Message {
                        message:
                            request_response::Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    },
                )) if request_id == id => return Ok(response),
                SwarmEvent::Behaviour(FetchBehaviourEvent::Backup(
                    request_response::Event::OutboundFailure { request_id, .. },
                )) if request_id == id => {
                    return Err(Error::Net(
                        "the home server let this recovery phrase in but stopped answering: \
                         try again"
                            .into(),
                    ));
                }
                SwarmEvent::ConnectionClosed {
                    peer_id,
                    num_established: 0,
                    ..
                } if peer_id == home_server => {
                    return Err(Error::Net(
                        "the connection to the home server closed before the backup was \
                         complete: try again"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(STEP, answer)
        .await
        .map_err(|_| Error::Net("the home server did not answer in time: try again".into()))?
}

fn not_let_in() -> Error {
    Error::Refused(
        "the home server keeps no backup for this recovery phrase (or cannot be reached at that \
         address): check the phrase and the address"
            .into(),
    )
}

fn refused(reason: String) -> Error {
    Error::Refused(format!("the home server refused: {reason}"))
}

/// Fetches the backup kept under the holder key of `keys` from the home server at `addr`
/// (which ends in /p2p/<its peer id>); `progress(received, size)` is called after each part.
/// The download is checked against the size and hash the home server kept: a short or changed
/// one is refused.
pub async fn fetch_backup(
    keys: &RecoveryKeys,
    addr: Multiaddr,
    mut progress: impl FnMut(u64, u64),
) -> Result<FetchedBackup> {
    let Some(home_server) = peer_of(&addr) else {
        return Err(Error::Invalid(
            "the home server's address must end in /p2p/<its peer id>".into(),
        ));
    };
    let mut swarm = fetch_swarm(keys)?;
    swarm
        .dial(addr)
        .map_err(|_| Error::Net("could not dial the home server: check its address".into()))?;
    let connected = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == home_server => {
                    return Ok(());
                }
                SwarmEvent::OutgoingConnectionError { .. } => return Err(not_let_in()),
                _ => {}
            }
        }
    };
    tokio::time::timeout(STEP, connected).await.map_err(|_| {
        Error::Net("the home server could not be reached in time: check its address".into())
    })??;

    // A home server keeping nothing under this holder key closes the connection right after
    // the handshake: the first question goes unanswered.
    let first = ask(&mut swarm, home_server, BackupRequest::Challenge)
        .await
        .map_err(|_| not_let_in())?;
    let nonce = match first {
        BackupResponse::Challenge { nonce } => nonce,
        // Let in while the door is open for joiners: asked, and told the same.
        BackupResponse::Refused { reason } if reason == crate::held::NOTHING_FOR_YOU => {
            return Err(not_let_in());
        }
        BackupResponse::Refused { reason } => return Err(refused(reason)),
        _ => return Err(Error::Net("the home server answered out of turn".into())),
    };
    let proof = Signature::from_bytes(&keys.prove(&nonce).to_bytes())?;
    let (size, hash) = match ask(&mut swarm, home_server, BackupRequest::Prove { proof }).await? {
        BackupResponse::Opened { size, hash } => (size, hash),
        BackupResponse::Refused { reason } => return Err(refused(reason)),
        _ => return Err(Error::Net("the home server answered out of turn".into())),
    };
    let mut bytes = Vec::new();
    while (bytes.len() as u64) < size {
        let offset = bytes.len() as u64;
        match ask(&mut swarm, home_server, BackupRequest::Fetch { offset }).await? {
            BackupResponse::Part {
                size: same,
                offset: at,
                bytes: part,
            } if same == size && at == offset && !part.is_empty() => {
                if offset + part.len() as u64 > size {
                    return Err(Error::Refused(
                        "the home server sent more than the backup it keeps: nothing was \
                         written"
                            .into(),
                    ));
                }
                bytes.extend_from_slice(&part);
                progress(bytes.len() as u64, size);
            }
            BackupResponse::Refused { reason } => return Err(refused(reason)),
            _ => return Err(Error::Net("the home server answered out of turn".into())),
        }
    }
    if *blake3::hash(&bytes).as_bytes() != hash {
        return Err(Error::Refused(
            "the backup arrived damaged (it does not match what the home server kept): nothing \
             was written"
                .into(),
        ));
    }
    Ok(FetchedBackup { bytes, home_server })
}
