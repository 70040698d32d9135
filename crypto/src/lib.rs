//! circle's cryptography: member keys, circle keys, sealed envelopes, invites, and keys for
//! secrets at rest.
//!
//! Pure: no I/O, no network, no async. Everything that parses received bytes returns an
//! error rather than panicking, and checks size limits before decoding.
//!
//! - [`MemberSecret`] / [`MemberKey`]: a member's ed25519 signing key (with an x25519
//!   [`ExchangeKey`] for receiving sealed data), with domain-separated signatures, and a
//!   [fingerprint](MemberKey::fingerprint) of three words that people can read aloud.
//! - [`CircleId`], [`CircleKey`], [`topic_for`]: a circle and the symmetric key its members
//!   share for one epoch.
//! - [`Envelope`]: a message sealed under a circle key and signed by its author; the unit
//!   that travels and is stored.
//! - [`seal_to`] / [`open_sealed`]: HPKE to one member, for handing out circle keys.
//! - [`Invite`]: a signed one-time ticket into a circle, as `circle1...` text.
//! - [`StoreKey`]: sealing secrets on disk, optionally under a passphrase.
//! - [`recovery`] and [`backup`]: the recovery phrase, and backup files sealed under it.
//! - [`text`] ([`encode`] / [`decode`], also at the root): the base32 text form used for
//!   keys, ids and tokens.
//!
//! Formats are versioned and described in `docs/PROTOCOL.md`.
//!
//! # Example
//!
//! ```
//! use circle_crypto::{CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, MemberSecret};
//!
//! let alice = MemberSecret::generate();
//! let circle = CircleId::random();
//! let key = CircleKey::generate();
//!
//! let header = Header {
//!     version: ENVELOPE_VERSION,
//!     circle,
//!     epoch: 0,
//!     author: alice.public(),
//!     seq: 1,
//!     prev: None,
//! };
//! let sealed = Envelope::seal(&alice, &key, header, b"day 30 today")?;
//!
//! // What travels is bytes; reading them back checks the size, format and signature.
//! let received = Envelope::from_bytes(sealed.to_bytes())?;
//! assert_eq!(received.header().author, alice.public());
//! assert_eq!(received.open(&key)?.as_slice(), b"day 30 today");
//! # Ok::<(), circle_crypto::CryptoError>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod backup;
mod circle;
mod envelope;
mod error;
mod fingerprint;
mod invite;
mod key;
pub mod recovery;
mod rng;
mod seal;
mod sym;
pub mod text;
mod vault;
mod wire;

pub use circle::{CircleId, CircleKey, topic_for};
pub use envelope::{ENVELOPE_VERSION, Envelope, Header, MAX_ENVELOPE_BYTES, MessageId};
pub use error::{CryptoError, InviteError};
pub use fingerprint::{FINGERPRINT_WORDS, is_fingerprint};
pub use invite::{INVITE_VERSION, Invite, InviteId, InviteSecret, MAX_INVITE_TOKEN_CHARS};
pub use key::{ExchangeKey, MemberKey, MemberSecret, Signature};
pub use seal::{open_sealed, seal_to, seal_to_checkably};
pub use text::{decode, encode};
pub use vault::{KdfParams, PassphraseSalt, StoreKey};
