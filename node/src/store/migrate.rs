//! Rewriting a store into a fresh database: from format 2 (clear circle ids, member keys and
//! peer ids in keys; envelopes in clear), or to seal its vault under stronger argon2id
//! parameters.
//!
//! The new database is written beside the old one and takes its place only when complete (the
//! home does the renaming), so nothing a person wrote is lost to an interrupted upgrade, and no
//! old bytes (clear ids, the data key sealed under weaker parameters) stay behind in sled's log
//! segments. The data key stays the same.

use circle_crypto::{CircleId, KdfParams, MemberKey, MessageId};
use zeroize::Zeroizing;

use super::keys::{Names, Place, seq_of};
use super::{STORE_FORMAT, Store, Upgrade, aad_in, write_vault};
use crate::error::{Error, Result};

/// The layout before keys were keyed hashes.
pub const FORMAT_2: u8 = 2;

/// The vault's records in `meta`: written afresh, never copied.
pub(super) const VAULT: [&[u8]; 3] = [b"salt", b"kdf", b"data_key"];

fn damaged(what: &str) -> Error {
    Error::Refused(format!(
        "a stored {what} is damaged: the store cannot be upgraded"
    ))
}

impl Store {
    /// Writes everything `old` holds into the empty database `new`, in the current format,
    /// with its vault sealed under `passphrase` and `kdf`. The format mark is written last.
    pub(crate) fn upgrade_into(
        old: &Upgrade,
        new: sled::Db,
        passphrase: &[u8],
        kdf: &KdfParams,
    ) -> Result<()> {
        let mut store = Store::with_key(new, old.data_key.clone())?;
        if old.format == STORE_FORMAT {
            store.copy_all(&old.db)?;
        } else {
            store.rewrite_format_2(&old.db)?;
        }
        store.continue_ids()?;
        write_vault(&store.meta, passphrase, &store.data_key, kdf)?;
        store.meta.insert("format", &[STORE_FORMAT])?;
        store.flush()?;
        tracing::info!(
            from = old.format,
            memory_kib = kdf.memory_kib,
            passes = kdf.passes,
            "store upgraded"
        );
        Ok(())
    }

    /// Copies every tree as it is, but the vault and the format mark.
    fn copy_all(&self, old: &sled::Db) -> Result<()> {
        for name in old.tree_names() {
            let from = old.open_tree(&name)?;
            let to = self.db.open_tree(&name)?;
            for item in from.iter() {
                let (k, v) = item?;
                if name.as_ref() == b"meta"
                    && (VAULT.contains(&k.as_ref()) || k.as_ref() == b"format")
                {
                    continue;
                }
                to.insert(k, v)?;
            }
        }
        Ok(())
    }

    /// Opens what format 2 sealed in `tree` under `key`.
    fn open_old(&self, tree: &str, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.data_key.open(&aad_in(tree.as_bytes(), key), sealed)?)
    }

    /// Seals `plain` into `tree` (one of this store's trees) under `key`.
    fn put_plain(&self, tree: &sled::Tree, key: &[u8], plain: &[u8]) -> Result<()> {
        self.put_sealed(tree, key, plain)
    }

    fn rewrite_format_2(&self, old: &sled::Db) -> Result<()> {
        let names = self.names.clone();
        let tree = |name: &str| old.open_tree(name);
        // meta: the vault is written afresh; `former:` names a circle.
        for item in tree("meta")?.iter() {
            let (k, v) = item?;
            if VAULT.contains(&k.as_ref()) || k.as_ref() == b"format" {
                continue;
            }
            match k.strip_prefix(b"former:".as_slice()) {
                Some(circle) => {
                    let circle = CircleId::from_bytes(circle).map_err(|_| damaged("record"))?;
                    let plain = self.open_old("meta", &k, &v)?;
                    let key = [b"former:".as_slice(), &names.circle(&circle)].concat();
                    self.put_plain(&self.meta, &key, &plain)?;
                }
                None => {
                    self.meta.insert(k, v)?;
                }
            }
        }
        for item in tree("circles")?.iter() {
            let (k, v) = item?;
            let circle = CircleId::from_bytes(&k).map_err(|_| damaged("circle"))?;
            let record: super::CircleRecord = Self::decode(&self.open_old("circles", &k, &v)?)?;
            self.put_circle(&circle, &record)?;
        }
        // circle || n: key epochs, arrival order (whose values are message ids, in clear).
        for item in tree("keys")?.iter() {
            let (k, v) = item?;
            let key = epoch_key(&names, &k)?;
            let plain = self.open_old("keys", &k, &v)?;
            self.put_plain(&self.keys, &key, &plain)?;
        }
        for item in tree("arrivals")?.iter() {
            let (k, v) = item?;
            self.arrivals.insert(epoch_key(&names, &k)?.as_slice(), v)?;
        }
        for item in tree("ops")?.iter() {
            let (k, v) = item?;
            let place = place(&k)?;
            let record = super::OpRecord::decode_any(&self.open_old("ops", &k, &v)?)?;
            let key = place.key(&names);
            self.ops
                .insert(key.as_slice(), self.sealed_op(&key, &place.author, &record))?;
        }
        for (from, to) in [("messages", &self.messages), ("forks", &self.forks)] {
            for item in tree(from)?.iter() {
                let (k, v) = item?;
                let envelope = circle_crypto::Envelope::from_bytes(&v)?;
                let key = place(&k)?.key(&names);
                to.insert(key.as_slice(), self.sealed_envelope(to, &key, &envelope))?;
            }
        }
        for item in tree("ids")?.iter() {
            let (k, v) = item?;
            let id = MessageId::from_bytes(&k).map_err(|_| damaged("index"))?;
            self.ids
                .insert(k.as_ref(), self.sealed_place(&id, &place(&v)?))?;
        }
        for item in tree("heads")?.iter() {
            let (k, v) = item?;
            if k.len() != 64 {
                return Err(damaged("head"));
            }
            let circle = CircleId::from_bytes(&k[..32]).map_err(|_| damaged("head"))?;
            let author = MemberKey::from_bytes(&k[32..]).map_err(|_| damaged("head"))?;
            let value = [
                self.sealed_head_author(&circle, &author).as_slice(),
                &seq_of(&v).to_be_bytes(),
            ]
            .concat();
            self.heads
                .insert(names.author_key(&circle, &author).as_slice(), value)?;
        }
        for item in tree("forked")?.iter() {
            let (k, v) = item?;
            let place = place(&k)?;
            let (held, named): (Vec<MessageId>, Vec<MessageId>) =
                postcard::from_bytes(&v).map_err(|_| damaged("fork record"))?;
            let bytes = postcard::to_allocvec(&(place.author.to_bytes(), held, named))
                .expect("records always encode");
            self.put_plain(&self.forked, &place.key(&names), &bytes)?;
        }
        for (from, to) in [
            ("gone", &self.gone),
            ("expiries", &self.expiries),
            ("withdrawals", &self.withdrawals),
        ] {
            for item in tree(from)?.iter() {
                let (k, v) = item?;
                let plain = self.open_old(from, &k, &v)?;
                self.put_plain(to, &place(&k)?.key(&names), &plain)?;
            }
        }
        for item in tree("joins")?.iter() {
            let (k, v) = item?;
            self.joins.insert(k, v)?;
        }
        for item in tree("peers")?.iter() {
            let (k, v) = item?;
            let addrs: Vec<String> = Self::decode(&self.open_old("peers", &k, &v)?)?;
            let peer = std::str::from_utf8(&k).map_err(|_| damaged("peer"))?;
            self.put_peer(peer, &addrs)?;
        }
        let records = self.db.open_tree("address_records")?;
        for item in tree("address_records")?.iter() {
            let (k, v) = item?;
            let (seq, record): (u64, Vec<u8>) =
                Self::decode(&self.open_old("address_records", &k, &v)?)?;
            let peer = std::str::from_utf8(&k).map_err(|_| damaged("peer"))?;
            let held = (peer, seq, record);
            self.put_record(&records, &names.peer(peer), &held)?;
        }
        // private: named records keep their key; check-ins are circle || counter.
        for item in tree("private")?.iter() {
            let (k, v) = item?;
            let plain = self.open_old("private", &k, &v)?;
            let key = match CircleId::from_bytes(k.get(..32).unwrap_or_default()) {
                Ok(_) if k.len() == 40 => epoch_key(&names, &k)?.to_vec(),
                _ => k.to_vec(),
            };
            self.put_plain(&self.private, &key, &plain)?;
        }
        Ok(())
    }
}

/// A format 2 key circle (32) || n (8), under `names`.
fn epoch_key(names: &Names, old: &[u8]) -> Result<[u8; 40]> {
    if old.len() != 40 {
        return Err(damaged("key"));
    }
    let circle = CircleId::from_bytes(&old[..32]).map_err(|_| damaged("key"))?;
    Ok(names.epoch_key(&circle, seq_of(old)))
}

/// A format 2 message or fork key (its clear place).
fn place(old: &[u8]) -> Result<Place> {
    Place::from_bytes(old).ok_or_else(|| damaged("key"))
}
