//! Keys for secrets at rest: [`StoreKey`] seals records on disk, optionally derived from a
//! passphrase with a [`PassphraseSalt`].
//!
//! The intended layout: a random data key (`StoreKey::generate`) seals every secret, each
//! with an `aad` naming its record; the data key itself is stored sealed under a
//! passphrase-derived key, so changing the passphrase re-seals one small record.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, rng, sym};

/// The random salt stored beside a passphrase-sealed key (16 bytes, not secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PassphraseSalt([u8; 16]);

impl PassphraseSalt {
    /// A fresh random salt.
    pub fn generate() -> Self {
        Self(rng::array())
    }

    /// Reads 16 bytes; another length is [`CryptoError::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        bytes.try_into().map(Self).map_err(|_| {
            CryptoError::Malformed(format!(
                "a passphrase salt is 16 bytes, not {}",
                bytes.len()
            ))
        })
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// argon2id's cost parameters, stored beside the salt so that they can rise later: a vault
/// sealed under weaker ones than a node now asks for is sealed again on its next unlock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over that memory.
    pub passes: u32,
    /// Lanes.
    pub lanes: u32,
}

impl KdfParams {
    /// What a new vault gets: 64 MiB, 3 passes, 1 lane. Above OWASP's argon2id minimums
    /// (19 MiB with 2 passes; RFC 9106's second recommendation is 64 MiB with 3 passes). One
    /// lane: the argon2 crate runs lanes one after another, so more lanes would cost a person
    /// time without costing an attacker's parallel hardware more.
    pub const RECOMMENDED: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        passes: 3,
        lanes: 1,
    };

    /// What vaults got before the parameters were stored: the argon2 crate's defaults of
    /// the time (19 MiB, 2 passes, 1 lane). A vault without parameters was sealed with these.
    pub const FORMAT_2: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };

    /// The cheapest argon2id allows (8 KiB, 1 pass): for test suites that make hundreds of
    /// homes, and nothing else. Never a default; see the node's home for how tests ask for it.
    pub const TESTS_ONLY: KdfParams = KdfParams {
        memory_kib: 8,
        passes: 1,
        lanes: 1,
    };

    /// Most memory a stored vault may ask for (4 GiB).
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    /// Most passes a stored vault may ask for.
    pub const MAX_PASSES: u32 = 64;
    /// Most lanes a stored vault may ask for.
    pub const MAX_LANES: u32 = 16;

    /// Refuses parameters argon2 does not take or that are beyond the maxima above.
    pub fn check(&self) -> Result<(), CryptoError> {
        if self.lanes == 0
            || self.lanes > Self::MAX_LANES
            || self.passes == 0
            || self.passes > Self::MAX_PASSES
            || self.memory_kib < 8 * self.lanes
            || self.memory_kib > Self::MAX_MEMORY_KIB
        {
            return Err(CryptoError::Kdf(format!(
                "argon2id parameters out of bounds: {} KiB, {} passes, {} lanes",
                self.memory_kib, self.passes, self.lanes
            )));
        }
        Ok(())
    }

    /// argon2id (version 0x13) of `secret` with `salt` under these parameters, into `out`
    /// (checked first: parameters read from a file cannot ask for more than the maxima).
    pub(crate) fn derive(
        &self,
        secret: &[u8],
        salt: &[u8],
        out: &mut [u8; 32],
    ) -> Result<(), CryptoError> {
        self.check()?;
        let params = Params::new(self.memory_kib, self.passes, self.lanes, Some(32))
            .map_err(|e| CryptoError::Kdf(e.to_string()))?;
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(secret, salt, out)
            .map_err(|e| CryptoError::Kdf(e.to_string()))
    }

    /// Whether these cost less than `other` in memory or in passes (a vault sealed under them
    /// should be sealed again under `other`).
    pub fn weaker_than(&self, other: &KdfParams) -> bool {
        self.memory_kib < other.memory_kib || self.passes < other.passes
    }

    /// memory (4) ‖ passes (4) ‖ lanes (4), big-endian.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.memory_kib.to_be_bytes());
        out[4..8].copy_from_slice(&self.passes.to_be_bytes());
        out[8..].copy_from_slice(&self.lanes.to_be_bytes());
        out
    }

    /// Reads [`KdfParams::to_bytes`] and checks the result ([`KdfParams::check`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<KdfParams, CryptoError> {
        let bytes: &[u8; 12] = bytes.try_into().map_err(|_| {
            CryptoError::Malformed(format!(
                "argon2id parameters are 12 bytes, not {}",
                bytes.len()
            ))
        })?;
        let word =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let params = KdfParams {
            memory_kib: word(0),
            passes: word(4),
            lanes: word(8),
        };
        params.check()?;
        Ok(params)
    }
}

/// A 32-byte key that seals data at rest with XChaCha20-Poly1305.
///
/// Wiped from memory on drop; `Debug` prints `StoreKey(..)`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        Self(rng::array())
    }

    /// Derives a key from a passphrase with argon2id (version 0x13) and `params`; the same
    /// passphrase, salt and parameters always give the same key.
    ///
    /// Parameters outside [`KdfParams::check`]'s bounds are [`CryptoError::Kdf`] (they come
    /// from disk: a damaged or planted vault must not make opening allocate gigabytes).
    /// An empty passphrase is accepted here; whether to allow one is the caller's policy.
    pub fn from_passphrase(
        passphrase: &[u8],
        salt: &PassphraseSalt,
        params: &KdfParams,
    ) -> Result<StoreKey, CryptoError> {
        let mut key = StoreKey([0; 32]);
        params.derive(passphrase, salt.as_bytes(), &mut key.0)?;
        Ok(key)
    }

    /// Encrypts `plaintext` bound to `aad` under a fresh random nonce.
    ///
    /// Output: the 24-byte nonce, then ciphertext and 16-byte tag.
    ///
    /// # Panics
    ///
    /// If `plaintext` is over 256 GiB, the cipher's limit for one message.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce = rng::array::<{ sym::NONCE_LEN }>();
        let ciphertext = sym::encrypt(&self.0, &nonce, aad, plaintext)
            .expect("a plaintext in memory is within XChaCha20-Poly1305's 256 GiB limit");
        let mut out = Vec::with_capacity(sym::NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Opens what [`seal`](Self::seal) sealed with the same `aad`.
    ///
    /// Shorter than nonce and tag is [`CryptoError::Malformed`]; a wrong key, wrong `aad` or
    /// changed bytes is [`CryptoError::Decrypt`]. The plaintext is wiped when the returned
    /// value drops.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let short = || {
            CryptoError::Malformed(format!(
                "sealed data is {} bytes, shorter than the {} bytes of overhead",
                sealed.len(),
                sym::NONCE_LEN + sym::TAG_LEN
            ))
        };
        if sealed.len() < sym::NONCE_LEN + sym::TAG_LEN {
            return Err(short());
        }
        let (nonce, ciphertext) = sealed.split_at_checked(sym::NONCE_LEN).ok_or_else(short)?;
        let nonce: &[u8; sym::NONCE_LEN] = nonce.try_into().map_err(|_| short())?;
        sym::decrypt(&self.0, nonce, aad, ciphertext)
    }

    /// The 32 key bytes, wiped when the returned value drops.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    /// Reads 32 bytes; another length is [`CryptoError::BadKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: &[u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(*array))
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn refused(result: Result<Zeroizing<Vec<u8>>, CryptoError>) -> Option<CryptoError> {
        result.map(|_| ()).err()
    }

    #[test]
    fn a_sealed_record_opens_only_with_its_key_and_aad() {
        let key = StoreKey::generate();
        let sealed = key.seal(b"member-secret/circle-a", b"secret bytes");
        assert_eq!(sealed.len(), 24 + 12 + 16);
        assert_eq!(
            key.open(b"member-secret/circle-a", &sealed)
                .unwrap()
                .as_slice(),
            b"secret bytes"
        );
        assert_eq!(
            refused(key.open(b"member-secret/circle-b", &sealed)),
            Some(CryptoError::Decrypt)
        );
        assert_eq!(
            refused(StoreKey::generate().open(b"member-secret/circle-a", &sealed)),
            Some(CryptoError::Decrypt)
        );
        for i in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[i] ^= 0x10;
            assert_eq!(
                refused(key.open(b"member-secret/circle-a", &changed)),
                Some(CryptoError::Decrypt)
            );
        }
        assert!(matches!(
            refused(key.open(b"", &sealed[..39])),
            Some(CryptoError::Malformed(_))
        ));
        assert_ne!(key.seal(b"", b"same"), key.seal(b"", b"same"));
    }

    #[test]
    fn a_passphrase_gives_the_same_key_for_the_same_salt_only() {
        let salt = PassphraseSalt::generate();
        let a = StoreKey::from_passphrase(b"correct horse", &salt, &KdfParams::TESTS_ONLY).unwrap();
        let b = StoreKey::from_passphrase(b"correct horse", &salt, &KdfParams::TESTS_ONLY).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());

        let other_salt = StoreKey::from_passphrase(
            b"correct horse",
            &PassphraseSalt::generate(),
            &KdfParams::TESTS_ONLY,
        );
        assert_ne!(other_salt.unwrap().to_bytes(), a.to_bytes());
        let other_words =
            StoreKey::from_passphrase(b"correct horsf", &salt, &KdfParams::TESTS_ONLY).unwrap();
        assert_ne!(other_words.to_bytes(), a.to_bytes());
        assert!(StoreKey::from_passphrase(b"", &salt, &KdfParams::TESTS_ONLY).is_ok());

        // The data-key layout: a random key sealed under the passphrase key.
        let data_key = StoreKey::generate();
        let sealed = a.seal(b"data-key", data_key.to_bytes().as_slice());
        let unsealed = b.open(b"data-key", &sealed).unwrap();
        assert_eq!(
            StoreKey::from_bytes(&unsealed).unwrap().to_bytes(),
            data_key.to_bytes()
        );
    }

    #[test]
    fn argon2id_matches_a_known_answer() {
        // Pins the parameters: vaults of format 2 carry none, and must keep opening.
        let salt = PassphraseSalt::from_bytes(&[0x5a; 16]).unwrap();
        let key = StoreKey::from_passphrase(b"circle", &salt, &KdfParams::FORMAT_2).unwrap();
        let expected = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19 * 1024, 2, 1, Some(32)).unwrap(),
        );
        let mut out = [0u8; 32];
        expected
            .hash_password_into(b"circle", &[0x5a; 16], &mut out)
            .unwrap();
        assert_eq!(*key.to_bytes(), out);
        assert_eq!(
            (Params::DEFAULT_M_COST, Params::DEFAULT_T_COST),
            (19 * 1024, 2),
            "format 2 used the argon2 crate's defaults"
        );
    }

    #[test]
    fn stored_argon2_parameters_round_trip_and_out_of_bounds_ones_are_refused() {
        let p = KdfParams::RECOMMENDED;
        assert_eq!(KdfParams::from_bytes(&p.to_bytes()).unwrap(), p);
        assert!(p.memory_kib >= 64 * 1024 && p.passes >= 3);
        assert!(KdfParams::FORMAT_2.weaker_than(&p));
        assert!(!p.weaker_than(&KdfParams::FORMAT_2));
        for bad in [
            KdfParams {
                memory_kib: u32::MAX,
                ..p
            },
            KdfParams { passes: 0, ..p },
            KdfParams { passes: 1000, ..p },
            KdfParams { lanes: 0, ..p },
            KdfParams { memory_kib: 4, ..p },
        ] {
            assert!(KdfParams::from_bytes(&bad.to_bytes()).is_err(), "{bad:?}");
            assert!(
                StoreKey::from_passphrase(b"x", &PassphraseSalt::generate(), &bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(KdfParams::from_bytes(&[0; 11]).is_err());
    }

    #[test]
    fn keys_and_salts_check_their_lengths() {
        assert_eq!(
            StoreKey::from_bytes(&[1; 31]).err(),
            Some(CryptoError::BadKey)
        );
        let key = StoreKey::from_bytes(&[1; 32]).unwrap();
        assert_eq!(*key.to_bytes(), [1; 32]);
        assert!(matches!(
            PassphraseSalt::from_bytes(&[0; 15]),
            Err(CryptoError::Malformed(_))
        ));
        assert_eq!(
            PassphraseSalt::from_bytes(&[3; 16]).unwrap().as_bytes(),
            &[3; 16]
        );
    }

    #[test]
    fn store_key_hides_in_debug() {
        assert_eq!(format!("{:?}", StoreKey::generate()), "StoreKey(..)");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_record_round_trips(
            plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
            aad in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let key = StoreKey::generate();
            let sealed = key.seal(&aad, &plaintext);
            let opened = key.open(&aad, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn any_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let key = StoreKey::from_bytes(&[8; 32]).unwrap();
            prop_assert!(key.open(b"record", &bytes).is_err());
        }
    }
}
