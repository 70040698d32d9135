//! The two error types of this crate: one for keys, envelopes and sealing, one for invites.

/// What went wrong with a key, a signature, a ciphertext or encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A signature did not verify under the key it claims.
    #[error("the signature does not match")]
    BadSignature,
    /// Key bytes were the wrong length or not a valid key, or a key did not match the one
    /// expected (for example an envelope header naming someone else as author).
    #[error("the key is not valid or is not the expected one")]
    BadKey,
    /// Authenticated decryption failed.
    #[error("could not decrypt: wrong key or damaged data")]
    Decrypt,
    /// Bytes that do not decode into the expected structure.
    #[error("malformed data: {0}")]
    Malformed(String),
    /// Data over a size limit.
    #[error("too large: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Size of the data, in bytes.
        size: usize,
        /// The limit it went over, in bytes.
        limit: usize,
    },
    /// Data written in a format version this build does not know.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// Text that is not valid base32.
    #[error("the text is not valid base32")]
    BadText,
    /// Deriving a key from a passphrase failed.
    #[error("could not derive a key from the passphrase: {0}")]
    Kdf(String),
}

/// Why an invite token was refused.
///
/// The messages are written for the person who pasted the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// The text does not start with `circle1`.
    #[error("this is not a circle invite (it should start with circle1)")]
    NotAnInvite,
    /// The text is not valid base32, its checksum does not match, or it does not decode.
    #[error("the invite is damaged: check that it was copied whole")]
    Damaged,
    /// The invite was made by a newer (or unknown) version of circle.
    #[error("the invite uses format version {0}, which this version of circle cannot read")]
    UnsupportedVersion(u8),
    /// The inviter's signature does not match the invite's contents.
    #[error("the invite's signature does not match: it may have been altered")]
    BadSignature,
    /// The invite is past its expiry time.
    #[error("this invite has expired: ask the person who invited you for a new one")]
    Expired {
        /// When the invite expired, in unix seconds.
        expired_at: u64,
    },
    /// The text is longer than any invite can be.
    #[error("the text is too long to be an invite")]
    TooLarge,
}
