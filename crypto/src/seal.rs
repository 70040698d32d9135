//! Sealing data to one member's [`ExchangeKey`], for example a new circle key.
//!
//! HPKE (RFC 9180), mode Base, suite DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20Poly1305, via the `hpke` crate. The sender is anonymous at this layer: sign the
//! sealed bytes (or what carries them) when the recipient must know who sent them.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::{CryptoError, ExchangeKey, MemberSecret};

type Kem = X25519HkdfSha256;
type PublicKey = <Kem as hpke::Kem>::PublicKey;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Length of the encapsulated key that starts every sealed message.
const ENCAPPED_LEN: usize = 32;
/// Length of the authentication tag that ends every sealed message.
const TAG_LEN: usize = 16;

/// Seals `plaintext` so that only the holder of `recipient`'s secret can open it.
///
/// `info` names the purpose (both sides must pass the same, e.g. `b"circle/key-share/v1"`);
/// `aad` is data bound to the ciphertext but not encrypted. The output is the 32-byte
/// encapsulated key followed by the ciphertext and 16-byte tag. A degenerate recipient key
/// (one that yields an all-zero shared secret) is [`CryptoError::BadKey`].
pub fn seal_to(
    recipient: &ExchangeKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let public = PublicKey::from_bytes(&recipient.to_bytes()).map_err(|_| CryptoError::BadKey)?;
    let (encapped, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        &public,
        info,
        plaintext,
        aad,
    )
    .map_err(|_| CryptoError::BadKey)?;
    Ok(joined(&encapped, ciphertext))
}

/// [`seal_to`], with the sender's ephemeral key derived from `seed` (through ChaCha20 seeded
/// with it, then HPKE's own `DeriveKeyPair`) instead of fresh randomness: the same inputs
/// always give the same bytes. So whoever knows the plaintext and the seed can check that a
/// copy sealed to someone else holds it, which is how members check that a new circle key was
/// sealed alike to everyone. The seed must be secret and used for one (recipient, plaintext)
/// only: derive it from the plaintext and the recipient (for example with
/// `blake3::derive_key`).
pub fn seal_to_checkably(
    recipient: &ExchangeKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    seed: &[u8; 32],
) -> Result<Vec<u8>, CryptoError> {
    use chacha20::rand_core::SeedableRng;
    let public = PublicKey::from_bytes(&recipient.to_bytes()).map_err(|_| CryptoError::BadKey)?;
    let mut rng = chacha20::ChaCha20Rng::from_seed(*seed);
    let (encapped, ciphertext) =
        hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeS::Base,
            &public,
            info,
            plaintext,
            aad,
            &mut rng,
        )
        .map_err(|_| CryptoError::BadKey)?;
    Ok(joined(&encapped, ciphertext))
}

fn joined(encapped: &EncappedKey, ciphertext: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENCAPPED_LEN + ciphertext.len());
    out.extend_from_slice(&encapped.to_bytes());
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens what [`seal_to`] sealed to `recipient.exchange_key()`, with the same `info` and
/// `aad`.
///
/// Shorter than an encapsulated key plus a tag is [`CryptoError::Malformed`]; any other
/// failure (wrong recipient, `info` or `aad`, or changed bytes) is [`CryptoError::Decrypt`].
/// The plaintext is wiped when the returned value drops.
pub fn open_sealed(
    recipient: &MemberSecret,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < ENCAPPED_LEN + TAG_LEN {
        return Err(CryptoError::Malformed(format!(
            "sealed data is {} bytes, shorter than the {} bytes of overhead",
            sealed.len(),
            ENCAPPED_LEN + TAG_LEN
        )));
    }
    let Some((encapped, ciphertext)) = sealed.split_at_checked(ENCAPPED_LEN) else {
        return Err(CryptoError::Decrypt);
    };
    let encapped = EncappedKey::from_bytes(encapped).map_err(|_| CryptoError::Decrypt)?;
    let secret = Zeroizing::new(recipient.exchange_secret().to_bytes());
    let private = PrivateKey::from_bytes(secret.as_slice()).map_err(|_| CryptoError::Decrypt)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &private,
        &encapped,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const INFO: &[u8] = b"circle/test-share/v1";

    #[test]
    fn only_bob_opens_what_alice_sealed_to_him() {
        let bob = MemberSecret::generate();
        let carol = MemberSecret::generate();
        let sealed = seal_to(&bob.exchange_key(), INFO, b"epoch 3", b"the key").unwrap();
        assert_eq!(sealed.len(), ENCAPPED_LEN + 7 + TAG_LEN);

        let opened = open_sealed(&bob, INFO, b"epoch 3", &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"the key");

        let refused = |r: Result<Zeroizing<Vec<u8>>, CryptoError>| r.map(|_| ()).err();
        assert_eq!(
            refused(open_sealed(&carol, INFO, b"epoch 3", &sealed)),
            Some(CryptoError::Decrypt)
        );
        assert_eq!(
            refused(open_sealed(&bob, b"other", b"epoch 3", &sealed)),
            Some(CryptoError::Decrypt)
        );
        assert_eq!(
            refused(open_sealed(&bob, INFO, b"epoch 4", &sealed)),
            Some(CryptoError::Decrypt)
        );
        for i in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[i] ^= 1;
            assert_eq!(
                refused(open_sealed(&bob, INFO, b"epoch 3", &changed)),
                Some(CryptoError::Decrypt)
            );
        }
        assert!(matches!(
            refused(open_sealed(&bob, INFO, b"epoch 3", &sealed[..47])),
            Some(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn a_checkable_seal_is_the_same_for_the_same_seed_opens_and_differs_by_seed() {
        let bob = MemberSecret::generate();
        let to = bob.exchange_key();
        let one = seal_to_checkably(&to, INFO, b"aad", b"the key", &[1; 32]).unwrap();
        assert_eq!(
            seal_to_checkably(&to, INFO, b"aad", b"the key", &[1; 32]).unwrap(),
            one
        );
        assert_ne!(
            seal_to_checkably(&to, INFO, b"aad", b"the key", &[2; 32]).unwrap(),
            one
        );
        assert_eq!(
            open_sealed(&bob, INFO, b"aad", &one).unwrap().as_slice(),
            b"the key"
        );
    }

    #[test]
    fn a_degenerate_recipient_key_is_refused() {
        let zero = ExchangeKey::from_bytes(&[0; 32]).unwrap();
        assert_eq!(seal_to(&zero, INFO, b"", b"x"), Err(CryptoError::BadKey));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_plaintext_round_trips(
            plaintext in proptest::collection::vec(any::<u8>(), 0..1024),
            aad in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let bob = MemberSecret::generate();
            let sealed = seal_to(&bob.exchange_key(), INFO, &aad, &plaintext).unwrap();
            let opened = open_sealed(&bob, INFO, &aad, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn any_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let bob = MemberSecret::from_bytes(&[5; 64]).unwrap();
            prop_assert!(open_sealed(&bob, INFO, b"", &bytes).is_err());
        }
    }
}
