//! `circle` in a shell: times in the reader's own zone, output into a pipe that closes early,
//! `--limit 0` with and without `--follow`.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use jiff::{Timestamp, tz::TimeZone};
use serde_json::Value;

use crate::util::{
    CIRCLE, COMMAND_TIMEOUT, DELIVERY_TIMEOUT, PASSPHRASE, Person, TUESDAY, eventually, text,
    tuesday_circle,
};

/// Two zones that are never UTC: one behind it (with daylight saving), one half an hour off.
const ZONES: [&str; 2] = ["America/New_York", "Asia/Kolkata"];

/// An RFC 3339 time as a person in `zone` should read it, in jiff's strftime `format`.
fn in_zone(at: &str, zone: &str, format: &str) -> String {
    let at: Timestamp = at
        .parse()
        .unwrap_or_else(|e| panic!("'{at}' is not a time: {e}"));
    let zoned = at.to_zoned(TimeZone::get(zone).expect("a known zone"));
    jiff::fmt::strtime::format(format, &zoned).expect("a valid format")
}

/// `circle --home <their home> <args>` as a bare command, for stories that wire its output
/// themselves.
fn bare(person: &Person, args: &[&str]) -> Command {
    let home = person.home();
    let mut command = Command::new(CIRCLE);
    command
        .arg("--home")
        .arg(&home)
        .args(args)
        .env("CIRCLE_PASSPHRASE", PASSPHRASE)
        .env("CIRCLE_TEST_KDF", "cheap")
        .env("HOME", home.parent().expect("the home is in a directory"))
        .env_remove("CIRCLE_HOME")
        .env_remove("CIRCLE_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("TZ")
        .stdin(Stdio::null());
    command
}

/// A child process killed when the story ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `circle <args>` with its standard output a pipe nobody reads any more (as in
/// `circle feed T | true`, once `true` has exited); returns how it ended and its stderr.
fn into_closed_pipe(person: &Person, args: &[&str]) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut child = bare(person, args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("can run circle");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let mut child = Reaped(child);
    let what = format!("`circle {}` into a closed pipe to end", args.join(" "));
    let status = eventually(COMMAND_TIMEOUT, &what, || {
        child.0.try_wait().expect("can wait")
    });
    let mut said = String::new();
    let _ = stderr.read_to_string(&mut said);
    (status, said)
}

/// Lines printed by a long-running command, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line `lines` brings for which `wanted` holds, within [`DELIVERY_TIMEOUT`]; every
/// line read on the way is kept in `seen`.
fn first_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if wanted(&line) {
                    return line;
                }
            }
            Err(_) => panic!("no {what} within {DELIVERY_TIMEOUT:?}; printed so far:\n{seen:#?}"),
        }
    }
}

#[test]
fn feed_and_check_in_times_are_in_the_readers_own_zone_not_utc() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Made it through Friday.");
    alice.ok(["checkin", TUESDAY, "--day", "4", "--note", "A calm day."]);
    let feed = alice.feed(TUESDAY);
    let shared = feed
        .iter()
        .find(|i| i["kind"] == "share")
        .expect("the share in the feed");
    let sent = text(&shared["sent_at"]);
    let view: Value = serde_json::from_str(&alice.circle(["--json", "checkins", TUESDAY]).ok())
        .expect("check-ins as JSON");
    let checked_in = text(&view["checkins"][0]["sent_at"]);

    for zone in ZONES {
        let shown = alice.circle(["feed", TUESDAY]).env("TZ", zone).ok();
        let local = in_zone(&sent, zone, "%Y-%m-%d %H:%M");
        assert!(
            shown.contains(&format!("[{local}] alice")),
            "in {zone} the share was sent at {local}, but the feed shows:\n{shown}"
        );
        let shown = alice.circle(["checkins", TUESDAY]).env("TZ", zone).ok();
        let local = in_zone(&checked_in, zone, "%Y-%m-%d %H:%M");
        assert!(
            shown.contains(&format!("[{local}] alice")),
            "in {zone} alice checked in at {local}, but check-ins show:\n{shown}"
        );
    }
}

#[test]
fn a_partners_last_check_in_and_a_meeting_reminder_say_which_zone_they_are_in() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    tuesday_circle(&alice, &[&bob]);
    alice.ok(["partner", "request", TUESDAY, "bob"]);
    eventually(DELIVERY_TIMEOUT, "bob to be asked", || {
        let partners = bob.circle(["--json", "partners", TUESDAY]).json_lines();
        (partners.len() == 1 && partners[0]["state"] == "asked-you").then_some(())
    });
    bob.ok(["partner", "accept", TUESDAY, "alice"]);
    bob.ok(["checkin", TUESDAY, "--day", "3"]);
    let last = eventually(DELIVERY_TIMEOUT, "alice to see bob's check-in", || {
        let partners = alice.circle(["--json", "partners", TUESDAY]).json_lines();
        partners
            .first()
            .filter(|p| p["state"] == "partner")
            .and_then(|p| p["last_checkin"].as_str().map(str::to_string))
    });
    let shown = alice
        .circle(["partners", TUESDAY])
        .env("TZ", "Asia/Kolkata")
        .ok();
    let local = in_zone(&last, "Asia/Kolkata", "%Y-%m-%d %H:%M IST");
    assert!(
        shown.contains(&format!("last check-in {local}")),
        "bob checked in at {local} for alice in India, but she reads:\n{shown}"
    );

    // alice follows the feed in New York; her node (and bob's) run in the machine's zone.
    let mut follower = bare(&alice, &["feed", TUESDAY, "--follow"])
        .env("TZ", "America/New_York")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("can follow the feed");
    let lines = lines_of(&mut follower);
    let _follower = Reaped(follower);
    let mut seen = Vec::new();
    first_line(&lines, &mut seen, "feed so far", |l| l.contains("alice"));
    // The follower opens the event stream once it has printed the feed so far.
    thread::sleep(Duration::from_secs(2));
    let starts = Timestamp::now() + jiff::SignedDuration::from_mins(6);
    let utc = starts.to_zoned(TimeZone::UTC);
    bob.ok([
        "meeting",
        "add",
        TUESDAY,
        "Quick check-in",
        "--on",
        &utc.strftime("%Y-%m-%d").to_string(),
        "--at",
        &utc.strftime("%H:%M").to_string(),
        "--tz",
        "UTC",
    ]);
    let reminder = first_line(&lines, &mut seen, "reminder", |l| {
        l.starts_with("-- reminder:")
    });
    // The meeting starts on the minute bob typed.
    let start = utc.strftime("%Y-%m-%dT%H:%M:00Z").to_string();
    let local = in_zone(&start, "America/New_York", "%a %-d %b %H:%M %Z");
    assert!(
        reminder.contains(&format!("starts at {local}")),
        "the meeting starts at {local} in New York, but alice's reminder says:\n{reminder}"
    );
}

#[test]
fn a_feed_into_a_pipe_that_closed_early_ends_quietly_not_with_a_panic() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    for n in 1..=3 {
        alice.share(TUESDAY, &format!("Share number {n}."));
    }
    for args in [
        &["feed", TUESDAY][..],
        &["status"],
        &["--json", "feed", TUESDAY],
    ] {
        let (status, said) = into_closed_pipe(&alice, args);
        assert!(
            status.success() && !said.contains("panicked"),
            "`circle {}` into a closed pipe should end quietly with 0, not {status}:\n{said}",
            args.join(" ")
        );
    }
}

#[test]
fn following_a_feed_into_a_pipe_that_closed_early_stops_quietly() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Something to print first.");
    let (status, said) = into_closed_pipe(&alice, &["feed", TUESDAY, "--follow"]);
    assert!(
        status.success() && !said.contains("panicked"),
        "`feed --follow` into a closed pipe should stop quietly with 0, not {status}:\n{said}"
    );
}

#[test]
fn feed_limit_0_shows_none_of_the_history_and_following_shows_only_new_messages() {
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.share(TUESDAY, "Written before anyone followed.");
    let shown = alice.ok(["feed", TUESDAY, "--limit", "0"]);
    assert_eq!(shown, "", "`feed --limit 0` shows none of the history");

    let mut follower = bare(
        &alice,
        &["--json", "feed", TUESDAY, "--follow", "--limit", "0"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("can follow the feed");
    let lines = lines_of(&mut follower);
    let _follower = Reaped(follower);
    // The follower may not have read its (empty) first page yet: share until it prints one.
    let mut seen = Vec::new();
    let mut n = 0;
    let first = eventually(DELIVERY_TIMEOUT, "the follower to print a message", || {
        n += 1;
        alice.share(TUESDAY, &format!("New message {n}."));
        let line = lines.recv_timeout(Duration::from_secs(2)).ok()?;
        seen.push(line.clone());
        Some(line)
    });
    let item: Value = serde_json::from_str(&first).expect("a JSON item");
    assert!(
        text(&item["text"]).starts_with("New message"),
        "with --limit 0 the follower prints only what arrives, but it printed first:\n{first}"
    );
}

#[test]
fn a_reach_out_is_announced_in_the_terminal_of_circle_up() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    tuesday_circle(&alice, &[&bob]);
    bob.ok(["reach-out", TUESDAY, "I need someone.", "--yes"]);
    let line = eventually(
        DELIVERY_TIMEOUT,
        "alice's `circle up` to announce bob's reach-out",
        || {
            alice
                .node_output()
                .lines()
                .find(|l| l.starts_with("!! "))
                .map(str::to_string)
        },
    );
    assert!(
        line.contains("someone in 'Tuesday circle' is reaching out")
            && line.contains("`circle reach-outs 'Tuesday circle'`"),
        "alice's node should say where someone reaches out and what to run: {line}"
    );
    assert!(
        !line.contains("I need someone"),
        "the notice tells what to run; the words are for `circle reach-outs`: {line}"
    );
}

#[test]
fn a_sponsors_number_is_added_to_988_and_911_and_reach_out_shows_the_same_lines_with_the_node_off()
{
    let mut alice = Person::init("alice");
    alice.up();
    alice.create(TUESDAY);
    alice.ok(["crisis-lines", "--country", "US"]);
    let shown = alice.ok(["crisis-lines", "--add", "Sponsor: +1 555 0111"]);
    for line in [
        "Sponsor: +1 555 0111",
        "call or text 988",
        "Emergency services: 911",
    ] {
        assert!(
            shown.contains(line),
            "her own line comes with the country's, never instead: {line} missing from\n{shown}"
        );
    }
    let error = alice.fails(["crisis-lines", "--country", "ZZ"]);
    assert!(
        error.contains("'ZZ' is not a country code") && error.contains("GB, GR"),
        "an unknown country is refused with the known ones listed: {error}"
    );
    let shown = alice.ok(["crisis-lines", "--reset"]);
    assert!(
        shown.starts_with("Crisis lines (US):")
            && shown.contains("988")
            && !shown.contains("Sponsor"),
        "--reset forgets her own lines, not her country:\n{shown}"
    );
    alice.ok(["crisis-lines", "--add", "Sponsor: +1 555 0111"]);

    // Reaching out shows the crisis lines whatever else happens: the same with the node on ...
    let with_node = alice
        .circle(["reach-out", TUESDAY])
        .env("LANG", "en_GB.UTF-8")
        .run();
    let lines_on = with_node.stdout.clone();
    assert!(
        lines_on.contains("Sponsor: +1 555 0111") && lines_on.contains("911"),
        "{lines_on}"
    );
    // ... and off, even where the machine's locale names another country.
    alice.stop();
    let without_node = alice
        .circle(["reach-out", TUESDAY, "--yes"])
        .env("LANG", "en_GB.UTF-8")
        .run();
    assert!(
        without_node.status.success(),
        "a reach-out is saved with the node off: {}",
        without_node.stderr
    );
    assert!(
        without_node.stdout.starts_with(&lines_on)
            && without_node.stdout.contains("nobody has been told yet"),
        "reach-out shows the same lines with the node off, and says it waits for the node:\n{}",
        without_node.stdout
    );
    let shown = alice.ok(["crisis-lines"]);
    assert!(
        shown.contains("Sponsor") && shown.contains("988"),
        "{shown}"
    );
}

#[test]
fn a_typo_in_a_command_gets_a_did_you_mean() {
    let alice = Person::init("alice");
    let error = alice.fails(["shar", TUESDAY, "hello"]);
    assert_eq!(
        error,
        "error: unrecognized subcommand 'shar' (did you mean 'share'?)"
    );
    let error = alice.fails(["feed", TUESDAY, "--limt", "3"]);
    assert!(
        error.contains("(did you mean '--limit'?)"),
        "a mistyped option gets its tip too: {error}"
    );
}

#[test]
fn a_share_too_long_is_measured_in_characters_not_bytes() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    // 4096 characters of Devanagari are 12 288 bytes: allowed, as 4096 ASCII ones are.
    let hindi = "न".repeat(4096);
    alice
        .circle(["share", TUESDAY, "-"])
        .stdin(hindi.clone())
        .ok();
    let error = alice
        .circle(["share", TUESDAY, "-"])
        .stdin(format!("{hindi}न"))
        .fails();
    assert!(
        error.contains("at most 4096 characters (this one has 4097)"),
        "{error}"
    );
    let error = alice.fails(["goal", "add", TUESDAY, &"é".repeat(1025)]);
    assert!(error.contains("at most 1024 characters"), "{error}");
}

#[test]
fn doctor_on_a_fresh_laptop_finds_nothing_to_fix_and_names_no_repository_file() {
    let mut alice = Person::init("alice");
    // Listening on every interface, as `circle up` does by default (port 0: any free one).
    alice.up_with(&["--listen", "/ip4/0.0.0.0/tcp/0"]);
    let said = alice.ok(["doctor"]);
    assert!(
        !said.contains("!!") && said.ends_with("Nothing to fix."),
        "a working node is not a list of warnings:\n{said}"
    );
    assert!(
        !said.contains("docs/") && !said.contains(".md") && !said.contains("/ip4/"),
        "doctor speaks in words, not files or addresses:\n{said}"
    );
    let json: Value = serde_json::from_str(&alice.ok(["--json", "doctor"])).expect("JSON");
    assert_eq!(json["problems"], serde_json::json!([]), "{json}");
}

#[test]
fn joining_while_the_inviter_is_offline_says_what_to_do_in_words_not_libp2p_ones() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    alice.create(TUESDAY);
    let invite = alice.invite(TUESDAY, &[]);
    alice.stop();
    let error = bob.fails(["join", &invite, "--yes"]);
    assert!(
        error.contains("could not reach the inviter's node") && error.contains("circle up"),
        "{error}"
    );
    for jargon in [
        "Failed to dial",
        "peer",
        "Connection was closed",
        "multiaddr",
    ] {
        assert!(!error.contains(jargon), "no libp2p words: {error}");
    }
}

#[test]
fn completions_come_for_every_shell_and_help_shows_examples() {
    let alice = Person::new("alice");
    for (shell, sign) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef circle"),
        ("fish", "complete -c circle"),
        ("elvish", "edit:completion:arg-completer[circle]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = alice.ok(["completions", shell]);
        assert!(
            script.contains(sign) && script.contains("reach-out"),
            "`circle completions {shell}` should print a {shell} script for every command"
        );
    }
    for command in [
        "init",
        "up",
        "create",
        "invite",
        "join",
        "share",
        "feed",
        "checkin",
        "reach-out",
        "status",
    ] {
        let help = alice.ok([command, "--help"]);
        assert!(
            help.contains("Examples:") && help.contains(&format!("circle {command}")),
            "`circle {command} --help` should end with examples:\n{help}"
        );
    }
}

#[test]
fn policy_without_a_flag_shows_who_may_invite() {
    let alice = Person::init("alice");
    alice.create(TUESDAY);
    let shown = alice.ok(["policy", TUESDAY]);
    assert!(
        shown.starts_with("Only admins can invite people to 'Tuesday circle'"),
        "{shown}"
    );
    alice.ok(["policy", TUESDAY, "--invites", "members"]);
    let shown = alice.ok(["policy", TUESDAY]);
    assert!(
        shown.starts_with("Every member of 'Tuesday circle' can invite people"),
        "{shown}"
    );
}

#[test]
fn a_goal_for_me_stays_on_this_node_and_is_marked_only_you() {
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    tuesday_circle(&alice, &[&bob]);
    let set = alice.ok(["goal", "add", TUESDAY, "Call my sister", "--to", "me"]);
    assert!(set.contains("Only you"), "{set}");
    // Kept sealed at rest, like every private record.
    for file in alice.files() {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(14).any(|w| w == b"Call my sister"),
            "{} holds the goal in the clear",
            file.display()
        );
    }
    alice.ok(["goal", "add", TUESDAY, "Go to two meetings"]);
    let goals = alice.ok(["goals", TUESDAY]);
    let mine = goals
        .lines()
        .find(|l| l.contains("Call my sister"))
        .unwrap_or_else(|| panic!("alice sees her own goal:\n{goals}"));
    assert!(mine.ends_with("(only you)"), "{mine}");
    // bob gets the goal for the circle, and never the one alice kept to herself.
    eventually(DELIVERY_TIMEOUT, "bob to see the circle's goal", || {
        let goals = bob.ok(["goals", TUESDAY]);
        goals.contains("Go to two meetings").then_some(())
    });
    let everything = format!(
        "{}\n{}",
        bob.ok(["goals", TUESDAY]),
        bob.circle(["--json", "feed", TUESDAY]).ok()
    );
    assert!(!everything.contains("Call my sister"), "{everything}");

    let id = mine
        .strip_prefix('#')
        .and_then(|l| l.split_whitespace().next())
        .expect("the goal's short id");
    let said = alice.ok(["goal", "done", id]);
    assert!(said.starts_with("Well done!"), "{said}");
    let goals = alice.ok(["goals", TUESDAY]);
    assert!(
        goals
            .lines()
            .any(|l| l.contains("Call my sister") && l.contains("✓ done")),
        "{goals}"
    );
}
