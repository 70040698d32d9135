//! # circle
//!
//! Private support circles with no server and no accounts. This facade re-exports the two
//! library crates so tests and examples can name everything from one place:
//!
//! - [`crypto`] (`circle-crypto`): keys, invites, sealed envelopes, at-rest keys. Pure, no I/O.
//! - [`node`] (`circle-node`): the sealed sled store, the libp2p network, sync and the local API.
//!
//! The `circle` binary lives in `cli/` (package `circle-cli`). Start with `examples/demo.rs`.
#![deny(missing_docs)]

pub use circle_crypto as crypto;
pub use circle_node as node;
