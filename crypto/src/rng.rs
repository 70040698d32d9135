//! Randomness from the operating system.

use rand::rngs::SysRng;
use rand::{Rng, rand_core::UnwrapErr};

/// Fills `buf` from the operating system's random source.
///
/// Panics only if the operating system cannot provide randomness, in which case no key
/// could be made safely anyway.
pub(crate) fn fill(buf: &mut [u8]) {
    UnwrapErr(SysRng).fill_bytes(buf);
}

/// `N` random bytes. Callers holding secrets wrap the result in `Zeroizing` or move it into a
/// type that zeroizes.
pub(crate) fn array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}
