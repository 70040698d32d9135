//! XChaCha20-Poly1305 with a 32-byte key, shared by envelopes and the vault.
//!
//! The 24-byte nonce is large enough to pick at random for every message.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 24;
/// Authentication tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts; fails only when the plaintext is beyond the cipher's limit (256 GiB).
pub(crate) fn encrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    // Borrowing the array as the key type avoids an unwiped copy of the key.
    let key: &Key = key.into();
    let cipher = XChaCha20Poly1305::new(key);
    cipher
        .encrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::TooLarge {
            size: plaintext.len(),
            limit: usize::try_from(MAX_PLAINTEXT).unwrap_or(usize::MAX),
        })
}

/// Decrypts and authenticates; any failure is [`CryptoError::Decrypt`].
pub(crate) fn decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    // Borrowing the array as the key type avoids an unwiped copy of the key.
    let key: &Key = key.into();
    let cipher = XChaCha20Poly1305::new(key);
    cipher
        .decrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}

/// ChaCha20's limit on one message: 2^32 blocks of 64 bytes.
const MAX_PLAINTEXT: u64 = 1 << 38;
