//! The recovery phrase, kept sealed in `meta` like the node key, and what a backup needs from
//! the store: its raw trees (every value already sealed under the data key) and a way to
//! build a store from them under a new passphrase.

use circle_crypto::{KdfParams, PassphraseSalt, StoreKey, recovery::RecoveryPhrase};
use zeroize::Zeroizing;

use super::{DATA_KEY_AAD, STORE_FORMAT, Store, migrate::VAULT, write_vault};
use crate::error::{Error, Result};

/// Where the phrase is kept in `meta` (sealed under the data key).
const PHRASE_KEY: &[u8] = b"recovery";
/// Set in `meta` when a phrase was made for a home that had none: the person is told once.
const PHRASE_UNSEEN_KEY: &[u8] = b"recovery_unseen";

impl Store {
    /// The node's recovery phrase, if it has one.
    pub fn recovery_phrase(&self) -> Result<Option<RecoveryPhrase>> {
        match self.get_sealed(&self.meta, PHRASE_KEY)? {
            Some(bytes) => Ok(Some(RecoveryPhrase::from_bytes(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Keeps `phrase` as the node's recovery phrase.
    pub(crate) fn set_recovery_phrase(&self, phrase: &RecoveryPhrase) -> Result<()> {
        self.put_sealed(&self.meta, PHRASE_KEY, phrase.to_bytes().as_ref())
    }

    /// Gives a store made before recovery phrases its phrase, and marks it to be told once
    /// ([`Store::take_recovery_notice`]). Does nothing when it has one.
    pub(crate) fn ensure_recovery_phrase(&self) -> Result<()> {
        if self.meta.get(PHRASE_KEY)?.is_some() {
            return Ok(());
        }
        self.set_recovery_phrase(&RecoveryPhrase::generate())?;
        self.meta.insert(PHRASE_UNSEEN_KEY, &[1])?;
        self.flush()
    }

    /// Whether the person is still to be told that a recovery phrase was made for them; true
    /// once, then false.
    pub fn take_recovery_notice(&self) -> Result<bool> {
        Ok(self.meta.remove(PHRASE_UNSEEN_KEY)?.is_some())
    }

    /// Checks `passphrase` against the store's vault (slow on purpose: argon2id).
    pub fn check_passphrase(&self, passphrase: &[u8]) -> Result<()> {
        let salt = self
            .meta
            .get("salt")?
            .ok_or_else(|| Error::Refused("store has no salt".into()))?;
        let salt = PassphraseSalt::from_bytes(&salt)?;
        let wrap = StoreKey::from_passphrase(passphrase, &salt, &self.kdf()?)?;
        let sealed = self
            .meta
            .get("data_key")?
            .ok_or_else(|| Error::Refused("store has no data key".into()))?;
        wrap.open(DATA_KEY_AAD, &sealed)
            .map_err(|_| Error::WrongPassphrase)?;
        Ok(())
    }

    /// The store's data key, for a backup to carry (inside its sealed stream).
    pub(crate) fn data_key_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.data_key.to_bytes()
    }

    /// The database under the store, for a backup to read as it is.
    pub(crate) fn raw_db(&self) -> &sled::Db {
        &self.db
    }

    /// The records of `meta` a backup leaves out: the vault (sealed under the passphrase,
    /// which a restore replaces) and the format mark (written last on restore).
    pub(crate) const LEFT_OUT_OF_BACKUPS: [&[u8]; 4] = [VAULT[0], VAULT[1], VAULT[2], b"format"];

    /// Whether a backup leaves the record `key` of `tree` out ([`Store::LEFT_OUT_OF_BACKUPS`]).
    pub(crate) fn left_out_of_backups(tree: &[u8], key: &[u8]) -> bool {
        tree == b"meta" && Self::LEFT_OUT_OF_BACKUPS.contains(&key)
    }

    /// Finishes a store whose records were written into `db` from a backup: seals `data_key`
    /// under `passphrase` with `kdf`, and marks the format last.
    pub(crate) fn finish_restore(
        db: sled::Db,
        data_key: &Zeroizing<[u8; 32]>,
        passphrase: &[u8],
        kdf: &KdfParams,
    ) -> Result<Store> {
        let data_key = StoreKey::from_bytes(data_key.as_ref())?;
        let mut store = Store::with_key(db, data_key)?;
        store.continue_ids()?;
        write_vault(&store.meta, passphrase, &store.data_key, kdf)?;
        store.meta.insert("format", &[STORE_FORMAT])?;
        store.flush()?;
        // Everything sealed opens under the key the backup carried.
        store.node_key()?;
        Ok(store)
    }
}
