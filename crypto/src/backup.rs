//! The backup file: what a node's whole home becomes when it is backed up, sealed under the
//! key derived from the person's recovery phrase ([`crate::recovery`]).
//!
//! ```text
//! circle backup\n                  the first line: what this file is
//! {"format":1,...}\n               the header, one line of JSON, readable without the phrase
//! chunk chunk ... last-chunk       the contents, in chunks of 64 KiB sealed as a STREAM
//! ```
//!
//! The contents are sealed with XChaCha20-Poly1305 in the STREAM construction (Hoang,
//! Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
//! Misuse-Resistance", CRYPTO 2015; the `aead-stream` crate's big-endian 32-bit counter): each
//! chunk is authenticated with its position and whether it is the last, and every chunk binds
//! the header (its blake3 hash is each chunk's associated data). So a file cut short, chunks
//! reordered, dropped or repeated, or a header changed (the counts or the date) is refused,
//! never half-read. The header also holds a keyed check value, so a wrong phrase is told
//! apart from a damaged file before anything is decrypted.
//!
//! Pure: the caller reads and writes the bytes.

use std::collections::BTreeMap;

use aead_stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, aead::Payload};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::recovery::RecoveryKeys;
use crate::{CryptoError, KdfParams, rng};

/// The file's first line.
pub const BACKUP_MAGIC: &[u8] = b"circle backup\n";
/// The container format this build writes (and the newest it reads).
pub const BACKUP_FORMAT: u32 = 1;
/// Plaintext bytes per chunk (the last one may hold fewer).
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Bytes a chunk takes in the file.
const SEALED_CHUNK_BYTES: usize = CHUNK_BYTES + TAG_BYTES;
const TAG_BYTES: usize = 16;
/// STREAM's nonce prefix: XChaCha20's 24 bytes less its 5 of counter and last-chunk flag.
const NONCE_PREFIX_BYTES: usize = 19;
/// Longest header line accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
const CHECK_CONTEXT: &str = "circle 2026-12 backup: key check";

/// What a backup says about itself, readable without the phrase (and bound to the contents:
/// changing it makes the file unreadable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// The container format ([`BACKUP_FORMAT`]).
    pub format: u32,
    /// When it was made, unix milliseconds.
    pub created_at_ms: u64,
    /// What it holds, in counts people understand ("circles": 3, "messages": 1204).
    pub holds: BTreeMap<String, u64>,
    /// The argon2id parameters the phrase goes through to open it.
    pub kdf: KdfParams,
    /// The STREAM nonce prefix (base32).
    nonce: String,
    /// A value only the right phrase's key reproduces (base32), to say "wrong phrase" plainly.
    check: String,
}

fn key_check(keys: &RecoveryKeys, nonce: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(CHECK_CONTEXT);
    hasher.update(keys.backup_key());
    hasher.update(nonce);
    crate::encode(&hasher.finalize().as_bytes()[..16])
}

fn cipher(keys: &RecoveryKeys) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(keys.backup_key().into())
}

/// Seals a backup as it is written, a chunk at a time.
pub struct BackupSealer {
    stream: EncryptorBE32<XChaCha20Poly1305>,
    aad: [u8; 32],
    pending: Zeroizing<Vec<u8>>,
}

impl BackupSealer {
    /// Starts a backup; returns the sealer and the file's first bytes (magic and header).
    /// `keys` must have been derived with `kdf`.
    pub fn start(
        keys: &RecoveryKeys,
        kdf: KdfParams,
        created_at_ms: u64,
        holds: BTreeMap<String, u64>,
    ) -> (BackupSealer, Vec<u8>) {
        let nonce = rng::array::<NONCE_PREFIX_BYTES>();
        let header = BackupHeader {
            format: BACKUP_FORMAT,
            created_at_ms,
            holds,
            kdf,
            nonce: crate::encode(&nonce),
            check: key_check(keys, &nonce),
        };
        let line = serde_json::to_vec(&header).expect("a header always serializes");
        let mut opening = BACKUP_MAGIC.to_vec();
        opening.extend_from_slice(&line);
        opening.push(b'\n');
        let sealer = BackupSealer {
            stream: EncryptorBE32::from_aead(cipher(keys), (&nonce).into()),
            aad: *blake3::hash(&line).as_bytes(),
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_BYTES)),
        };
        (sealer, opening)
    }

    /// Takes more of the contents; returns the sealed chunks now complete (possibly none).
    pub fn write(&mut self, mut data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let room = CHUNK_BYTES - self.pending.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            self.pending.extend_from_slice(now);
            data = rest;
            // A full chunk is sealed only once more follows, so the last is always sealed
            // as the last, even when the contents fill whole chunks.
            if self.pending.len() == CHUNK_BYTES && !data.is_empty() {
                out.extend(self.seal_pending()?);
            }
        }
        Ok(out)
    }

    fn seal_pending(&mut self) -> Result<Vec<u8>, CryptoError> {
        let sealed = self
            .stream
            .encrypt_next(Payload {
                msg: &self.pending,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::TooLarge {
                size: usize::MAX,
                limit: CHUNK_BYTES * u32::MAX as usize,
            })?;
        self.pending.clear();
        Ok(sealed)
    }

    /// Seals what is left as the last chunk; returns the file's last bytes.
    pub fn finish(self) -> Result<Vec<u8>, CryptoError> {
        self.stream
            .encrypt_last(Payload {
                msg: &self.pending,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Reads a backup's header from the file's first bytes (at least up to the header's end),
/// without the phrase. Returns the header and how many bytes the opening took.
pub fn read_header(start: &[u8]) -> Result<(BackupHeader, usize), CryptoError> {
    let not_a_backup = || CryptoError::Malformed("this is not a circle backup file".into());
    let rest = start.strip_prefix(BACKUP_MAGIC).ok_or_else(not_a_backup)?;
    let end = rest
        .iter()
        .take(MAX_HEADER_BYTES + 1)
        .position(|b| *b == b'\n')
        .ok_or_else(|| {
            if rest.len() > MAX_HEADER_BYTES {
                not_a_backup()
            } else {
                CryptoError::Malformed("the backup file ends before its header does".into())
            }
        })?;
    let line = &rest[..end];
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format = serde_json::from_slice(line).map_err(|_| not_a_backup())?;
    if format.format > BACKUP_FORMAT {
        return Err(CryptoError::Malformed(format!(
            "this backup was made by a newer version of circle (backup format {}; this one \
             reads up to {BACKUP_FORMAT}): update circle, then restore it",
            format.format
        )));
    }
    let header: BackupHeader = serde_json::from_slice(line).map_err(|_| not_a_backup())?;
    Ok((header, BACKUP_MAGIC.len() + end + 1))
}

/// Opens a backup's contents as they are read, a chunk at a time.
pub struct BackupOpener {
    stream: DecryptorBE32<XChaCha20Poly1305>,
    aad: [u8; 32],
    pending: Vec<u8>,
}

impl BackupOpener {
    /// Starts opening the backup whose opening bytes are `opening` (as [`read_header`] read
    /// them). Refuses at once, in plain words, a phrase that is not this backup's.
    pub fn start(keys: &RecoveryKeys, opening: &[u8]) -> Result<BackupOpener, CryptoError> {
        let (header, len) = read_header(opening)?;
        let nonce = crate::decode(&header.nonce)
            .ok()
            .and_then(|n| <[u8; NONCE_PREFIX_BYTES]>::try_from(n.as_slice()).ok())
            .ok_or_else(|| CryptoError::Malformed("the backup's header is damaged".into()))?;
        if key_check(keys, &nonce) != header.check {
            return Err(CryptoError::BadKey);
        }
        let line = &opening[BACKUP_MAGIC.len()..len - 1];
        Ok(BackupOpener {
            stream: DecryptorBE32::from_aead(cipher(keys), (&nonce).into()),
            aad: *blake3::hash(line).as_bytes(),
            pending: Vec::with_capacity(2 * SEALED_CHUNK_BYTES),
        })
    }

    /// Takes more of the file after the opening; returns the contents now opened.
    pub fn read(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.pending.extend_from_slice(data);
        let mut out = Zeroizing::new(Vec::new());
        // A whole chunk is opened only when more follows it: the last is opened as the last.
        let mut taken = 0;
        while self.pending.len() - taken > SEALED_CHUNK_BYTES {
            let chunk = &self.pending[taken..taken + SEALED_CHUNK_BYTES];
            let plain = Zeroizing::new(
                self.stream
                    .decrypt_next(Payload {
                        msg: chunk,
                        aad: &self.aad,
                    })
                    .map_err(|_| damaged())?,
            );
            out.extend_from_slice(&plain);
            taken += SEALED_CHUNK_BYTES;
        }
        self.pending.drain(..taken);
        Ok(out)
    }

    /// Opens the last chunk: the file must end exactly here.
    pub fn finish(self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if self.pending.len() < TAG_BYTES {
            return Err(damaged());
        }
        self.stream
            .decrypt_last(Payload {
                msg: &self.pending,
                aad: &self.aad,
            })
            .map(Zeroizing::new)
            .map_err(|_| damaged())
    }
}

fn damaged() -> CryptoError {
    CryptoError::Malformed(
        "the backup file is damaged or incomplete (cut short, or changed since it was made)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::{RecoveryPhrase, TEST_KDF};

    fn holds() -> BTreeMap<String, u64> {
        BTreeMap::from([("circles".to_string(), 2), ("messages".to_string(), 1204)])
    }

    fn seal(keys: &RecoveryKeys, contents: &[u8], piece: usize) -> Vec<u8> {
        let (mut sealer, mut file) =
            BackupSealer::start(keys, TEST_KDF, 1_764_000_000_000, holds());
        for part in contents.chunks(piece.max(1)) {
            file.extend(sealer.write(part).unwrap());
        }
        file.extend(sealer.finish().unwrap());
        file
    }

    fn open(keys: &RecoveryKeys, file: &[u8], piece: usize) -> Result<Vec<u8>, CryptoError> {
        let (_, len) = read_header(file)?;
        let mut opener = BackupOpener::start(keys, &file[..len])?;
        let mut out = Vec::new();
        for part in file[len..].chunks(piece.max(1)) {
            out.extend_from_slice(&opener.read(part)?);
        }
        out.extend_from_slice(&opener.finish()?);
        Ok(out)
    }

    #[test]
    fn contents_of_any_size_come_back_whole_however_they_are_cut_up() {
        let keys = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        for size in [
            0,
            1,
            CHUNK_BYTES - 1,
            CHUNK_BYTES,
            CHUNK_BYTES + 1,
            3 * CHUNK_BYTES,
        ] {
            let contents: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            for (w, r) in [
                (size.max(1), 7),
                (1000, SEALED_CHUNK_BYTES),
                (CHUNK_BYTES, 100_000),
            ] {
                let file = seal(&keys, &contents, w);
                assert_eq!(open(&keys, &file, r).unwrap(), contents, "size {size}");
            }
        }
    }

    #[test]
    fn the_header_tells_what_the_backup_holds_without_the_phrase_and_no_plaintext_shows() {
        let keys = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        let secret = b"day 30 and I told my sponsor everything".repeat(100);
        let file = seal(&keys, &secret, 4096);
        let (header, _) = read_header(&file).unwrap();
        assert_eq!(header.holds, holds());
        assert_eq!(header.created_at_ms, 1_764_000_000_000);
        assert_eq!(header.kdf, TEST_KDF);
        assert!(!file.windows(6).any(|w| w == b"sponso"));
    }

    #[test]
    fn a_wrong_phrase_is_told_apart_from_a_damaged_file() {
        let keys = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        let file = seal(&keys, &[7; 100_000], 1000);
        let other = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        assert_eq!(open(&other, &file, 1000), Err(CryptoError::BadKey));

        let mut flipped = file.clone();
        let last = flipped.len() - 20;
        flipped[last] ^= 1;
        let e = open(&keys, &flipped, 1000).unwrap_err();
        assert!(e.to_string().contains("damaged or incomplete"), "{e}");
    }

    #[test]
    fn a_file_cut_short_anywhere_or_with_bytes_added_is_refused() {
        let keys = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        let file = seal(&keys, &[1; 2 * CHUNK_BYTES + 10], 5000);
        let (_, len) = read_header(&file).unwrap();
        // At a chunk's end (the hardest case: what is left is whole chunks), and mid-chunk.
        for cut in [
            len + SEALED_CHUNK_BYTES,
            len + 2 * SEALED_CHUNK_BYTES,
            file.len() - 1,
            len + 3,
        ] {
            assert!(open(&keys, &file[..cut], 999).is_err(), "cut at {cut}");
        }
        let mut longer = file.clone();
        longer.extend_from_slice(b"more");
        assert!(open(&keys, &longer, 999).is_err());
        // The opening alone, or less, says so too.
        assert!(open(&keys, &file[..len], 999).is_err());
        assert!(read_header(&file[..len - 1]).is_err());
    }

    #[test]
    fn chunks_swapped_or_a_header_changed_are_refused() {
        let keys = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        let file = seal(&keys, &[3; 3 * CHUNK_BYTES], 5000);
        let (_, len) = read_header(&file).unwrap();
        let mut swapped = file[..len].to_vec();
        swapped.extend_from_slice(&file[len + SEALED_CHUNK_BYTES..len + 2 * SEALED_CHUNK_BYTES]);
        swapped.extend_from_slice(&file[len..len + SEALED_CHUNK_BYTES]);
        swapped.extend_from_slice(&file[len + 2 * SEALED_CHUNK_BYTES..]);
        assert!(open(&keys, &swapped, 5000).is_err());

        let text = String::from_utf8_lossy(&file[..len]).replace("1204", "9999");
        let mut relabelled = text.into_bytes();
        relabelled.extend_from_slice(&file[len..]);
        assert!(open(&keys, &relabelled, 5000).is_err());
    }

    #[test]
    fn another_file_or_a_newer_format_is_refused_in_plain_words() {
        let e = read_header(b"PK\x03\x04 a zip file").unwrap_err();
        assert!(e.to_string().contains("not a circle backup"), "{e}");
        let newer = b"circle backup\n{\"format\":2,\"anything\":true}\n";
        let e = read_header(newer).unwrap_err();
        assert!(e.to_string().contains("newer version of circle"), "{e}");
        let endless = [BACKUP_MAGIC, &[b'{'; MAX_HEADER_BYTES + 10]].concat();
        assert!(read_header(&endless).is_err());
    }
}
