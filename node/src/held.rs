//! A home server's side of the backup protocol: taking members' backups in parts, and serving
//! each back only to whoever proves they hold its recovery phrase.
//!
//! No sockets here: the network task hands each request in with what it knows of the sender
//! (its peer id, whether it is a member's node of the circle named) and sends the answer back.
//! Every backup is opaque bytes to the home server: sealed under a key from the owner's
//! recovery phrase, which the home server never has.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use circle_crypto::{Signature, recovery::verify_holder_proof};
use ed25519_dalek::VerifyingKey;

use crate::{
    error::Result,
    protocol::{
        BACKUP_FETCH_PART_BYTES, BACKUP_LEAVE_PART_BYTES, BackupResponse, LeavePart,
        leave_proof_bytes,
    },
    store::{HeldRecord, Store},
};

/// Backups being received at once, from all members' nodes.
pub const MAX_UPLOADS: usize = 16;
/// How long a backup being received may wait for its next part before it is dropped.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(120);
/// How long a challenge is good for.
pub const CHALLENGE_LIFE: Duration = Duration::from_secs(60);
/// How long a good proof lets its holder fetch parts.
pub const OPENED_LIFE: Duration = Duration::from_secs(600);

/// The answer to anyone asking for a backup that is not kept here for them.
pub const NOTHING_FOR_YOU: &str = "no backup is kept here for you";

/// A backup being received.
struct Upload {
    circle: circle_crypto::CircleId,
    size: u64,
    hash: [u8; 32],
    generation: u64,
    received: u64,
    hasher: blake3::Hasher,
    last: Instant,
}

/// The backups a home server keeps, and the exchanges in progress about them.
pub struct Held {
    store: Store,
    /// Largest backup kept, in bytes.
    limit: u64,
    /// This home server's peer id (bytes), part of what a holder signs to leave a backup.
    local: Vec<u8>,
    /// By (member's node, holder key).
    uploads: HashMap<(Vec<u8>, [u8; 32]), Upload>,
    /// Challenges out, by holder key: each good once.
    challenges: HashMap<[u8; 32], ([u8; 32], Instant)>,
    /// Holders that proved the phrase, until when.
    opened: HashMap<[u8; 32], Instant>,
}

fn refused(reason: impl Into<String>) -> BackupResponse {
    BackupResponse::Refused {
        reason: reason.into(),
    }
}

/// Sizes for people: "1.5 MiB".
pub fn human_size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

impl Held {
    /// The backups in `store`, kept up to `limit` bytes each, at the home server `local`.
    pub fn new(store: Store, limit: u64, local: Vec<u8>) -> Held {
        Held {
            store,
            limit,
            local,
            uploads: HashMap::new(),
            challenges: HashMap::new(),
            opened: HashMap::new(),
        }
    }

    /// The holder keys of every backup kept.
    pub fn holders(&self) -> Result<Vec<[u8; 32]>> {
        Ok(self
            .store
            .held_all()?
            .into_iter()
            .map(|r| r.holder)
            .collect())
    }

    /// Takes one part of a backup from the member's node `node`; `member` says whether it is
    /// the node of a current member of the circle the part names, on a home server of it.
    pub fn leave(
        &mut self,
        node: &[u8],
        member: bool,
        part: LeavePart,
        now: Instant,
    ) -> BackupResponse {
        if !member {
            return refused(
                "only a member's node can leave a backup with a home server of its circle",
            );
        }
        if part.size > self.limit {
            return refused(format!(
                "this home server keeps backups of up to {}; this one is {}",
                human_size(self.limit),
                human_size(part.size)
            ));
        }
        if part.size == 0 {
            return refused("an empty backup is not kept");
        }
        let key = (node.to_vec(), part.holder);
        if part.offset == 0 {
            if let Err(reason) = self.check_leave_proof(node, &part) {
                return refused(reason);
            }
            self.uploads
                .retain(|_, u| now.duration_since(u.last) < UPLOAD_IDLE);
            if !self.uploads.contains_key(&key) && self.uploads.len() >= MAX_UPLOADS {
                return refused("this home server is taking in many backups: try again later");
            }
            let generation = match self.store.new_held_generation() {
                Ok(g) => g,
                Err(e) => return refused(format!("could not keep the backup: {e}")),
            };
            // Whatever an earlier, unfinished attempt left behind goes.
            let kept = self.store.held(&part.holder).ok().flatten();
            let _ = self
                .store
                .drop_held_parts(&part.holder, kept.map(|r| r.generation));
            self.uploads.insert(
                key.clone(),
                Upload {
                    circle: part.circle,
                    size: part.size,
                    hash: part.hash,
                    generation,
                    received: 0,
                    hasher: blake3::Hasher::new(),
                    last: now,
                },
            );
        }
        let Some(upload) = self.uploads.get_mut(&key) else {
            return refused("that backup was not started here, or waited too long: start again");
        };
        if upload.size != part.size
            || upload.hash != part.hash
            || upload.circle != part.circle
            || part.offset != upload.received
        {
            self.uploads.remove(&key);
            return refused("that part does not follow the one before: start again");
        }
        let end = upload.received.saturating_add(part.bytes.len() as u64);
        // Every part but the last is full size, so a part's number follows from its offset.
        let full = part.bytes.len() == BACKUP_LEAVE_PART_BYTES;
        if part.bytes.is_empty()
            || part.bytes.len() > BACKUP_LEAVE_PART_BYTES
            || end > upload.size
            || (!full && end != upload.size)
        {
            let size = upload.size;
            self.uploads.remove(&key);
            return refused(format!(
                "that part does not fit a backup of {}: start again",
                human_size(size)
            ));
        }
        let index = (part.offset / BACKUP_LEAVE_PART_BYTES as u64) as u32;
        if let Err(e) =
            self.store
                .put_held_part(&part.holder, upload.generation, index, &part.bytes)
        {
            self.uploads.remove(&key);
            return refused(format!("could not keep the backup: {e}"));
        }
        upload.hasher.update(&part.bytes);
        upload.received = end;
        upload.last = now;
        if end < upload.size {
            return BackupResponse::Taken { received: end };
        }
        let Some(upload) = self.uploads.remove(&key) else {
            return refused("that backup was not started here: start again");
        };
        if *upload.hasher.finalize().as_bytes() != upload.hash {
            let kept = self.store.held(&part.holder).ok().flatten();
            let _ = self
                .store
                .drop_held_parts(&part.holder, kept.map(|r| r.generation));
            return refused("the backup arrived damaged: start again");
        }
        let record = HeldRecord {
            holder: part.holder,
            circle: upload.circle,
            node: node.to_vec(),
            size: upload.size,
            hash: upload.hash,
            at_ms: crate::time::now_ms(),
            generation: upload.generation,
        };
        match self.store.commit_held(&record) {
            Ok(()) => BackupResponse::Taken { received: end },
            Err(e) => refused(format!("could not keep the backup: {e}")),
        }
    }

    fn check_leave_proof(&self, node: &[u8], part: &LeavePart) -> std::result::Result<(), String> {
        let holder = VerifyingKey::from_bytes(&part.holder)
            .map_err(|_| "that is not a holder key".to_string())?;
        let challenge = leave_proof_bytes(&self.local, node, part.size, &part.hash);
        let proof = ed25519_dalek::Signature::from_bytes(&part.proof.to_bytes());
        verify_holder_proof(&holder, &challenge, &proof)
            .map_err(|_| "the backup is not signed with its holder key".to_string())
    }

    /// A fresh challenge for `holder`, if a backup is kept under it (otherwise the same
    /// refusal as for any other stranger).
    pub fn challenge(&mut self, holder: &[u8; 32], now: Instant) -> BackupResponse {
        self.challenges
            .retain(|_, (_, at)| now.duration_since(*at) < CHALLENGE_LIFE);
        if !matches!(self.store.held(holder), Ok(Some(_))) {
            return refused(NOTHING_FOR_YOU);
        }
        let nonce: [u8; 32] = rand::random();
        self.challenges.insert(*holder, (nonce, now));
        BackupResponse::Challenge { nonce }
    }

    /// Checks `holder`'s proof over its challenge (which it uses up, right or wrong).
    pub fn prove(&mut self, holder: &[u8; 32], proof: &Signature, now: Instant) -> BackupResponse {
        let Some((nonce, at)) = self.challenges.remove(holder) else {
            return refused("ask for a challenge first");
        };
        if now.duration_since(at) >= CHALLENGE_LIFE {
            return refused("the challenge ran out: ask for another");
        }
        let Ok(key) = VerifyingKey::from_bytes(holder) else {
            return refused(NOTHING_FOR_YOU);
        };
        let proof = ed25519_dalek::Signature::from_bytes(&proof.to_bytes());
        if verify_holder_proof(&key, &nonce, &proof).is_err() {
            return refused("the proof does not hold: is it the right recovery phrase?");
        }
        match self.store.held(holder) {
            Ok(Some(record)) => {
                self.opened.retain(|_, until| *until > now);
                self.opened.insert(*holder, now + OPENED_LIFE);
                BackupResponse::Opened {
                    size: record.size,
                    hash: record.hash,
                }
            }
            _ => refused(NOTHING_FOR_YOU),
        }
    }

    /// Up to [`BACKUP_FETCH_PART_BYTES`] of `holder`'s backup from `offset`, after a proof.
    pub fn fetch(&mut self, holder: &[u8; 32], offset: u64, now: Instant) -> BackupResponse {
        if self.opened.get(holder).is_none_or(|until| *until <= now) {
            return refused("prove you hold the recovery phrase first");
        }
        let record = match self.store.held(holder) {
            Ok(Some(record)) => record,
            _ => return refused(NOTHING_FOR_YOU),
        };
        if offset >= record.size {
            return refused("that is past the end of the backup");
        }
        let part_len = BACKUP_LEAVE_PART_BYTES as u64;
        let mut bytes = Vec::new();
        let mut at = offset;
        while at < record.size && bytes.len() < BACKUP_FETCH_PART_BYTES {
            let index = (at / part_len) as u32;
            let part = match self.store.held_part(holder, record.generation, index) {
                Ok(Some(part)) => part,
                _ => return refused("the backup kept here is damaged"),
            };
            let from = (at - index as u64 * part_len) as usize;
            if from >= part.len() {
                return refused("the backup kept here is damaged");
            }
            let room = BACKUP_FETCH_PART_BYTES - bytes.len();
            let take = (part.len() - from).min(room);
            bytes.extend_from_slice(&part[from..from + take]);
            at += take as u64;
        }
        BackupResponse::Part {
            size: record.size,
            offset,
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circle_crypto::{CircleId, KdfParams, recovery::RecoveryPhrase};

    const HOME: &[u8] = b"home server";
    const ALICE: &[u8] = b"alice's node";

    fn held(limit: u64) -> (tempfile::TempDir, Held) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let store = Store::create(
            db,
            b"passphrase",
            b"node key",
            "peer",
            &KdfParams::TESTS_ONLY,
        )
        .unwrap();
        (dir, Held::new(store, limit, HOME.to_vec()))
    }

    /// alice's backup `bytes`, cut into the parts she sends.
    fn parts(
        keys: &circle_crypto::recovery::RecoveryKeys,
        circle: CircleId,
        bytes: &[u8],
    ) -> Vec<LeavePart> {
        let hash = *blake3::hash(bytes).as_bytes();
        let size = bytes.len() as u64;
        let proof = keys.prove(&leave_proof_bytes(HOME, ALICE, size, &hash));
        bytes
            .chunks(BACKUP_LEAVE_PART_BYTES)
            .enumerate()
            .map(|(i, chunk)| LeavePart {
                circle,
                holder: keys.holder_key().to_bytes(),
                size,
                hash,
                proof: Signature::from_bytes(&proof.to_bytes()).unwrap(),
                offset: (i * BACKUP_LEAVE_PART_BYTES) as u64,
                bytes: chunk.to_vec(),
            })
            .collect()
    }

    fn fetch_all(held: &mut Held, keys: &circle_crypto::recovery::RecoveryKeys) -> Vec<u8> {
        let holder = keys.holder_key().to_bytes();
        let now = Instant::now();
        let BackupResponse::Challenge { nonce } = held.challenge(&holder, now) else {
            panic!("a challenge");
        };
        let proof = Signature::from_bytes(&keys.prove(&nonce).to_bytes()).unwrap();
        let BackupResponse::Opened { size, .. } = held.prove(&holder, &proof, now) else {
            panic!("opened");
        };
        let mut out = Vec::new();
        while (out.len() as u64) < size {
            match held.fetch(&holder, out.len() as u64, now) {
                BackupResponse::Part { bytes, .. } => out.extend(bytes),
                other => panic!("{other:?}"),
            }
        }
        out
    }

    #[test]
    fn a_new_backup_sent_out_of_order_is_refused_and_the_one_kept_before_stays_whole() {
        let (_dir, mut held) = held(10 << 20);
        let keys = RecoveryPhrase::generate()
            .keys(KdfParams::TESTS_ONLY)
            .unwrap();
        let circle = CircleId::from_bytes(&[7; 32]).unwrap();
        let first: Vec<u8> = (0..500_000u32).map(|i| i as u8).collect();
        let now = Instant::now();
        for part in parts(&keys, circle, &first) {
            assert!(matches!(
                held.leave(ALICE, true, part, now),
                BackupResponse::Taken { .. }
            ));
        }
        assert_eq!(fetch_all(&mut held, &keys), first);

        // The next one skips a part: refused, and the first is still served whole.
        let second = vec![1u8; 450_000];
        let mut next = parts(&keys, circle, &second).into_iter();
        let start = next.next().unwrap();
        assert!(matches!(
            held.leave(ALICE, true, start, now),
            BackupResponse::Taken { .. }
        ));
        next.next();
        let skipped = next.next().unwrap();
        let answer = held.leave(ALICE, true, skipped, now);
        assert!(
            matches!(&answer, BackupResponse::Refused { reason } if reason.contains("does not follow")),
            "{answer:?}"
        );
        assert_eq!(fetch_all(&mut held, &keys), first);
        assert_eq!(held.store.held_all().unwrap().len(), 1);
    }

    #[test]
    fn a_backup_whose_bytes_do_not_match_its_hash_is_not_kept() {
        let (_dir, mut held) = held(10 << 20);
        let keys = RecoveryPhrase::generate()
            .keys(KdfParams::TESTS_ONLY)
            .unwrap();
        let bytes = vec![3u8; 1000];
        let mut part = parts(&keys, CircleId::from_bytes(&[7; 32]).unwrap(), &bytes).remove(0);
        part.bytes[10] ^= 1;
        let answer = held.leave(ALICE, true, part, Instant::now());
        assert!(
            matches!(&answer, BackupResponse::Refused { reason } if reason.contains("damaged")),
            "{answer:?}"
        );
        assert!(held.store.held_all().unwrap().is_empty());
        assert!(held.holders().unwrap().is_empty());
    }
}
