//! Backups of a whole home, sealed under the key derived from the recovery phrase
//! ([`circle_crypto::backup`]), and their restore on another machine.
//!
//! - [`write`] writes a consistent snapshot of a store to a file, while the node runs.
//! - [`check`] proves a file restores (opens and reads every record into a throwaway store)
//!   without touching any home.
//! - [`restore`] builds a new home from a file, with the phrase and a new passphrase.
//!
//! The snapshot is the store's records as they are kept ([`snapshot`]): every value is
//! already sealed under the store's data key, and the data key travels inside the sealed
//! stream. A restore keeps that data key (so the node key, the member keys and every record
//! open as before; the peer id stays the node's) and seals it afresh under the new passphrase.
//! The file holds no plaintext: the header says only the format, the date and counts.

use std::{
    collections::BTreeMap,
    fs,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use circle_crypto::{
    CryptoError, KdfParams,
    backup::{BackupHeader, BackupOpener, BackupSealer, MAX_HEADER_BYTES, read_header},
    recovery::RecoveryPhrase,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
    circles::Circles,
    error::{Error, Result},
    home::{CATCHING_UP_FILE, Home, create_private_dir, sync_dir},
    store::Store,
};

mod schedule;
mod snapshot;
#[cfg(test)]
mod tests;

pub use schedule::{BackupSchedule, FILE_PREFIX, FILE_SUFFIX, run as run_schedule};

/// How many times a backup starts again when the node wrote something while it was read.
const MAX_ATTEMPTS: u32 = 20;
/// The private record that says which backup was written last.
const LAST_BACKUP: &str = "last-backup";
/// Bytes read from a backup at a time.
const READ_BYTES: usize = 256 * 1024;

/// What a backup holds, and where it is.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupInfo {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was made, unix milliseconds.
    pub created_at_ms: u64,
    /// What it holds ("circles", "messages", "records").
    pub holds: BTreeMap<String, u64>,
}

/// The backup written last from `store`, if any.
pub fn last(store: &Store) -> Result<Option<BackupInfo>> {
    store.private(LAST_BACKUP)
}

/// How far a long piece of work is: records done of all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Records done.
    pub done: u64,
    /// All records.
    pub total: u64,
}

/// Says a backup file is refused, in one plain line.
fn refused(e: CryptoError) -> Error {
    match e {
        CryptoError::Malformed(why) => Error::Invalid(why),
        CryptoError::BadKey => Error::Invalid(
            "this recovery phrase does not open this backup: check the words, or use the \
             phrase of the node that made it"
                .into(),
        ),
        CryptoError::Kdf(_) => Error::Invalid(
            "this backup asks for key-derivation settings circle refuses: it was not made by \
             circle"
                .into(),
        ),
        other => Error::Crypto(other),
    }
}

/// Writes a backup of `store` to `path`: into `path.partial` (mode 0600), renamed over `path`
/// only when whole. Safe while the node runs: if the node writes while the store is read, the
/// backup starts again, so the file is the store at one moment. `progress` is called as
/// records are written.
pub fn write(store: &Store, path: &Path, mut progress: impl FnMut(Progress)) -> Result<BackupInfo> {
    let phrase = store.recovery_phrase()?.ok_or_else(|| {
        Error::Refused("this node has no recovery phrase yet: unlock it once, then back up".into())
    })?;
    // The phrase goes through the same argon2id parameters as the passphrase's vault.
    let kdf = store.kdf()?;
    let keys = phrase.keys(kdf)?;
    let partial = partial_path(path);
    for _ in 0..MAX_ATTEMPTS {
        match write_once(store, &keys, kdf, &partial, &mut progress) {
            Ok(Some((header, bytes))) => {
                fs::rename(&partial, path).map_err(|e| {
                    let _ = fs::remove_file(&partial);
                    Error::io(format!("cannot write {}", path.display()), e)
                })?;
                if let Some(dir) = path.parent() {
                    sync_dir(dir);
                }
                let info = BackupInfo {
                    path: path.display().to_string(),
                    bytes,
                    created_at_ms: header.created_at_ms,
                    holds: header.holds,
                };
                store.put_private(LAST_BACKUP, &info)?;
                return Ok(info);
            }
            Ok(None) => continue,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                return Err(e);
            }
        }
    }
    let _ = fs::remove_file(&partial);
    Err(Error::Refused(
        "the node kept writing while the backup read it: try again in a moment".into(),
    ))
}

fn partial_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// One try at [`write`]: the header and the file's size, or None if the store changed while
/// it was read.
fn write_once(
    store: &Store,
    keys: &circle_crypto::recovery::RecoveryKeys,
    kdf: KdfParams,
    partial: &Path,
    progress: &mut impl FnMut(Progress),
) -> Result<Option<(BackupHeader, u64)>> {
    let db = store.raw_db();
    let mut names = db.tree_names();
    names.sort();
    let trees = names
        .iter()
        .map(|n| db.open_tree(n))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // sled's database checksum holds off every writer while it reads (and waits for writes
    // under way): equal before and after, nothing was written in between.
    let before = db.checksum()?;
    let mut total: u64 = trees.iter().map(|t| t.len() as u64).sum();
    if let Some(i) = names.iter().position(|n| n.as_ref() == b"meta") {
        for key in Store::LEFT_OUT_OF_BACKUPS {
            if trees[i].contains_key(key)? {
                total -= 1;
            }
        }
    }
    let count = |name: &str| {
        names
            .iter()
            .position(|n| n.as_ref() == name.as_bytes())
            .map_or(0, |i| trees[i].len() as u64)
    };
    let holds = BTreeMap::from([
        ("circles".to_string(), count("circles")),
        ("messages".to_string(), count("messages")),
        ("records".to_string(), total),
    ]);
    let (mut sealer, opening) = BackupSealer::start(keys, kdf, crate::time::now_ms(), holds);
    let (header, _) = read_header(&opening).map_err(refused)?;

    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(partial)
        .map_err(|e| Error::io(format!("cannot write {}", partial.display()), e))?;
    let mut out = std::io::BufWriter::new(file);
    let io = |e| Error::io(format!("cannot write {}", partial.display()), e);
    out.write_all(&opening).map_err(io)?;
    let mut put = |bytes: &[u8], out: &mut std::io::BufWriter<fs::File>| -> Result<()> {
        let sealed = sealer.write(bytes)?;
        out.write_all(&sealed).map_err(io)
    };
    put(snapshot::magic(), &mut out)?;
    put(
        &snapshot::data_key(store.data_key_bytes().as_ref()),
        &mut out,
    )?;
    let mut done = 0u64;
    let mut records = 0u64;
    for (name, tree) in names.iter().zip(&trees) {
        put(&snapshot::tree(name), &mut out)?;
        for item in tree.iter() {
            let (k, v) = item?;
            if Store::left_out_of_backups(name, &k) {
                continue;
            }
            put(&snapshot::entry(&k, &v), &mut out)?;
            records += 1;
            done += 1;
            if done.is_multiple_of(1000) {
                progress(Progress { done, total });
            }
        }
    }
    put(&snapshot::end(records), &mut out)?;
    let last = sealer.finish()?;
    out.write_all(&last).map_err(io)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();

    // Any write since the first checksum means the file may hold half of it.
    if db.checksum()? != before {
        tracing::debug!("the store changed while it was backed up: starting again");
        return Ok(None);
    }
    progress(Progress { done: total, total });
    Ok(Some((header, bytes)))
}

/// What a backup file says about itself, without the phrase.
pub fn header(path: &Path) -> Result<BackupHeader> {
    let mut file = open_file(path)?;
    let start = read_start(&mut file, path)?;
    Ok(read_header(&start).map_err(refused)?.0)
}

fn open_file(path: &Path) -> Result<fs::File> {
    fs::File::open(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
}

/// The file's first bytes: enough to hold its opening.
fn read_start(file: &mut fs::File, path: &Path) -> Result<Vec<u8>> {
    let mut start = Vec::new();
    Read::by_ref(file)
        .take((MAX_HEADER_BYTES + 64) as u64)
        .read_to_end(&mut start)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    Ok(start)
}

/// What a restore or a check found in a backup.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The backup's header.
    pub header: BackupHeader,
    /// Circles restored.
    pub circles: usize,
    /// The node's peer id (the same as before the backup).
    pub peer_id: String,
}

/// Opens the backup at `path` with `phrase` and writes its records into the new store at
/// `store_dir`, sealed under `passphrase` with `kdf`; loads its circles to prove them whole.
fn rebuild(
    path: &Path,
    phrase: &RecoveryPhrase,
    store_dir: &Path,
    passphrase: &[u8],
    kdf: &KdfParams,
    progress: &mut dyn FnMut(Progress),
) -> Result<Restored> {
    let mut file = open_file(path)?;
    let start = read_start(&mut file, path)?;
    let (header, opening_len) = read_header(&start).map_err(refused)?;
    let keys = phrase.keys(header.kdf).map_err(refused)?;
    let mut opener = BackupOpener::start(&keys, &start[..opening_len]).map_err(refused)?;
    let total = header.holds.get("records").copied().unwrap_or(0);

    create_private_dir(store_dir)?;
    let db = crate::store::sled_config(store_dir).open()?;
    let mut reader = snapshot::Reader::default();
    let mut data_key: Option<Zeroizing<[u8; 32]>> = None;
    let mut trees: BTreeMap<Vec<u8>, sled::Tree> = BTreeMap::new();
    let mut done = 0u64;
    let mut take = |part: snapshot::Part| -> Result<()> {
        match part {
            snapshot::Part::DataKey(k) => data_key = Some(k),
            snapshot::Part::Entry { tree, key, value } => {
                if Store::left_out_of_backups(&tree, &key) {
                    return Ok(());
                }
                if !trees.contains_key(&tree) {
                    trees.insert(tree.clone(), db.open_tree(&tree)?);
                }
                trees[&tree].insert(key, value)?;
                done += 1;
                if done.is_multiple_of(1000) {
                    progress(Progress { done, total });
                }
            }
        }
        Ok(())
    };
    let mut pending = start[opening_len..].to_vec();
    let mut buf = vec![0u8; READ_BYTES];
    loop {
        let plain = opener.read(&pending).map_err(refused)?;
        reader.feed(&plain, &mut take)?;
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        pending = buf[..n].to_vec();
    }
    let plain = opener.finish().map_err(refused)?;
    reader.feed(&plain, &mut take)?;

    let records = reader.finish()?;
    if records != total {
        return Err(Error::Invalid(
            "the backup holds other records than its header says: it cannot be restored".into(),
        ));
    }
    let data_key = data_key
        .ok_or_else(|| Error::Invalid("the backup holds no keys: it cannot be restored".into()))?;
    let store = Store::finish_restore(db, &data_key, passphrase, kdf)?;
    let peer_id = Store::peer_id_of(store.raw_db())?.unwrap_or_default();
    // Every circle, its keys and its membership read back, or the restore is refused.
    let circles = Circles::load(store)?;
    let count = circles.list()?.len();
    circles.store().flush()?;
    progress(Progress { done: total, total });
    Ok(Restored {
        header,
        circles: count,
        peer_id,
    })
}

/// A directory next to `near` that no one else uses, for work that is renamed into place or
/// deleted.
fn work_dir(near: &Path, what: &str) -> PathBuf {
    let name = near
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "circle".into());
    near.with_file_name(format!(
        ".{name}.{what}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ))
}

/// Proves the backup at `path` restores with `phrase`: opens it and reads every record into a
/// throwaway store in the system's temporary directory (deleted after), loading every circle.
pub fn check(
    path: &Path,
    phrase: &RecoveryPhrase,
    mut progress: impl FnMut(Progress),
) -> Result<Restored> {
    let dir = work_dir(&std::env::temp_dir().join("circle-backup-check"), "check");
    // The throwaway store's vault: a random passphrase, so the cheapest parameters do.
    let throwaway = Zeroizing::new(rand::random::<[u8; 32]>());
    let result = rebuild(
        path,
        phrase,
        &dir.join("store"),
        throwaway.as_ref(),
        &KdfParams::TESTS_ONLY,
        &mut progress,
    );
    let _ = fs::remove_dir_all(&dir);
    result
}

/// Restores the backup at `path` with `phrase` into `home`, which must not be set up (an
/// empty directory is fine), under `new_passphrase` (checked as every new passphrase is).
/// Built in a directory next to the home and renamed into place only when whole: a restore
/// that fails or is interrupted leaves no home behind. The restored home keeps the node key
/// (peer id) and the member keys, and holds [`CATCHING_UP_FILE`].
pub fn restore(
    path: &Path,
    phrase: &RecoveryPhrase,
    home: &Home,
    new_passphrase: &str,
    mut progress: impl FnMut(Progress),
) -> Result<Restored> {
    crate::home::check_new_passphrase(new_passphrase)?;
    let target = home.dir();
    if home.is_initialized() {
        return Err(Error::AlreadyInitialized(target.display().to_string()));
    }
    let empty = match fs::read_dir(target) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => !target.exists(),
    };
    if target.exists() && !empty {
        return Err(Error::Invalid(format!(
            "{} is not empty: restore into a new home (--home DIR)",
            target.display()
        )));
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
    }
    let building = work_dir(target, "restoring");
    let result = (|| {
        create_private_dir(&building)?;
        let restored = rebuild(
            path,
            phrase,
            &building.join("store"),
            new_passphrase.as_bytes(),
            &home.kdf(),
            &mut progress,
        )?;
        fs::File::create(building.join(CATCHING_UP_FILE))
            .map_err(|e| Error::io(format!("cannot write {}", building.display()), e))?;
        sync_dir(&building);
        if target.exists() {
            fs::remove_dir(target)
                .map_err(|e| Error::io(format!("cannot replace {}", target.display()), e))?;
        }
        fs::rename(&building, target)
            .map_err(|e| Error::io(format!("cannot finish {}", target.display()), e))?;
        if let Some(parent) = target.parent() {
            sync_dir(parent);
        }
        Ok(restored)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&building);
    }
    result
}
