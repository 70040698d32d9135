//! The first week of a new member, through the real `circle` binary: each story is named after
//! what the person saw when it went wrong, and shows it now goes right (names that can be used
//! again, a way back in, times in the person's own zone, quiet pipes, the same commands with
//! the node on or off, fingerprints that tell two people apart, errors that say what to do).
//!
//! Like the other stories, everyone runs the real binary in a home of their own, their nodes
//! talk over loopback, and every look at another node is an `eventually` under a timeout.
#![cfg(unix)] // nodes are stopped with SIGTERM

#[path = "../util/mod.rs"]
mod util;

mod display;
mod names;
mod offline;
mod shell;
