//! Wire messages of the two request-response protocols, and their codec.
//!
//! Both protocols carry one postcard-encoded message per stream, written whole and closed; the
//! reader stops at a size limit and refuses anything larger. docs/PROTOCOL.md describes every
//! field.

use std::{io, marker::PhantomData};

use circle_crypto::{CircleId, InviteId, MemberKey, MessageId, Signature};

use futures::prelude::*;
use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::refusal::PeerRefusal;

/// Joining a circle through an invite.
pub const JOIN_PROTOCOL: StreamProtocol = StreamProtocol::new("/circle/join/5");
/// Exchanging what each member has of a circle's log.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/circle/sync/4");

/// Leaving a member's encrypted backup with a home server, and fetching it back with the
/// recovery phrase alone.
pub const BACKUP_PROTOCOL: StreamProtocol = StreamProtocol::new("/circle/backup/1");

/// Most bytes of a backup one [`BackupRequest::Leave`] carries (under [`MAX_REQUEST_BYTES`]
/// with room for the rest of the request).
pub const BACKUP_LEAVE_PART_BYTES: usize = 192 * 1024;
/// Most bytes of a backup one [`BackupResponse::Part`] carries (under [`MAX_RESPONSE_BYTES`]).
pub const BACKUP_FETCH_PART_BYTES: usize = 1024 * 1024;
/// What a holder key signs to leave a backup: this, the home server's and the member node's
/// peer ids, the size and the blake3 hash of the backup (through
/// `circle_crypto::holder_proof_bytes`).
pub const BACKUP_LEAVE_DOMAIN: &[u8] = b"circle backup leave v1";

/// Largest request either protocol accepts.
pub const MAX_REQUEST_BYTES: u64 = 256 * 1024;
/// Largest response either protocol accepts.
pub const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// Most message ids a sync request lists in [`SyncRequest::versions`]; an answering node reads
/// no more than these.
pub const MAX_SYNC_VERSIONS: usize = 1024;

/// Most ranges a sync request lists in [`SyncRequest::held`]; an answering node reads no
/// more than these.
pub const MAX_HELD_RANGES: usize = 1024;

/// A joiner presents its invite.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinRequest {
    /// Which invite (its id, never its secret).
    pub invite: InviteId,
    /// The joiner's signed profile in the circle.
    pub profile: Vec<u8>,
    /// Signature over `profile` with the invite's key: proof the joiner holds the invite.
    pub proof: Signature,
    /// Only asking what the circle is (name, format, guidelines) before deciding to join:
    /// the inviter checks the request as for a join, and admits no one.
    pub preview: bool,
    /// Set when the joiner was in the circle before (left, or was removed): the member key it
    /// had, vouching for the new one, so the circle sees them come back.
    pub returning: Option<Returning>,
    /// The joiner's node's signed address record (section 9.4 of PROTOCOL.md), so that the
    /// inviter's node holds it from the admission on and passes it to the circle's members at
    /// once, even if the joiner's node goes offline right after. Not sent with a preview.
    /// New in `/circle/join/5`.
    pub record: Option<Vec<u8>>,
}

/// A returning member's proof that they are the one who had `former` in the circle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Returning {
    /// The member key they had before.
    pub former: MemberKey,
    /// Signature by `former` over the circle id and the new member key
    /// ([`crate::membership::RETURN_DOMAIN`], [`crate::membership::return_vouch_bytes`]).
    pub vouch: Signature,
}

/// What a person sees of a circle before they accept its invite.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CirclePreview {
    /// The circle's name.
    pub name: String,
    /// The format it follows, if its admins set one.
    pub format: Option<String>,
    /// Its guidelines, if any.
    pub guidelines: Option<String>,
    /// How many members it has.
    pub members: u32,
}

/// The inviter's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum JoinResponse {
    /// Admitted.
    Welcome(Welcome),
    /// Not admitted, with a reason a person can read.
    Refused {
        /// Why (on the wire, its words).
        reason: PeerRefusal,
    },
    /// The answer to a preview: what the circle is.
    Preview(CirclePreview),
}

/// What a new member needs to start: the circle, its members and its keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    /// The circle's genesis record.
    pub genesis: Vec<u8>,
    /// Every message carrying a membership operation the inviter holds, the joiner's own
    /// admission included.
    pub ops: Vec<Vec<u8>>,
    /// The circle's keys, each sealed to the joiner with HPKE.
    pub keys: Vec<SealedKey>,
    /// Addresses of other members' nodes, to connect to.
    pub peers: Vec<String>,
}

/// One key epoch's circle key, sealed to one member.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealedKey {
    /// The key epoch.
    pub epoch: u64,
    /// HPKE output (encapsulated key || ciphertext).
    pub sealed: Vec<u8>,
}

/// "Here is what I have; send me what I lack."
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The circle.
    pub circle: CircleId,
    /// The requesting member.
    pub member: MemberKey,
    /// The member's signature binding this circle to the two nodes of this connection.
    pub proof: Signature,
    /// For each author, the highest sequence number up to which the requester has everything.
    pub heads: Vec<(MemberKey, u64)>,
    /// Ids of messages the requester holds where versions may differ: first the message at
    /// each of its heads, then every version it holds of each number it knows to be forked.
    /// At most [`MAX_SYNC_VERSIONS`]; the responder sends the versions it holds there that
    /// are not listed.
    pub versions: Vec<MessageId>,
    /// Where a chain has a gap: numbers above the author's head the requester already holds,
    /// as (author, after, upto) ranges (after < seq <= upto), so the answer carries only the
    /// gap. A number held or gone (withdrawn, expired) counts as held. At most
    /// [`MAX_HELD_RANGES`].
    pub held: Vec<(MemberKey, u64, u64)>,
}

/// The answer to a [`SyncRequest`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncResponse {
    /// One page of what the requester lacks.
    Page(Box<SyncPage>),
    /// Not served, with a reason.
    Refused {
        /// Why (on the wire, its words).
        reason: PeerRefusal,
    },
}

/// One page of a sync answer. The answering member proves membership too, so a node never
/// takes addresses or records from a node that is not in the circle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncPage {
    /// The answering member.
    pub member: MemberKey,
    /// Its signature binding this circle to the two nodes of this connection.
    pub proof: Signature,
    /// The messages carrying membership operations that the requester lacks (numbered above
    /// its heads), so it judges authors before their messages. Not repeated in `envelopes`.
    pub ops: Vec<Vec<u8>>,
    /// Envelopes the requester lacks, by author and then sequence number.
    pub envelopes: Vec<Vec<u8>>,
    /// Versions of messages the requester may lack where an author's chain forked: versions
    /// held of its head messages when they differ from the requester's, and of every forked
    /// number, that the request did not list.
    pub forks: Vec<Vec<u8>>,
    /// Whether more remain: the requester asks again with its new heads.
    pub more: bool,
    /// Signed address records (libp2p signed peer records, protobuf) of the responder's node
    /// and of the circle's other member nodes it knows: each node's current addresses,
    /// relayed ones included.
    pub records: Vec<Vec<u8>>,
}

/// A request of the backup protocol ([`BACKUP_PROTOCOL`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum BackupRequest {
    /// A member's node leaves one part of its backup (parts in order, from offset 0).
    Leave(LeavePart),
    /// A restoring node (whose peer id is the holder key) asks for a challenge to sign.
    Challenge,
    /// It answers the challenge: the holder key's signature over it
    /// (`circle_crypto::holder_proof_bytes`).
    Prove {
        /// The signature.
        proof: Signature,
    },
    /// It asks for the part of its backup starting at `offset` (after a good proof).
    Fetch {
        /// Where the part starts.
        offset: u64,
    },
}

/// One part of a backup a member's node leaves with a home server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeavePart {
    /// The circle whose home server this is (the sender must be a member's node there).
    pub circle: CircleId,
    /// The holder key (ed25519 public key from the recovery phrase) the backup is kept under.
    pub holder: [u8; 32],
    /// The whole backup's size in bytes.
    pub size: u64,
    /// The whole backup's blake3 hash.
    pub hash: [u8; 32],
    /// The holder key's signature over [`BACKUP_LEAVE_DOMAIN`], both peer ids, size and hash:
    /// only whoever holds the phrase can leave or replace the backup kept under it.
    pub proof: Signature,
    /// Where this part starts.
    pub offset: u64,
    /// The part (at most [`BACKUP_LEAVE_PART_BYTES`]).
    pub bytes: Vec<u8>,
}

/// The answer to a [`BackupRequest`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum BackupResponse {
    /// A part was taken; `received` bytes so far. When it equals the size, the backup is kept
    /// and replaces the one before.
    Taken {
        /// Bytes received so far.
        received: u64,
    },
    /// A fresh challenge for the holder key to sign; good once, for a minute.
    Challenge {
        /// Random bytes.
        nonce: [u8; 32],
    },
    /// The proof holds: the backup's size and hash, to check the download against.
    Opened {
        /// Its size in bytes.
        size: u64,
        /// Its blake3 hash.
        hash: [u8; 32],
    },
    /// A part of the backup.
    Part {
        /// The whole backup's size.
        size: u64,
        /// Where this part starts.
        offset: u64,
        /// The bytes (at most [`BACKUP_FETCH_PART_BYTES`]).
        bytes: Vec<u8>,
    },
    /// Refused, with a reason a person can read.
    Refused {
        /// Why.
        reason: String,
    },
}

/// The bytes a holder key signs to leave a backup (see [`LeavePart::proof`]).
pub fn leave_proof_bytes(server: &[u8], node: &[u8], size: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut out = BACKUP_LEAVE_DOMAIN.to_vec();
    for part in [server, node] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(hash);
    out
}

/// Length-limited postcard codec for one request and one response per stream.
pub struct Codec<Req, Resp>(PhantomData<(Req, Resp)>);

impl<Req, Resp> Default for Codec<Req, Resp> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<Req, Resp> Clone for Codec<Req, Resp> {
    fn clone(&self) -> Self {
        Codec(PhantomData)
    }
}

async fn read_limited<T, M>(io: &mut T, limit: u64) -> io::Result<M>
where
    T: AsyncRead + Unpin + Send,
    M: DeserializeOwned + Serialize,
{
    let mut buf = Vec::new();
    io.take(limit + 1).read_to_end(&mut buf).await?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message larger than {limit} bytes"),
        ));
    }
    crate::membership::decode_exact(&buf)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "message does not decode"))
}

fn encode<M: Serialize>(msg: &M) -> io::Result<Vec<u8>> {
    postcard::to_allocvec(msg).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

async fn write_all<T>(io: &mut T, bytes: Vec<u8>) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    io.write_all(&bytes).await?;
    io.close().await
}

impl<Req, Resp> libp2p::request_response::Codec for Codec<Req, Resp>
where
    Req: Send + Serialize + DeserializeOwned,
    Resp: Send + Serialize + DeserializeOwned,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_limited(io, MAX_REQUEST_BYTES).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_limited(io, MAX_RESPONSE_BYTES).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, encode(&req)?).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, encode(&res)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::request_response::Codec as _;

    #[test]
    fn codec_refuses_oversized_and_garbage() {
        futures::executor::block_on(async {
            let mut codec = Codec::<SyncRequest, SyncResponse>::default();
            let big = vec![0u8; MAX_REQUEST_BYTES as usize + 1];
            let err = codec
                .read_request(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(big))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let garbage = vec![0xffu8; 100];
            assert!(
                codec
                    .read_request(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(garbage))
                    .await
                    .is_err()
            );
            let mut out = futures::io::Cursor::new(Vec::new());
            let resp = SyncResponse::Refused {
                reason: PeerRefusal::NotServed,
            };
            codec
                .write_response(&SYNC_PROTOCOL, &mut out, resp)
                .await
                .unwrap();
            let bytes = out.into_inner();
            let back = codec
                .read_response(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(bytes))
                .await
                .unwrap();
            assert!(matches!(
                back,
                SyncResponse::Refused {
                    reason: PeerRefusal::NotServed
                }
            ));
        });
    }
}
