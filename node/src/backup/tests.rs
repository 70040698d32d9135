use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use super::*;

const PASSPHRASE: &str = "tests only: a long enough passphrase";

fn new_home(dir: &Path, name: &str) -> (Home, Store) {
    let home = Home::new(dir.join(name));
    let store = home.init(PASSPHRASE.as_bytes(), "sam").unwrap();
    (home, store)
}

/// Two trees written in order, a then b, and a big tree read between them: a backup that is
/// the store at one moment never holds in b what a lacks.
#[test]
fn a_backup_taken_while_the_node_writes_is_the_store_at_one_moment() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = new_home(dir.path(), "home");
    let db = store.raw_db().clone();
    let (a, middle, b) = (
        db.open_tree("test-a").unwrap(),
        db.open_tree("test-m").unwrap(),
        db.open_tree("test-b").unwrap(),
    );
    for i in 0u32..30_000 {
        middle.insert(i.to_be_bytes(), vec![7u8; 100]).unwrap();
    }
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let writing = writing.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let mut i = 0u32;
            while start.elapsed() < Duration::from_millis(600) {
                a.insert(i.to_be_bytes(), &[1]).unwrap();
                b.insert(i.to_be_bytes(), &[1]).unwrap();
                i += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            writing.store(false, Ordering::SeqCst);
        })
    };
    while a_len(&db) < 10 {
        std::thread::yield_now();
    }
    assert!(
        writing.load(Ordering::SeqCst),
        "the backup starts while writes go on"
    );
    let file = dir.path().join("backup.cbk");
    write(&store, &file, |_| {}).unwrap();
    writer.join().unwrap();

    let restored = restored_from(&store, &file, dir.path());
    let db = restored.raw_db();
    let (a, b) = (
        db.open_tree("test-a").unwrap(),
        db.open_tree("test-b").unwrap(),
    );
    for key in b.iter().keys() {
        assert!(
            a.contains_key(key.unwrap()).unwrap(),
            "b holds what a lacks: half a write"
        );
    }
    assert!(a.len() - b.len() <= 1, "{} and {}", a.len(), b.len());
    assert_eq!(db.open_tree("test-m").unwrap().len(), 30_000);
}

/// `file`, a backup of `store`, restored with its phrase into `dir/restored` and opened.
fn restored_from(store: &Store, file: &Path, dir: &Path) -> Store {
    let phrase = store.recovery_phrase().unwrap().unwrap();
    let home = Home::new(dir.join("restored"));
    restore(file, &phrase, &home, PASSPHRASE, |_| {}).unwrap();
    home.open(PASSPHRASE.as_bytes(), Duration::from_secs(10), |_| {})
        .unwrap()
}

fn a_len(db: &sled::Db) -> usize {
    db.open_tree("test-a").unwrap().len()
}

#[test]
fn a_restore_keeps_the_node_key_and_seals_the_store_under_the_new_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = new_home(dir.path(), "home");
    let node_key = store.node_key().unwrap();
    let file = dir.path().join("backup.cbk");
    let info = write(&store, &file, |_| {}).unwrap();
    assert_eq!(last(&store).unwrap().unwrap().bytes, info.bytes);
    let phrase = store.recovery_phrase().unwrap().unwrap();
    let home = Home::new(dir.path().join("restored"));
    let new = "tests only: another long passphrase";
    assert!(restore(&file, &phrase, &home, "short", |_| {}).is_err());
    restore(&file, &phrase, &home, new, |_| {}).unwrap();
    assert!(home.dir().join(CATCHING_UP_FILE).exists());
    assert!(matches!(
        home.open(PASSPHRASE.as_bytes(), Duration::from_secs(10), |_| {}),
        Err(Error::WrongPassphrase)
    ));
    let restored = home
        .open(new.as_bytes(), Duration::from_secs(10), |_| {})
        .unwrap();
    assert_eq!(*restored.node_key().unwrap(), *node_key);
    assert_eq!(
        *restored.recovery_phrase().unwrap().unwrap().to_bytes(),
        *phrase.to_bytes()
    );
}

#[test]
fn a_home_made_before_recovery_phrases_gets_one_on_first_unlock_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let (home, store) = new_home(dir.path(), "home");
    assert!(
        !store.take_recovery_notice().unwrap(),
        "a new home's phrase was shown at init"
    );
    store
        .raw_db()
        .open_tree("meta")
        .unwrap()
        .remove("recovery")
        .unwrap();
    store.flush().unwrap();
    drop(store);
    let store = home
        .open(PASSPHRASE.as_bytes(), Duration::from_secs(10), |_| {})
        .unwrap();
    let phrase = store
        .recovery_phrase()
        .unwrap()
        .expect("a phrase, made now");
    assert!(store.take_recovery_notice().unwrap(), "told once");
    assert!(!store.take_recovery_notice().unwrap(), "and only once");
    drop(store);
    let store = home
        .open(PASSPHRASE.as_bytes(), Duration::from_secs(10), |_| {})
        .unwrap();
    assert_eq!(
        *store.recovery_phrase().unwrap().unwrap().to_bytes(),
        *phrase.to_bytes(),
        "the same phrase from then on"
    );
}

/// A restore writes the records into a fresh database, whose id counter starts again: what the
/// restored node numbers next (an arrival, a private record) must never take the place of a
/// record it holds, which would hide that one for good.
#[test]
fn what_a_restored_node_numbers_next_never_takes_the_place_of_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = new_home(dir.path(), "home");
    let circle = circle_crypto::CircleId::random();
    for i in 0u32..20 {
        store.add_private_entry(&circle, &i).unwrap();
    }
    let file = dir.path().join("backup.cbk");
    write(&store, &file, |_| {}).unwrap();
    let restored = restored_from(&store, &file, dir.path());
    for i in 20u32..40 {
        restored.add_private_entry(&circle, &i).unwrap();
    }
    let held: Vec<u32> = restored.private_entries(&circle).unwrap();
    assert_eq!(held, (0..40).collect::<Vec<_>>(), "every record, in order");
}
