//! The recovery phrase: 24 words (BIP-39's English list, 256 bits) that alone can open a
//! person's backups, on a new machine, even when the passphrase is forgotten.
//!
//! The words never leave the machine they were made on except in the person's own
//! handwriting. What is derived from them ([`RecoveryKeys`]) goes through argon2id first, with
//! parameters that travel beside whatever they protect ([`KdfParams`]), so they can rise later
//! without making old backups unreadable:
//!
//! - the **backup key**, which seals backup files ([`crate::backup`]);
//! - the **holder key**, an ed25519 key whose public half names a backup left with a circle's
//!   home server and whose signatures prove, to that server, that the person asking for it
//!   holds the phrase (the server never learns the phrase or the backup key).
//!
//! The phrase has 256 bits of entropy, so a fixed, domain-separating salt is enough; the
//! memory-hard step only makes a stolen backup file cost more to attack if a phrase was
//! generated badly.

use bip39::{Language, Mnemonic};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, KdfParams, rng};

/// Words in a recovery phrase.
pub const PHRASE_WORDS: usize = 24;

/// The salt of the phrase's argon2id step: fixed, and different from every other use.
const PHRASE_SALT: &[u8] = b"circle recovery phrase v1";
/// blake3 contexts for the keys derived from the phrase's argon2id output.
const BACKUP_CONTEXT: &str = "circle 2026-12 recovery: backup key";
const HOLDER_CONTEXT: &str = "circle 2026-12 recovery: holder key";
/// What a holder key signs to prove it holds the phrase: this, then the server's challenge.
pub const HOLDER_PROOF_DOMAIN: &[u8] = b"circle recovery holder proof v1";

/// A recovery phrase. Wiped from memory on drop; `Debug` prints `RecoveryPhrase(..)`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryPhrase {
    entropy: [u8; 32],
}

impl std::fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryPhrase(..)")
    }
}

impl RecoveryPhrase {
    /// A new phrase from the operating system's randomness.
    pub fn generate() -> RecoveryPhrase {
        RecoveryPhrase {
            entropy: rng::array(),
        }
    }

    /// Reads a phrase as a person typed it: any case, any spacing or line breaks, words
    /// numbered or not ("1. abandon 2. ability ..."). Says which word is wrong when one is.
    pub fn parse(text: &str) -> Result<RecoveryPhrase, CryptoError> {
        let words: Vec<String> = text
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let words = Zeroizing::new(words);
        if words.len() != PHRASE_WORDS {
            return Err(CryptoError::Malformed(format!(
                "a recovery phrase has {PHRASE_WORDS} words; this has {}",
                words.len()
            )));
        }
        let joined = Zeroizing::new(words.join(" "));
        let mnemonic = Mnemonic::parse_in_normalized(Language::English, &joined).map_err(|e| {
            CryptoError::Malformed(match e {
                bip39::Error::UnknownWord(i) => format!(
                    "word {} of the recovery phrase ('{}') is not one of its words: check the \
                     spelling",
                    i + 1,
                    words.get(i).map(String::as_str).unwrap_or("")
                ),
                bip39::Error::InvalidChecksum => "the recovery phrase does not add up: a word \
                                                  is wrong or two are swapped"
                    .to_string(),
                _ => "this is not a recovery phrase".to_string(),
            })
        })?;
        let (bytes, len) = mnemonic.to_entropy_array();
        let bytes = Zeroizing::new(bytes);
        let entropy: [u8; 32] = bytes[..len]
            .try_into()
            .map_err(|_| CryptoError::Malformed("a recovery phrase holds 32 bytes".into()))?;
        Ok(RecoveryPhrase { entropy })
    }

    /// The phrase's words, in order, to show once to the person.
    pub fn words(&self) -> Zeroizing<String> {
        let mnemonic = Mnemonic::from_entropy_in(Language::English, &self.entropy)
            .expect("32 bytes is a valid BIP-39 entropy length");
        Zeroizing::new(mnemonic.words().collect::<Vec<_>>().join(" "))
    }

    /// The phrase as 32 bytes, to keep sealed at rest.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.entropy)
    }

    /// The phrase from the 32 bytes [`RecoveryPhrase::to_bytes`] gave.
    pub fn from_bytes(bytes: &[u8]) -> Result<RecoveryPhrase, CryptoError> {
        let entropy: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Malformed("a recovery phrase holds 32 bytes".into()))?;
        Ok(RecoveryPhrase { entropy })
    }

    /// Derives the keys the phrase opens (argon2id with `params`; slow on purpose).
    pub fn keys(&self, params: KdfParams) -> Result<RecoveryKeys, CryptoError> {
        let mut root = Zeroizing::new([0u8; 32]);
        params.derive(&self.entropy, PHRASE_SALT, &mut root)?;
        let holder = Zeroizing::new(blake3::derive_key(HOLDER_CONTEXT, root.as_ref()));
        Ok(RecoveryKeys {
            backup: blake3::derive_key(BACKUP_CONTEXT, root.as_ref()),
            holder: SigningKey::from_bytes(&holder),
        })
    }
}

/// The keys derived from a recovery phrase. Wiped on drop; `Debug` prints no key.
pub struct RecoveryKeys {
    backup: [u8; 32],
    holder: SigningKey,
}

impl Drop for RecoveryKeys {
    fn drop(&mut self) {
        self.backup.zeroize();
        // `SigningKey` wipes itself (ed25519-dalek's `zeroize` feature).
    }
}

impl std::fmt::Debug for RecoveryKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryKeys")
            .field("holder", &self.holder_key())
            .finish_non_exhaustive()
    }
}

impl RecoveryKeys {
    /// The key that seals backup files.
    pub(crate) fn backup_key(&self) -> &[u8; 32] {
        &self.backup
    }

    /// The public holder key: names this person's backup on a home server.
    pub fn holder_key(&self) -> VerifyingKey {
        self.holder.verifying_key()
    }

    /// The holder key's 32 secret bytes, for the network identity a restoring node connects
    /// to a home server with (its peer id is then the holder key itself).
    pub fn holder_secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.holder.to_bytes())
    }

    /// Signs a home server's `challenge`, proving the phrase is held.
    pub fn prove(&self, challenge: &[u8]) -> ed25519_dalek::Signature {
        self.holder.sign(&holder_proof_bytes(challenge))
    }
}

/// What a holder proof signs.
pub fn holder_proof_bytes(challenge: &[u8]) -> Vec<u8> {
    let mut bytes = HOLDER_PROOF_DOMAIN.to_vec();
    bytes.extend_from_slice(challenge);
    bytes
}

/// Checks a holder proof over `challenge` (strict verification).
pub fn verify_holder_proof(
    holder: &VerifyingKey,
    challenge: &[u8],
    proof: &ed25519_dalek::Signature,
) -> Result<(), CryptoError> {
    holder
        .verify_strict(&holder_proof_bytes(challenge), proof)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
pub(crate) const TEST_KDF: KdfParams = KdfParams::TESTS_ONLY;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_written_down_any_which_way_reads_back_as_the_same_phrase() {
        let phrase = RecoveryPhrase::generate();
        let words = phrase.words();
        assert_eq!(words.split(' ').count(), PHRASE_WORDS);
        let numbered: String = words
            .split(' ')
            .enumerate()
            .map(|(i, w)| format!("{}. {}\n", i + 1, w.to_uppercase()))
            .collect();
        for typed in [
            words.to_string(),
            numbered,
            format!("  {}  ", words.replace(' ', "\t")),
        ] {
            let read = RecoveryPhrase::parse(&typed).unwrap();
            assert_eq!(*read.to_bytes(), *phrase.to_bytes());
        }
        let again = RecoveryPhrase::from_bytes(phrase.to_bytes().as_ref()).unwrap();
        assert_eq!(*again.words(), *words);
    }

    #[test]
    fn a_misspelt_missing_or_swapped_word_is_named_plainly() {
        let phrase = RecoveryPhrase::generate();
        let words: Vec<String> = phrase.words().split(' ').map(String::from).collect();

        let mut misspelt = words.clone();
        misspelt[4] = "circlez".into();
        let e = RecoveryPhrase::parse(&misspelt.join(" ")).unwrap_err();
        assert!(e.to_string().contains("word 5"), "{e}");
        assert!(e.to_string().contains("circlez"), "{e}");

        let e = RecoveryPhrase::parse(&words[..23].join(" ")).unwrap_err();
        assert!(e.to_string().contains("this has 23"), "{e}");

        // Swapping two different words breaks the checksum (almost always: try until they differ).
        let mut swapped = words.clone();
        let j = (1..24).find(|&j| words[j] != words[0]).unwrap();
        swapped.swap(0, j);
        match RecoveryPhrase::parse(&swapped.join(" ")) {
            Err(e) => assert!(e.to_string().contains("does not add up"), "{e}"),
            // One in 256 swaps keeps the 8-bit checksum: then the phrase is simply another one.
            Ok(other) => assert_ne!(*other.to_bytes(), *phrase.to_bytes()),
        }
    }

    #[test]
    fn the_same_phrase_gives_the_same_keys_and_another_phrase_others() {
        let phrase = RecoveryPhrase::generate();
        let a = phrase.keys(TEST_KDF).unwrap();
        let b = RecoveryPhrase::parse(&phrase.words())
            .unwrap()
            .keys(TEST_KDF)
            .unwrap();
        assert_eq!(a.backup_key(), b.backup_key());
        assert_eq!(a.holder_key(), b.holder_key());
        let other = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        assert_ne!(a.backup_key(), other.backup_key());
        assert_ne!(a.holder_key(), other.holder_key());
        // Stronger parameters give other keys: they are part of what the phrase opens.
        let stronger = KdfParams {
            passes: 2,
            ..TEST_KDF
        };
        assert_ne!(phrase.keys(stronger).unwrap().backup_key(), a.backup_key());
    }

    #[test]
    fn a_holder_proof_verifies_for_its_challenge_only() {
        let keys = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        let proof = keys.prove(b"challenge 1");
        assert!(verify_holder_proof(&keys.holder_key(), b"challenge 1", &proof).is_ok());
        assert!(verify_holder_proof(&keys.holder_key(), b"challenge 2", &proof).is_err());
        let other = RecoveryPhrase::generate().keys(TEST_KDF).unwrap();
        assert!(verify_holder_proof(&other.holder_key(), b"challenge 1", &proof).is_err());
    }

    #[test]
    fn neither_the_phrase_nor_its_keys_show_in_debug_output() {
        let phrase = RecoveryPhrase::generate();
        let first = phrase.words().split(' ').next().unwrap().to_string();
        assert_eq!(format!("{phrase:?}"), "RecoveryPhrase(..)");
        let keys = phrase.keys(TEST_KDF).unwrap();
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&first));
        assert!(!shown.contains(&format!("{:?}", keys.backup_key())));
    }

    #[test]
    fn a_file_asking_for_absurd_kdf_parameters_is_refused_before_any_work() {
        let phrase = RecoveryPhrase::generate();
        let greedy = KdfParams {
            memory_kib: u32::MAX,
            ..KdfParams::RECOMMENDED
        };
        assert!(matches!(phrase.keys(greedy), Err(CryptoError::Kdf(_))));
    }
}
