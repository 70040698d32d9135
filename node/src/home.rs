//! A node's home directory: the store, and the file that tells local clients where the API is.
//!
//! ```text
//! HOME/store/     sled database (sealed; see the store module)
//! HOME/api.json   {"url": ..., "token": ..., "pid": ...} while the node runs; mode 0600
//! HOME/web-name   the web app's secret host name, `<random>.localhost`; mode 0600
//! HOME/open.html  `circle open`'s hand-over to the browser, for a moment; mode 0600
//! HOME/catching-up  left by a restore: the node has yet to catch up its own messages
//! ```

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use libp2p::identity::Keypair;
use serde::{Deserialize, Serialize};

use circle_crypto::{KdfParams, recovery::RecoveryPhrase};

use crate::{
    error::{Error, Result},
    membership::{MAX_NAME_CHARS, check_name},
    store::{Store, Unlocked, Upgrade},
};

/// Set to `cheap` in the environment of a debug build (tests), new homes' vaults are sealed
/// under the cheapest argon2id parameters ([`KdfParams::TESTS_ONLY`]) and existing ones are
/// not upgraded: test suites make hundreds of homes. A release build ignores it.
pub const TEST_KDF_ENV: &str = "CIRCLE_TEST_KDF";

/// The file a restore leaves in the home (empty): the node catches up with its own messages
/// in each circle before it numbers anything it writes there (docs/PROTOCOL.md, section 4.5).
pub const CATCHING_UP_FILE: &str = "catching-up";

/// How long to wait for another process that holds the store before giving up.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Where a running node's local API listens, and the token that opens it.
#[derive(Clone, Serialize, Deserialize)]
pub struct ApiInfo {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Bearer token.
    pub token: String,
    /// Process id of the node.
    pub pid: u32,
}

impl std::fmt::Debug for ApiInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiInfo")
            .field("url", &self.url)
            .field("token", &"..")
            .field("pid", &self.pid)
            .finish()
    }
}

/// Fewest characters a new passphrase may have.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Lowest zxcvbn score a new passphrase may have: 3, "safely unguessable: moderate
/// protection from an offline slow-hash scenario" (about 10^10 guesses), which is the attack a
/// copied store allows (SECURITY.md section 2.8).
pub const MIN_PASSPHRASE_SCORE: u8 = 3;

/// Words an attacker of a recovery app tries first: its own name and the fellowships'
/// sayings, which zxcvbn's dictionaries do not know as phrases.
const GUESSED_FIRST: [&str; 14] = [
    "circle",
    "recovery",
    "sobriety",
    "one day at a time",
    "just for today",
    "easy does it",
    "keep coming back",
    "first things first",
    "live and let live",
    "let go and let god",
    "this too shall pass",
    "progress not perfection",
    "serenity prayer",
    "higher power",
];

/// How much of a passphrase zxcvbn looks at: its matching grows fast with length, and what
/// follows only adds strength.
const SCORED_CHARS: usize = 100;

/// Checks a new passphrase against the rules every way of setting up a node applies: at
/// least [`MIN_PASSPHRASE_CHARS`] characters, and not easy to guess (zxcvbn's score at least
/// [`MIN_PASSPHRASE_SCORE`]); a refusal says why in plain words, from zxcvbn's feedback.
pub fn check_new_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::Invalid(format!(
            "the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    let scored: String = passphrase.chars().take(SCORED_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&scored, &GUESSED_FIRST);
    if u8::from(estimate.score()) >= MIN_PASSPHRASE_SCORE {
        return Ok(());
    }
    let mut why: Vec<String> = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        why.extend(feedback.warning().map(|w| plain(&w.to_string())));
        why.extend(feedback.suggestions().iter().map(|s| plain(&s.to_string())));
    }
    why.retain(|w| !w.is_empty());
    if why.is_empty() {
        why.push("it would be guessed quickly".into());
    }
    Err(Error::Invalid(format!(
        "the passphrase is too easy to guess: {}; several unrelated words make a strong one",
        why.join("; ")
    )))
}

/// zxcvbn's sentence as part of a line: lowercase first letter, no final period.
fn plain(sentence: &str) -> String {
    let sentence = sentence.trim().trim_end_matches('.');
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How long `init` waits to reopen the store it just wrote.
const INIT_REOPEN_WAIT: Duration = Duration::from_secs(10);

/// A node's home directory.
#[derive(Clone, Debug)]
pub struct Home {
    dir: PathBuf,
    cheap_kdf: bool,
}

impl Home {
    /// The home at `dir` (not created until [`Home::init`]).
    pub fn new(dir: impl Into<PathBuf>) -> Home {
        Home {
            dir: dir.into(),
            cheap_kdf: false,
        }
    }

    /// Tests only: like [`TEST_KDF_ENV`], for homes made in the test's own process. Has no
    /// effect in a release build.
    #[doc(hidden)]
    pub fn with_cheap_kdf_for_tests(mut self) -> Home {
        self.cheap_kdf = true;
        self
    }

    /// The argon2id parameters a vault made or opened here is sealed under:
    /// [`KdfParams::RECOMMENDED`], except in tests (see [`TEST_KDF_ENV`]).
    pub fn kdf(&self) -> KdfParams {
        let asked = self.cheap_kdf
            || cfg!(test)
            || std::env::var_os(TEST_KDF_ENV).is_some_and(|v| v == "cheap");
        if cfg!(debug_assertions) && asked {
            KdfParams::TESTS_ONLY
        } else {
            KdfParams::RECOMMENDED
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    fn api_file(&self) -> PathBuf {
        self.dir.join("api.json")
    }

    fn web_name_file(&self) -> PathBuf {
        self.dir.join("web-name")
    }

    /// The web app's secret host name, `<random>.localhost` (made on first use, kept in the
    /// home with mode 0600). The browser keeps the session cookie for this name only, so a
    /// server of another user on another 127.0.0.1 port, which cannot guess it, never
    /// receives the cookie.
    pub fn web_name(&self) -> Result<String> {
        if let Ok(text) = fs::read_to_string(self.web_name_file()) {
            let name = text.trim();
            if is_web_name(name) {
                return Ok(name.to_string());
            }
        }
        create_private_dir(&self.dir)?;
        // Made whole, then linked in only if there is none yet: two nodes starting at once in
        // one home agree on one name.
        let path = self.web_name_file();
        let name = new_web_name();
        let tmp = self.private_temp(&path, name.as_bytes())?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(name),
            Err(_) => match fs::read_to_string(&path) {
                Ok(text) if is_web_name(text.trim()) => Ok(text.trim().to_string()),
                // Damaged, or a file system without links: replace it.
                _ => self.write_private(&path, name.as_bytes()).map(|()| name),
            },
        }
    }

    /// Where an upgraded store is built, and where the store it replaces waits to be deleted.
    fn upgrade_dirs(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("store.upgrading"), self.dir.join("store.old"))
    }

    /// Whether a node has been set up here.
    pub fn is_initialized(&self) -> bool {
        Store::exists(&self.store_dir()) || Store::exists(&self.upgrade_dirs().1)
    }

    fn display(&self) -> String {
        self.dir.display().to_string()
    }

    /// Creates the home directory (readable by its owner only) if it does not exist, so that a
    /// node that is not set up yet can write `api.json` there.
    pub fn create_dir(&self) -> Result<()> {
        create_private_dir(&self.dir)
    }

    /// [`Home::create_dir`], and makes an existing home readable by its owner only (mode 0700)
    /// if it was not: it holds the page that hands a sign-in link to the browser.
    pub fn create_private(&self) -> Result<()> {
        create_private_dir(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&self.dir)
                .map_err(|e| Error::io(format!("cannot read {}", self.display()), e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(format!("cannot make {} private", self.display()), e))?;
            }
        }
        Ok(())
    }

    /// Sets up a new node: its network identity and default nickname, protected by `passphrase`.
    pub fn init(&self, passphrase: &[u8], nick: &str) -> Result<Store> {
        let nick = check_name("nickname", nick, MAX_NAME_CHARS)?;
        if self.is_initialized() {
            return Err(Error::AlreadyInitialized(self.display()));
        }
        create_private_dir(&self.dir)?;
        // The store is built beside its final place and renamed into it only when complete, so
        // a setup interrupted at any moment (Ctrl-C, kill -9, power) leaves either no store or a
        // whole one, never one that looks set up but cannot be opened.
        let building = self.dir.join("store.new");
        if building.exists() {
            fs::remove_dir_all(&building).map_err(|e| {
                Error::io(
                    format!(
                        "cannot clear an interrupted setup in {}",
                        building.display()
                    ),
                    e,
                )
            })?;
        }
        // sled creates directories with default permissions; make this one ours alone first.
        create_private_dir(&building)?;
        {
            let db = crate::store::sled_config(&building).open()?;
            let keypair = Keypair::generate_ed25519();
            let encoded = zeroize::Zeroizing::new(
                keypair
                    .to_protobuf_encoding()
                    .map_err(|e| Error::Net(e.to_string()))?,
            );
            let peer_id = keypair.public().to_peer_id().to_string();
            let store = Store::create(db, passphrase, &encoded, &peer_id, &self.kdf())?;
            store.set_nickname(&nick)?;
            store.set_recovery_phrase(&RecoveryPhrase::generate())?;
            store.flush()?;
        }
        fs::rename(&building, self.store_dir())
            .map_err(|e| Error::io(format!("cannot finish setting up {}", self.display()), e))?;
        sync_dir(&self.dir);
        // sled lets go of its lock file a moment after the handle is dropped (its background
        // thread holds it too), so opening again may have to wait briefly.
        self.open(passphrase, INIT_REOPEN_WAIT, |_| {})
    }

    /// Opens the store, waiting up to `wait` for another process that holds it. `on_wait` is
    /// called once, with the wait, if we have to wait.
    pub fn open_db(&self, wait: Duration, mut on_wait: impl FnMut(Duration)) -> Result<sled::Db> {
        let start = Instant::now();
        let (mut told, mut repaired) = (false, false);
        loop {
            match crate::store::sled_config(&self.store_dir()).open() {
                Ok(db) => return Ok(db),
                // sled 0.34 refuses to open a store holding a half-written snapshot, which a
                // process killed while writing one leaves behind (sled#1527). Snapshots only
                // speed up opening; the log holds the data. Set it aside and try once more.
                Err(sled::Error::Corruption { .. }) if !repaired => {
                    repaired = true;
                    if self.set_aside_torn_snapshots()? == 0 {
                        return Err(Error::Store(sled::Error::Corruption { at: None, bt: () }));
                    }
                }
                Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                    if start.elapsed() >= wait {
                        return Err(Error::StoreBusy(wait.as_secs()));
                    }
                    if !told {
                        on_wait(wait);
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Opens the store's database once more and closes it, so that sled writes a snapshot of
    /// where every page is. sled 0.34 writes one only when a database is opened, and on open
    /// reads the whole log written since the last one: without this, the start after a long
    /// run (or a catch-up of 100 000 messages) read everything that run wrote, which made a
    /// node holding 110 000 messages start several times slower than an empty one. A node
    /// that stops cleanly calls this once its store is dropped; it waits up to `wait` for
    /// sled's threads to let go of the store. Nothing is unlocked or decrypted: the snapshot
    /// holds page positions only.
    pub fn settle(&self, wait: Duration) -> Result<()> {
        drop(self.open_db(wait, |_| {})?);
        Ok(())
    }

    /// Moves half-written snapshot files (`snap.*.generating`) out of the store into
    /// `HOME/torn-snapshots/` (kept, not deleted). Returns how many were moved.
    fn set_aside_torn_snapshots(&self) -> Result<usize> {
        let store = self.store_dir();
        let entries = fs::read_dir(&store)
            .map_err(|e| Error::io(format!("cannot read {}", store.display()), e))?;
        let torn: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"))
            })
            .collect();
        if torn.is_empty() {
            return Ok(0);
        }
        let aside = self.dir.join("torn-snapshots");
        create_private_dir(&aside)?;
        for path in &torn {
            let name = path.file_name().unwrap_or_default();
            let target = aside.join(format!(
                "{}.{}",
                name.to_string_lossy(),
                crate::time::now_ms()
            ));
            fs::rename(path, &target)
                .map_err(|e| Error::io(format!("cannot move {}", path.display()), e))?;
            tracing::warn!(
                "set aside a half-written snapshot left by an interrupted process: {}",
                target.display()
            );
        }
        Ok(torn.len())
    }

    /// Opens the store with `passphrase`.
    pub fn open(
        &self,
        passphrase: &[u8],
        wait: Duration,
        on_wait: impl FnMut(Duration),
    ) -> Result<Store> {
        self.finish_interrupted_upgrade()?;
        if !self.is_initialized() {
            return Err(Error::NotInitialized(self.display()));
        }
        self.unlock(self.open_db(wait, on_wait)?, passphrase)
    }

    /// Opens the store in `db` (this home's, opened with [`Home::open_db`]) with
    /// `passphrase`. A store of an older format, or whose vault is sealed under weaker
    /// argon2id parameters than [`Home::kdf`], is rewritten first, once.
    pub fn unlock(&self, db: sled::Db, passphrase: &[u8]) -> Result<Store> {
        let kdf = self.kdf();
        let store = match Store::unlock(db, passphrase, &kdf)? {
            Unlocked::Ready(store) => store,
            Unlocked::Upgrade(old) => self.upgrade(old, passphrase, &kdf)?,
        };
        // Homes set up before recovery phrases get theirs now (the person is told once).
        store.ensure_recovery_phrase()?;
        Ok(store)
    }

    /// Rewrites the store into `HOME/store.upgrading/`, then swaps it in: `store/` becomes
    /// `store.old/` (deleted at once, or at the next open) and `store.upgrading/` becomes
    /// `store/`. Interrupted at any moment, the next open finds either the old store whole or
    /// the new one whole ([`Home::finish_interrupted_upgrade`]).
    fn upgrade(&self, old: Upgrade, passphrase: &[u8], kdf: &KdfParams) -> Result<Store> {
        let (building, aside) = self.upgrade_dirs();
        remove_dir(&building)?;
        create_private_dir(&building)?;
        let db = crate::store::sled_config(&building).open()?;
        Store::upgrade_into(&old, db, passphrase, kdf)?;
        let data_key = old.data_key();
        drop(old);
        sync_dir(&building);
        fs::rename(self.store_dir(), &aside)
            .map_err(|e| Error::io(format!("cannot upgrade the store in {}", self.display()), e))?;
        fs::rename(&building, self.store_dir())
            .map_err(|e| Error::io(format!("cannot upgrade the store in {}", self.display()), e))?;
        sync_dir(&self.dir);
        self.remove_old_store();
        Store::reopen(self.open_db(INIT_REOPEN_WAIT, |_| {})?, data_key)
    }

    /// Deletes `store.old/`, the store an upgrade replaced; sled may still be letting go of
    /// it, so this tries for a few seconds, and the next open tries again.
    fn remove_old_store(&self) {
        let (_, aside) = self.upgrade_dirs();
        let start = Instant::now();
        while aside.exists() {
            match fs::remove_dir_all(&aside) {
                Ok(()) => break,
                Err(e) if start.elapsed() > Duration::from_secs(5) => {
                    tracing::warn!(
                        "cannot delete the store an upgrade replaced, {}: {e}",
                        aside.display()
                    );
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Finishes what an interrupted upgrade left: the old store put back if the new one never
    /// took its place, a replaced one deleted, a half-built one cleared.
    fn finish_interrupted_upgrade(&self) -> Result<()> {
        let (building, aside) = self.upgrade_dirs();
        if !Store::exists(&self.store_dir()) && Store::exists(&aside) {
            fs::rename(&aside, self.store_dir()).map_err(|e| {
                Error::io(format!("cannot restore the store in {}", self.display()), e)
            })?;
            sync_dir(&self.dir);
        }
        if aside.exists() {
            self.remove_old_store();
        }
        remove_dir(&building)
    }

    /// Records where the running node's API is (file mode 0600).
    pub fn write_api(&self, info: &ApiInfo) -> Result<()> {
        let json = serde_json::to_vec(info).expect("api info encodes");
        self.write_private(&self.api_file(), &json)
    }

    /// Writes `path` in the home, readable by this user alone: a new temporary file of this
    /// writer's own (two nodes starting at once must not write into each other's), then
    /// renamed over `path`.
    pub fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.private_temp(path, bytes)?;
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(format!("cannot write {}", path.display()), e)
        })
    }

    /// Writes `bytes` to a new file next to `path`, mode 0600; its path.
    fn private_temp(&self, path: &Path, bytes: &[u8]) -> Result<PathBuf> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(
            ".{}-{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let tmp = PathBuf::from(tmp);
        let mut options = fs::OpenOptions::new();
        // A new file only, so the mode always applies.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
        if let Err(e) = file.write_all(bytes).and_then(|_| file.sync_all()) {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(format!("cannot write {}", tmp.display()), e));
        }
        Ok(tmp)
    }

    /// Where the node's API was last announced (it may have stopped since).
    pub fn read_api(&self) -> Option<ApiInfo> {
        let bytes = fs::read(self.api_file()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Removes the API file, and `circle open`'s hand-over page (on clean shutdown: the
    /// sign-in code in it ends with the node anyway).
    pub fn remove_api(&self) {
        let _ = fs::remove_file(self.api_file());
        let _ = fs::remove_file(self.open_page());
    }

    /// Where `circle open` leaves the page that hands a sign-in link to the browser (mode
    /// 0600): an opener's arguments are readable by every user of the computer, this file is
    /// not.
    pub fn open_page(&self) -> PathBuf {
        self.dir.join("open.html")
    }
}

/// Makes a rename in `dir` durable (best effort: not every platform can sync a directory).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A new secret host name for the web app: 128 random bits, as a DNS label.
pub fn new_web_name() -> String {
    format!(
        "{}.localhost",
        circle_crypto::text::encode(&rand::random::<[u8; 16]>())
    )
}

/// Whether `name` is a host name [`new_web_name`] could have made.
fn is_web_name(name: &str) -> bool {
    name.strip_suffix(".localhost").is_some_and(|label| {
        label.len() == 26
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    })
}

/// Removes `dir` and everything in it, if it exists.
fn remove_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot clear {}", dir.display()), e))?;
    }
    Ok(())
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every passphrase the repository's tests, examples and docs set up homes with.
    const REPO_PASSPHRASES: [&str; 6] = [
        "tests only: a long enough passphrase",
        "benchmarks only: a long enough passphrase",
        "demo passphrase, not a real one",
        "cli tests: seven quiet lanterns by the river",
        "web tests: seven quiet lanterns by the river",
        "maple-river-quiet-lantern-seven",
    ];

    #[test]
    fn a_weak_passphrase_is_refused_with_a_reason_and_a_strong_one_is_taken() {
        for weak in [
            "password",
            "12345678",
            "one day at a time",
            "qwertyuiop",
            "circle123",
        ] {
            let Err(Error::Invalid(why)) = check_new_passphrase(weak) else {
                panic!("{weak:?} is taken");
            };
            assert!(
                why.starts_with("the passphrase is too easy to guess: "),
                "{why}"
            );
            assert!(!why.ends_with('.') && !why.contains('\n'), "{why}");
        }
        let Err(Error::Invalid(why)) = check_new_passphrase("short") else {
            panic!("a short passphrase is taken");
        };
        assert!(why.contains("too short"), "{why}");
        for strong in REPO_PASSPHRASES {
            assert!(
                check_new_passphrase(strong).is_ok(),
                "{strong:?} is refused"
            );
        }
        // A long input is judged quickly and without panic.
        let long = "word ".repeat(10_000) + "lantern";
        let _ = check_new_passphrase(&long);
    }

    #[test]
    fn the_web_name_is_made_once_kept_private_and_replaced_if_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        let name = home.web_name().unwrap();
        assert!(is_web_name(&name), "{name}");
        assert_eq!(home.web_name().unwrap(), name, "the same name every time");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(home.web_name_file())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_ne!(
            Home::new(dir.path().join("other")).web_name().unwrap(),
            name
        );
        fs::write(home.web_name_file(), "evil.example").unwrap();
        let fresh = home.web_name().unwrap();
        assert!(is_web_name(&fresh) && fresh != name, "{fresh}");
        let leftovers = fs::read_dir(home.dir()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn opening_waits_for_another_holder_of_the_store_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        drop(home.init(b"passphrase", "sam").unwrap());
        let held = home.open(b"passphrase", Duration::ZERO, |_| {}).unwrap();
        assert!(matches!(
            home.open(b"passphrase", Duration::ZERO, |_| {}),
            Err(Error::StoreBusy(_))
        ));
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let mut told = 0;
        let store = home.open(b"passphrase", Duration::from_secs(20), |_| told += 1);
        release.join().unwrap();
        assert!(
            store.is_ok(),
            "the second opener should get the store once it is free"
        );
        assert_eq!(told, 1, "the waiting person is told once");
    }

    /// A process killed while sled wrote a snapshot leaves `snap.*.generating`; sled 0.34 then
    /// refuses to open the store ("Read corrupted data"), as seen in CI's kill -9 test.
    #[test]
    fn a_store_with_a_half_written_snapshot_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let store = home.init(b"passphrase", "sam").unwrap();
        store.set_nickname("sam again").unwrap();
        store.flush().unwrap();
        drop(store);
        let torn = dir
            .path()
            .join("store")
            .join("snap.00000000001FFFFF.generating");
        fs::write(&torn, vec![0x5a; 3000]).unwrap();
        let store = home.open(b"passphrase", Duration::ZERO, |_| {}).unwrap();
        assert_eq!(
            store.nickname().unwrap().as_deref(),
            Some("sam again"),
            "nothing lost"
        );
        assert!(!torn.exists());
        assert_eq!(
            fs::read_dir(dir.path().join("torn-snapshots"))
                .unwrap()
                .count(),
            1,
            "kept aside"
        );
    }

    /// sled's snapshot files in `home`'s store.
    fn snapshots(home: &Home) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(home.store_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("snap."))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_node_stopped_cleanly_starts_without_reading_what_it_wrote_again() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        drop(home.init(b"passphrase", "sam").unwrap());
        let store = home.open(b"passphrase", Duration::ZERO, |_| {}).unwrap();
        for i in 0..200 {
            store.set_nickname(&format!("sam {i}")).unwrap();
        }
        store.flush().unwrap();
        drop(store);
        home.settle(Duration::from_secs(20)).unwrap();
        let settled = snapshots(&home);
        assert!(!settled.is_empty(), "settling wrote a snapshot");
        // The next start finds the snapshot current: sled replays no log and writes none.
        let store = home.open(b"passphrase", Duration::from_secs(20), |_| {});
        assert_eq!(
            store.unwrap().nickname().unwrap().as_deref(),
            Some("sam 199"),
            "nothing lost"
        );
        assert_eq!(
            snapshots(&home),
            settled,
            "the start after a clean stop had a log to replay"
        );
    }

    #[test]
    fn a_second_init_is_refused_and_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        drop(home.init(b"passphrase", "sam").unwrap());
        assert!(matches!(
            home.init(b"other", "kim"),
            Err(Error::AlreadyInitialized(_))
        ));
        let store = home.open(b"passphrase", Duration::ZERO, |_| {}).unwrap();
        assert_eq!(store.nickname().unwrap().as_deref(), Some("sam"));
    }
}
