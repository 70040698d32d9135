//! The recovery phrase, backups and restore, through the real binary: a person backs up while
//! their node runs and messages arrive, restores on a new machine with the phrase alone, and
//! every wrong, damaged, foreign or newer file is refused with one line, leaving nothing.

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use util::{DELIVERY_TIMEOUT, PASSPHRASE, Person, TUESDAY, eventually, shares, tuesday_circle};

/// A passphrase chosen on the new machine.
const NEW_PASSPHRASE: &str = "cli tests: a new laptop, eleven amber kites";

/// The 24 words `circle init` printed (its whole stdout).
fn init_with_phrase(name: &'static str) -> (Person, String) {
    let person = Person::new(name);
    let phrase = person.ok(["init", "--name", name]);
    assert_eq!(
        phrase.split(' ').count(),
        24,
        "init prints the 24 words alone on stdout: {phrase}"
    );
    (person, phrase)
}

/// A file next to `person`'s home (outside it).
fn beside(person: &Person, name: &str) -> PathBuf {
    person.home().with_file_name(name)
}

fn backup(person: &Person, file: &Path) -> String {
    person.ok(["backup".as_ref(), file.as_os_str()])
}

/// `restore FILE` into `person`'s (new) home with `phrase` and [`PASSPHRASE`]: whether it
/// succeeded, and its stderr.
fn restore(person: &Person, file: &Path, phrase: &str) -> (bool, String) {
    let run = person
        .circle(["restore".as_ref(), file.as_os_str()])
        .env("CIRCLE_RECOVERY_PHRASE", phrase)
        .run();
    (run.status.success(), run.stderr)
}

/// Nothing of a restore is left next to the home, and no home either.
fn nothing_left(person: &Person) {
    assert!(!person.home().exists(), "no home is left behind");
    let parent = person.home().parent().unwrap().to_path_buf();
    for entry in std::fs::read_dir(parent).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains("restoring"),
            "a half-restored directory is left: {name}"
        );
    }
}

fn json(person: &Person, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&person.ok(all)).expect("json")
}

#[test]
fn the_phrase_is_shown_once_at_init_and_again_only_after_the_passphrase() {
    let (mut alice, phrase) = init_with_phrase("alice");
    assert_eq!(
        alice.ok(["recovery", "show"]),
        phrase,
        "with the node stopped"
    );
    alice.up();
    assert_eq!(
        alice.ok(["recovery", "show"]),
        phrase,
        "with the node running"
    );
    let error = alice
        .circle(["recovery", "show"])
        .passphrase("not the passphrase of this node at all")
        .fails();
    assert!(error.contains("passphrase does not open"), "{error}");
    alice.stop();
    let error = alice
        .circle(["recovery", "show"])
        .passphrase("not the passphrase of this node at all")
        .fails();
    assert!(error.contains("passphrase does not open"), "{error}");
}

#[test]
fn a_backup_made_while_messages_arrive_restores_every_circle_message_clock_and_setting() {
    let (mut alice, phrase) = init_with_phrase("alice");
    let mut bob = Person::init("bob");
    let alice_id = alice.up();
    bob.up();
    let circle = tuesday_circle(&alice, &[&bob]);
    alice.ok([
        "clock",
        "start",
        "sober",
        "--since",
        "2026-01-02",
        "--tz",
        "UTC",
    ]);
    alice.ok([
        "crisis-lines",
        "--country",
        "GB",
        "--add",
        "My sponsor: +44 7700 900123",
    ]);
    for n in 0..5 {
        alice.share(TUESDAY, &format!("before the backup {n}"));
    }
    bob.feed_when(&circle, "alice's shares", |feed| shares(feed).len() == 5);

    // bob keeps writing while alice backs up.
    let bobs = bob.terminal();
    let writer = std::thread::spawn(move || {
        for n in 0..20 {
            bobs.circle(["share", TUESDAY, &format!("while backing up {n}")])
                .ok();
        }
    });
    let file = beside(&alice, "alice.cbk");
    let said = backup(&alice, &file);
    assert!(said.starts_with("backed up 1 circle,"), "{said}");
    writer.join().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup is its owner's alone");
    }
    assert!(!beside(&alice, "alice.cbk.partial").exists());

    let before_restore = alice.feed(&circle);
    let clocks = json(&alice, &["clock", "list"]);
    let lines = json(&alice, &["crisis-lines"]);
    let circles = alice.circles();

    // A new laptop: the file and the phrase are all alice brings.
    let laptop = Person::new("alice");
    let (ok, stderr) = restore(&laptop, &file, &phrase);
    assert!(ok, "{stderr}");
    assert!(laptop.home().join("catching-up").exists());
    assert_eq!(laptop.peer_id(), alice_id, "the node keeps its peer id");
    assert_eq!(
        laptop.circles(),
        circles,
        "the same circles, the same member keys"
    );
    assert_eq!(json(&laptop, &["clock", "list"]), clocks);
    assert_eq!(json(&laptop, &["crisis-lines"]), lines);
    let restored = shares(&laptop.feed(&circle));
    for n in 0..5 {
        let text = format!("before the backup {n}");
        assert!(
            restored.iter().any(|(_, t)| *t == text),
            "'{text}' is restored: {restored:?}"
        );
    }
    let everything = shares(&before_restore);
    for share in &restored {
        assert!(everything.contains(share), "{share:?} was never written");
    }
    assert_eq!(laptop.ok(["recovery", "show"]), phrase, "the same phrase");
    // The backup checks out too, with the phrase from a file.
    let phrase_file = beside(&alice, "phrase.txt");
    std::fs::write(&phrase_file, format!("{phrase}\n")).unwrap();
    let said = alice.ok([
        "backup".as_ref(),
        "--check".as_ref(),
        file.as_os_str(),
        "--phrase-file".as_ref(),
        phrase_file.as_os_str(),
    ]);
    assert!(said.starts_with("the backup restores"), "{said}");
    eventually(DELIVERY_TIMEOUT, "bob's last share at alice's", || {
        shares(&alice.feed(&circle)).len().eq(&25).then_some(())
    });
}

#[test]
fn a_wrong_phrase_a_damaged_file_a_newer_format_and_a_truncated_file_are_refused_and_leave_no_home()
{
    let (alice, phrase) = init_with_phrase("alice");
    alice.create(TUESDAY);
    for n in 0..300 {
        alice.share(
            TUESDAY,
            &format!(
                "a share long enough to fill several chunks, number {n}, {}",
                "x".repeat(200)
            ),
        );
    }
    let file = beside(&alice, "alice.cbk");
    backup(&alice, &file);
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.len() > 2 * 64 * 1024,
        "several chunks: {}",
        bytes.len()
    );
    let laptop = Person::new("laptop");

    let (_, other_phrase) = init_with_phrase("mallory");
    let run = restore(&laptop, &file, &other_phrase);
    assert!(!run.0);
    assert!(
        run.1.contains("recovery phrase does not open this backup"),
        "{}",
        run.1
    );
    nothing_left(&laptop);

    let mut misspelt: Vec<&str> = phrase.split(' ').collect();
    misspelt[3] = "circlez";
    let run = restore(&laptop, &file, &misspelt.join(" "));
    assert!(run.1.contains("word 4"), "{}", run.1);
    nothing_left(&laptop);

    let mut damaged = bytes.clone();
    let middle = bytes.len() / 2;
    damaged[middle] ^= 0x01;
    let damaged_file = beside(&alice, "damaged.cbk");
    std::fs::write(&damaged_file, &damaged).unwrap();
    let run = restore(&laptop, &damaged_file, &phrase);
    assert!(run.1.contains("damaged or incomplete"), "{}", run.1);
    nothing_left(&laptop);

    let truncated_file = beside(&alice, "truncated.cbk");
    std::fs::write(&truncated_file, &bytes[..bytes.len() - 100]).unwrap();
    let run = restore(&laptop, &truncated_file, &phrase);
    assert!(run.1.contains("damaged or incomplete"), "{}", run.1);
    nothing_left(&laptop);
    let error = alice
        .circle([
            "backup".as_ref(),
            "--check".as_ref(),
            truncated_file.as_os_str(),
        ])
        .env("CIRCLE_RECOVERY_PHRASE", &phrase)
        .fails();
    assert!(error.contains("damaged or incomplete"), "{error}");

    let newer_file = beside(&alice, "newer.cbk");
    let text = String::from_utf8_lossy(&bytes[..200]).into_owned();
    let at = text
        .find("\"format\":1")
        .expect("the header names its format");
    let mut newer = bytes.clone();
    newer[at + 9] = b'2';
    std::fs::write(&newer_file, &newer).unwrap();
    let run = restore(&laptop, &newer_file, &phrase);
    assert!(run.1.contains("newer version of circle"), "{}", run.1);
    nothing_left(&laptop);

    let foreign_file = beside(&alice, "foreign.cbk");
    std::fs::write(&foreign_file, b"PK\x03\x04 a zip file, not a backup").unwrap();
    let run = restore(&laptop, &foreign_file, &phrase);
    assert!(run.1.contains("not a circle backup"), "{}", run.1);
    nothing_left(&laptop);

    // Each refusal is one line.
    let error = laptop
        .circle(["restore".as_ref(), damaged_file.as_os_str()])
        .env("CIRCLE_RECOVERY_PHRASE", &phrase)
        .fails();
    assert!(error.contains("damaged"), "{error}");

    // The good file restores, under the new passphrase only.
    let run = laptop
        .circle(["restore".as_ref(), file.as_os_str()])
        .env("CIRCLE_RECOVERY_PHRASE", &phrase)
        .passphrase(NEW_PASSPHRASE)
        .run();
    assert!(run.status.success(), "{}", run.stderr);
    let error = laptop.fails(["circles"]);
    assert!(error.contains("passphrase does not open"), "{error}");
    let feed = laptop
        .circle(["--json", "feed", TUESDAY, "--limit", "1000"])
        .passphrase(NEW_PASSPHRASE)
        .json_lines();
    assert_eq!(shares(&feed).len(), 300);
    // And a home that exists is never overwritten.
    let error = alice
        .circle(["restore".as_ref(), file.as_os_str()])
        .env("CIRCLE_RECOVERY_PHRASE", &phrase)
        .fails();
    assert!(error.contains("already set up"), "{error}");
}

#[test]
fn a_backup_file_holds_nothing_in_plaintext() {
    let (mut alice, phrase) = init_with_phrase("alice");
    let mut bob = Person::init_as("bob", "Juniper Thistlewood");
    alice.up();
    bob.up();
    let circle_name = "Quokka Lantern Fellowship";
    let circle = alice.create(circle_name);
    let invite = alice.invite(circle_name, &[]);
    bob.join(&invite);
    let secrets = [
        "Juniper Thistlewood",
        circle_name,
        "I drank again on Saturday and told nobody but Zebediah",
        "Nine months clean today, ask me about the orange cat",
        PASSPHRASE,
    ];
    alice.share(circle_name, secrets[2]);
    bob.share(circle_name, secrets[3]);
    alice.feed_when(&circle, "both shares", |feed| shares(feed).len() == 2);
    alice.ok([
        "clock",
        "start",
        "Zebediah-free days",
        "--since",
        "2026-01-02",
    ]);
    let file = beside(&alice, "alice.cbk");
    backup(&alice, &file);

    let bytes = std::fs::read(&file).unwrap();
    let mut needles: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    needles.push(invite);
    needles.push(alice.peer_id());
    needles.push(bob.peer_id());
    needles.push(circle.clone());
    needles.push("Zebediah-free".into());
    // The phrase, whole or any of its rarer words, is never in the file.
    needles.push(phrase.clone());
    for needle in &needles {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the backup holds '{needle}' in plaintext"
        );
    }
}

#[test]
fn automatic_backups_come_on_schedule_keep_the_newest_and_show_in_status() {
    let mut alice = Person::init("alice");
    let dir = beside(&alice, "backups");
    let dir_text = dir.to_str().unwrap().to_string();
    alice.up_with(&[
        "--backup-every",
        "2s",
        "--backup-dir",
        &dir_text,
        "--keep",
        "2",
    ]);
    alice.create(TUESDAY);
    let files = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".cbk"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    // At least three made (the first at once, then every 2 s), two kept.
    let mut seen = std::collections::BTreeSet::new();
    eventually(DELIVERY_TIMEOUT, "three automatic backups", || {
        seen.extend(files(&dir));
        (seen.len() >= 3).then_some(())
    });
    eventually(DELIVERY_TIMEOUT, "only the newest two kept", || {
        (files(&dir).len() == 2).then_some(())
    });
    let kept = files(&dir);
    assert!(
        kept.iter().all(|n| n.starts_with("circle-backup-")),
        "{kept:?}"
    );

    let status = alice.status();
    let last = &status["last_backup"];
    let path = last["path"].as_str().expect("a last backup in the status");
    assert!(path.starts_with(dir.to_str().unwrap()), "{status}");
    assert!(last["bytes"].as_u64().unwrap() > 0, "{status}");
    let said = alice.ok(["status"]);
    assert!(
        said.lines()
            .any(|l| l.starts_with("backup:    last ") && l.contains("circle-backup-")),
        "{said}"
    );
    alice.stop();
    let said = alice.ok(["status"]);
    assert!(
        said.contains("backup:    last "),
        "with the node stopped too: {said}"
    );
    let error = alice.fails(["up", "--backup-every", "2s", "--keep", "0"]);
    assert!(error.contains("keep at least 1"), "{error}");
}
