//! What a backup holds inside its sealed stream: the store's data key and every record of
//! every tree, as the store keeps them (values already sealed under the data key), less the
//! vault, which a restore seals afresh under the new passphrase.
//!
//! ```text
//! "circle snapshot 1\n"
//! 'K' len:u32 data-key              first, once
//! 'T' len:u32 tree-name             a tree starts
//! 'E' len:u32 key len:u32 value     one record of the tree last started
//! 'Z' records:u64                   the end, with how many records came before it
//! ```
//! Lengths and counts are big-endian. Nothing after `Z` is allowed.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The snapshot's first line.
pub const SNAPSHOT_MAGIC: &[u8] = b"circle snapshot 1\n";
const DATA_KEY: u8 = b'K';
const TREE: u8 = b'T';
const ENTRY: u8 = b'E';
const END: u8 = b'Z';
/// Longest tree name read.
const MAX_TREE_NAME: usize = 256;
/// Longest record key read.
const MAX_KEY: usize = 64 * 1024;
/// Longest record value read (an envelope is far smaller).
const MAX_VALUE: usize = 16 * 1024 * 1024;

/// Encodes the parts of a snapshot.
pub fn magic() -> &'static [u8] {
    SNAPSHOT_MAGIC
}

/// The data key part.
pub fn data_key(key: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![DATA_KEY]);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out
}

/// A tree's start.
pub fn tree(name: &[u8]) -> Vec<u8> {
    let mut out = vec![TREE];
    out.extend_from_slice(&(name.len() as u32).to_be_bytes());
    out.extend_from_slice(name);
    out
}

/// One record.
pub fn entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + key.len() + value.len());
    out.push(ENTRY);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The end.
pub fn end(records: u64) -> Vec<u8> {
    let mut out = vec![END];
    out.extend_from_slice(&records.to_be_bytes());
    out
}

/// One part read back.
pub enum Part {
    /// The store's data key.
    DataKey(Zeroizing<[u8; 32]>),
    /// A record of `tree`.
    Entry {
        /// Its tree.
        tree: Vec<u8>,
        /// Its key.
        key: Vec<u8>,
        /// Its value, as stored.
        value: Vec<u8>,
    },
}

fn damaged(what: &str) -> Error {
    Error::Invalid(format!(
        "the backup opened but its contents are damaged ({what}): it cannot be restored"
    ))
}

/// Reads a snapshot as its bytes come, part by part.
#[derive(Default)]
pub struct Reader {
    buf: Zeroizing<Vec<u8>>,
    magic_read: bool,
    key_read: bool,
    tree: Option<Vec<u8>>,
    records: u64,
    ended: bool,
}

impl Reader {
    /// Takes more bytes; hands every part now complete to `part`.
    pub fn feed(&mut self, bytes: &[u8], mut part: impl FnMut(Part) -> Result<()>) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(bytes);
        let at = self.consume(&buf, &mut part)?;
        buf.drain(..at);
        self.buf = buf;
        Ok(())
    }

    /// Reads the whole parts at the start of `buf`; how many bytes they took.
    fn consume(&mut self, buf: &[u8], part: &mut impl FnMut(Part) -> Result<()>) -> Result<usize> {
        let mut at = 0;
        if !self.magic_read {
            if buf.len() < SNAPSHOT_MAGIC.len() {
                return Ok(0);
            }
            if !buf.starts_with(SNAPSHOT_MAGIC) {
                return Err(damaged("it does not start as a snapshot does"));
            }
            self.magic_read = true;
            at = SNAPSHOT_MAGIC.len();
        }
        while let Some(&tag) = buf.get(at) {
            if self.ended {
                return Err(damaged("something follows its end"));
            }
            let Some(taken) = self.next(tag, &buf[at + 1..], part)? else {
                break;
            };
            at += 1 + taken;
        }
        Ok(at)
    }

    /// Reads one part after its tag from `rest`; how many bytes it took, or None if it is not
    /// all there yet.
    fn next(
        &mut self,
        tag: u8,
        rest: &[u8],
        part: &mut impl FnMut(Part) -> Result<()>,
    ) -> Result<Option<usize>> {
        match tag {
            DATA_KEY => {
                let Some((key, taken)) = field(rest, 32)? else {
                    return Ok(None);
                };
                if self.key_read || key.len() != 32 {
                    return Err(damaged("its key"));
                }
                let mut k = Zeroizing::new([0u8; 32]);
                k.copy_from_slice(key);
                self.key_read = true;
                part(Part::DataKey(k))?;
                Ok(Some(taken))
            }
            TREE => {
                let Some((name, taken)) = field(rest, MAX_TREE_NAME)? else {
                    return Ok(None);
                };
                if !self.key_read {
                    return Err(damaged("a tree before the key"));
                }
                self.tree = Some(name.to_vec());
                Ok(Some(taken))
            }
            ENTRY => {
                let Some((key, k_taken)) = field(rest, MAX_KEY)? else {
                    return Ok(None);
                };
                let Some((value, v_taken)) = field(&rest[k_taken..], MAX_VALUE)? else {
                    return Ok(None);
                };
                let Some(tree) = self.tree.clone() else {
                    return Err(damaged("a record outside any tree"));
                };
                self.records += 1;
                part(Part::Entry {
                    tree,
                    key: key.to_vec(),
                    value: value.to_vec(),
                })?;
                Ok(Some(k_taken + v_taken))
            }
            END => {
                let Some(count) = rest.get(..8) else {
                    return Ok(None);
                };
                let count = u64::from_be_bytes(count.try_into().expect("8 bytes"));
                if count != self.records {
                    return Err(damaged("records are missing"));
                }
                self.ended = true;
                Ok(Some(8))
            }
            _ => Err(damaged("an unknown part")),
        }
    }

    /// Checks that the snapshot ended where it should; how many records it held.
    pub fn finish(self) -> Result<u64> {
        if !self.ended || !self.buf.is_empty() {
            return Err(damaged("it ends early"));
        }
        Ok(self.records)
    }
}

/// A length-prefixed field at the start of `bytes` (at most `max` long): it and the bytes it
/// took, or None if not all there yet.
fn field(bytes: &[u8], max: usize) -> Result<Option<(&[u8], usize)>> {
    let Some(len) = bytes.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
    if len > max {
        return Err(damaged("a part is too long"));
    }
    Ok(bytes.get(4..4 + len).map(|f| (f, 4 + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut s = magic().to_vec();
        s.extend_from_slice(&data_key(&[7; 32]));
        s.extend(tree(b"meta"));
        s.extend(entry(b"nick", b"sealed"));
        s.extend(tree(b"messages"));
        s.extend(entry(&[1; 72], &[2; 300]));
        s.extend(end(2));
        s
    }

    fn read(bytes: &[u8], step: usize) -> Result<(u64, usize)> {
        let mut reader = Reader::default();
        let mut parts = 0;
        for piece in bytes.chunks(step) {
            reader.feed(piece, |_| {
                parts += 1;
                Ok(())
            })?;
        }
        Ok((reader.finish()?, parts))
    }

    #[test]
    fn a_snapshot_reads_back_whatever_pieces_it_arrives_in() {
        let s = sample();
        for step in [1, 3, 7, 64, s.len()] {
            assert_eq!(read(&s, step).unwrap(), (2, 3));
        }
    }

    #[test]
    fn a_snapshot_cut_short_padded_or_miscounted_is_refused() {
        let s = sample();
        for cut in [5, 40, s.len() - 1] {
            assert!(read(&s[..cut], 16).is_err(), "cut at {cut}");
        }
        let mut longer = s.clone();
        longer.push(b'E');
        assert!(read(&longer, 16).is_err());
        let mut miscounted = s[..s.len() - 9].to_vec();
        miscounted.extend(end(3));
        assert!(read(&miscounted, 16).is_err());
        let mut huge = magic().to_vec();
        huge.extend_from_slice(&data_key(&[7; 32]));
        huge.push(TREE);
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(
            read(&huge, 16).is_err(),
            "an absurd length is refused at once"
        );
    }
}
