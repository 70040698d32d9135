//! The errors a node reports. Each message says what happened in plain words; the CLI adds
//! what to do next where the caller can act.

use circle_crypto::{CryptoError, InviteError};

/// Everything that can go wrong inside a node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The home directory has no node yet.
    #[error("no circle node is set up in {0}")]
    NotInitialized(String),
    /// `init` was run twice on the same home.
    #[error("a circle node is already set up in {0}")]
    AlreadyInitialized(String),
    /// The passphrase does not open this node's secrets.
    #[error("the passphrase does not open this node's keys")]
    WrongPassphrase,
    /// Another process kept the store locked for longer than we were willing to wait.
    #[error("the store is in use by another circle process (waited {0} s)")]
    StoreBusy(u64),
    /// No circle matches what the user typed.
    #[error("no circle called or numbered '{0}'")]
    UnknownCircle(String),
    /// No circle has the name the user typed; `hint` names the one they probably meant, or
    /// their circles.
    #[error("no circle called '{name}'{hint}")]
    NoCircleNamed {
        /// What they typed.
        name: String,
        /// ": did you mean 'X'?", ": your circles are 'A', 'B'", ...
        hint: String,
    },
    /// Several circles share the name the user typed.
    #[error("more than one circle is called '{0}': use its id instead (see `circle circles`)")]
    AmbiguousCircle(String),
    /// Input from the user that cannot be used as given.
    #[error("{0}")]
    Invalid(String),
    /// A record from the network or the store that fails its checks.
    #[error("refused: {0}")]
    Refused(String),
    /// A circle invite could not be used.
    #[error(transparent)]
    Invite(#[from] InviteError),
    /// A cryptographic check failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The inviter's node could not be reached, did not answer, or closed the connection
    /// without answering; the text says which and what to do, without libp2p's words.
    #[error("{0}")]
    Unreachable(String),
    /// The node's network task has stopped.
    #[error("the node is shutting down")]
    Stopped,
    /// Asked of a node whose network is not running (see [`crate::Node::offline`]): what was
    /// asked needs other members' nodes now.
    #[error("{0} needs your node running: start it with `circle up`, then try again")]
    Offline(&'static str),
    /// The store failed.
    #[error("storage error: {0}")]
    Store(#[from] sled::Error),
    /// A file in the home directory could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The network layer failed to start.
    #[error("network error: {0}")]
    Net(String),
    /// Something inside the node failed: not the caller's doing, nor anything a peer sent
    /// (a poisoned lock, a task that died, an index that names no message).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<sled::transaction::TransactionError<Error>> for Error {
    fn from(e: sled::transaction::TransactionError<Error>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => Error::Store(e),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
