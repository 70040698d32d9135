//! Your circle keeps your backup, through the real binary: alice leaves her backup with her
//! circle's home server (`circle backup FILE --to-circle`), the home server lists it
//! (`circle relay backups`), and on a new computer `circle restore --from-circle` (an invite
//! token of the circle, or the home server's address) brings her circles back with the
//! recovery phrase alone.

mod util;

use util::{DELIVERY_TIMEOUT, Person, TUESDAY, eventually, text, tuesday_circle};

/// A valid recovery phrase that is nobody's here.
const SOMEONE_ELSES: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
    abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
    abandon abandon abandon abandon art";

#[test]
fn alice_restores_from_her_circles_home_server_with_her_recovery_phrase_alone() {
    let mut home = Person::init_as("home", "sams-home-server");
    let mut alice = Person::init("alice");
    home.up_with(&["--relay", "--sync-every", "2s"]);
    alice.up();
    tuesday_circle(&home, &[&alice]);
    alice.share(TUESDAY, "Day 90 today.");
    let phrase = alice.ok(["recovery", "show"]);
    let file = alice.home().with_extension("cbk");
    let file = file.to_str().unwrap();

    // Her node leaves it once it knows the home server (identify runs on connecting).
    let left = eventually(
        DELIVERY_TIMEOUT,
        "the home server keeps alice's backup",
        || {
            let run = alice.circle(["backup", file, "--to-circle", TUESDAY]).run();
            if run.status.success() {
                return Some(run.stdout);
            }
            assert!(run.stderr.contains("no home server"), "{}", run.stderr);
            None
        },
    );
    assert!(left.contains("1 of 1 home servers"), "{left}");

    let kept = home.ok(["relay", "backups"]);
    assert!(kept.contains("alice"), "{kept}");
    assert!(kept.contains(TUESDAY), "{kept}");

    // A new computer: nothing but the phrase and an invite of the circle (made on the home
    // server: it names the home server's address).
    let address = text(&home.status()["listen"][0]);
    let token = home.invite(TUESDAY, &[]);
    let mut laptop = Person::new("alice-laptop");
    let restored = laptop
        .circle(["restore", "--from-circle", &token])
        .env("CIRCLE_RECOVERY_PHRASE", &phrase)
        .ok();
    assert!(restored.contains("restored 1 circle into"), "{restored}");
    assert_eq!(laptop.peer_id(), alice.peer_id(), "the same node, back");
    let feed = laptop.feed(TUESDAY);
    assert!(
        feed.iter().any(|i| text(&i["text"]) == "Day 90 today."),
        "{feed:?}"
    );
    drop(laptop.up());

    // Someone else's phrase gets nothing, and leaves no home behind.
    let stranger = Person::new("stranger");
    let refused = stranger
        .circle(["restore", "--from-circle", &address])
        .env("CIRCLE_RECOVERY_PHRASE", SOMEONE_ELSES)
        .fails();
    assert!(
        refused.contains("keeps no backup for this recovery phrase"),
        "{refused}"
    );
    assert!(!stranger.home().join("store").exists());

    // The home server drops it; then even alice's phrase gets nothing from it.
    let dropped = home.ok(["relay", "backups", "drop", "alice"]);
    assert!(dropped.contains("alice"), "{dropped}");
    assert!(home.ok(["relay", "backups"]).is_empty());
    let again = Person::new("alice-again");
    let refused = again
        .circle(["restore", "--from-circle", &address])
        .env("CIRCLE_RECOVERY_PHRASE", &phrase)
        .fails();
    assert!(
        refused.contains("keeps no backup for this recovery phrase"),
        "{refused}"
    );
}

#[test]
fn automatic_backups_are_left_with_the_circles_home_server_as_they_are_written() {
    let mut home = Person::init_as("home", "sams-home-server");
    let mut alice = Person::init("alice");
    home.up_with(&["--relay", "--sync-every", "2s"]);
    alice.up();
    tuesday_circle(&home, &[&alice]);
    alice.stop();
    assert!(home.ok(["relay", "backups"]).is_empty());

    // Every two seconds a backup, each left with the home server once it is connected.
    let dir = alice.home().with_extension("backups");
    let dir = dir.to_str().unwrap();
    alice.up_with(&[
        "--backup-every",
        "2s",
        "--backup-dir",
        dir,
        "--backup-to-circle",
        TUESDAY,
    ]);
    let kept = eventually(
        DELIVERY_TIMEOUT,
        "the home server keeps alice's automatic backup",
        || {
            let kept = home.ok(["relay", "backups"]);
            kept.contains("alice").then_some(kept)
        },
    );
    assert!(kept.contains(TUESDAY), "{kept}");
    assert!(
        std::fs::read_dir(dir).unwrap().count() >= 1,
        "the backups are in {dir} too"
    );
}
