//! Crash stories: `circle` killed without warning (SIGKILL) in the middle of its work.
//!
//! The promise under test: what the CLI reports as sent (exit 0 with a message id) is on disk;
//! a kill -9 at any moment loses none of it, and the store opens cleanly afterwards. alice's
//! second terminal shares numbered notes one after another while the story kills her node, or
//! the `circle share` (and `circle init`) processes themselves, at moments spread over their
//! work. Every wait is under a timeout, and every process is killed when its owner goes out of
//! scope.
#![cfg(unix)] // the kills are SIGKILL

mod util;

use std::{
    collections::{BTreeMap, BTreeSet},
    os::unix::process::ExitStatusExt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use util::{DELIVERY_TIMEOUT, Person, UP_TIMEOUT, eventually, shared_id, text};

/// The signal `Child::kill` sends.
const SIGKILL: i32 = 9;

/// The circle of every story.
const TUESDAY: &str = "Tuesday circle";

/// Longest one note may take, whether the node is up, down or starting. A share waits for a
/// starting node (under a second here); more means it hangs.
const NOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// The text of note `n` of a series: labelled and numbered, so the feed shows which attempt
/// wrote it.
fn note(series: &str, n: usize) -> String {
    format!("{series} note {n}: one more hour without a drink.")
}

/// What a writer tried, and what `share` acknowledged.
#[derive(Debug, Default)]
struct Notes {
    /// Which series of notes.
    series: &'static str,
    /// How many notes it tried to share (note 1 to note `tried`).
    tried: usize,
    /// (message id, text) of every note `share` acknowledged (exit 0 with an id), in order.
    acknowledged: Vec<(String, String)>,
    /// How many of those were saved with the node down, in the store directly.
    saved_offline: usize,
}

impl Notes {
    fn new(series: &'static str) -> Notes {
        Notes {
            series,
            ..Notes::default()
        }
    }

    /// Tries one more note: returns its text.
    fn next(&mut self) -> String {
        self.tried += 1;
        note(self.series, self.tried)
    }

    fn through_the_node(&self) -> usize {
        self.acknowledged.len() - self.saved_offline
    }
}

/// Someone's second terminal, sharing numbered notes one after another until told to stop,
/// whether their node is up, down or starting. Stopped, and waited for, when dropped; it must
/// not outlive its person.
struct Writer {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<Notes>>,
}

impl Writer {
    fn start(person: &Person, circle: &str, series: &'static str) -> Writer {
        let terminal = person.terminal();
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let (stopped, counter, circle) = (stop.clone(), acknowledged.clone(), circle.to_string());
        let thread = thread::spawn(move || {
            let mut notes = Notes::new(series);
            while !stopped.load(Ordering::SeqCst) {
                let words = notes.next();
                let run = terminal
                    .circle(["--json", "share", &circle, &words])
                    .timeout(NOTE_TIMEOUT)
                    .run();
                if !run.status.success() {
                    // The node died under it: not acknowledged, but it must say so in words.
                    let last = run.stderr.lines().last().unwrap_or_default();
                    assert!(
                        last.starts_with("error: "),
                        "a share that failed should end with an `error: ` line, not:\n{}",
                        run.stderr
                    );
                    continue;
                }
                let id = shared_id(&run.stdout);
                assert!(
                    is_id(&id),
                    "`share` acknowledged '{words}' without printing its id alone:\n{}",
                    run.stdout
                );
                if run.stderr.contains("not running") {
                    notes.saved_offline += 1;
                }
                notes.acknowledged.push((id, words));
                counter.fetch_add(1, Ordering::SeqCst);
            }
            notes
        });
        Writer {
            stop,
            acknowledged,
            thread: Some(thread),
        }
    }

    /// Waits (under a timeout) until `more` further notes have been acknowledged, so that what
    /// the story does next happens while notes are being written.
    fn wait_for_more(&mut self, more: usize) {
        let target = self.acknowledged.load(Ordering::SeqCst) + more;
        let what = format!("{more} more note(s) to be acknowledged");
        let thread = self.thread.as_ref().expect("the writer runs");
        eventually(UP_TIMEOUT, &what, || {
            (self.acknowledged.load(Ordering::SeqCst) >= target || thread.is_finished())
                .then_some(())
        });
        if thread.is_finished() {
            // It stopped on a failed check of its own: report that one.
            self.join();
            unreachable!("the writer only stops when told");
        }
    }

    /// Stops after the note being written; returns what was tried and acknowledged.
    fn finish(mut self) -> Notes {
        self.stop.store(true, Ordering::SeqCst);
        self.join()
    }

    /// Waits for the thread to end; a failed check in it fails the story here.
    fn join(&mut self) -> Notes {
        let thread = self.thread.take().expect("the writer runs");
        match thread.join() {
            Ok(notes) => notes,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether `s` looks like a message id: one word of base32.
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
}

/// Checks that `feed` has every acknowledged note of every series, with its text, in the order
/// they were acknowledged; that no note is there twice; and that nothing is there that was
/// never tried. Notes that were written but not acknowledged (the node died before it could
/// answer) may or may not be there. Returns how many of those are.
fn assert_keeps_every_note(feed: &[Value], series: &[&Notes], whose: &str) -> usize {
    let shares: Vec<(String, String)> = feed
        .iter()
        .filter(|item| item["kind"] == "share")
        .map(|item| (text(&item["id"]), text(&item["text"])))
        .collect();
    let position: BTreeMap<&str, usize> = shares
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    assert_eq!(position.len(), shares.len(), "{whose} has a message twice");
    let texts: BTreeSet<&str> = shares.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts.len(), shares.len(), "{whose} has a note twice");
    let tried: BTreeSet<String> = series
        .iter()
        .flat_map(|notes| (1..=notes.tried).map(|n| note(notes.series, n)))
        .collect();
    for (_, words) in &shares {
        assert!(
            tried.contains(words),
            "{whose} has '{words}', which was never written"
        );
    }
    for notes in series {
        assert_keeps_series(&shares, &position, notes, whose);
    }
    let acknowledged: usize = series.iter().map(|notes| notes.acknowledged.len()).sum();
    shares.len() - acknowledged
}

fn assert_keeps_series(
    shares: &[(String, String)],
    position: &BTreeMap<&str, usize>,
    notes: &Notes,
    whose: &str,
) {
    let missing: Vec<&(String, String)> = notes
        .acknowledged
        .iter()
        .filter(|(id, _)| !position.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{whose} lost {} of {} acknowledged {} notes: {missing:#?}",
        missing.len(),
        notes.acknowledged.len(),
        notes.series
    );
    let mut last = None;
    for (id, words) in &notes.acknowledged {
        let at = position[id.as_str()];
        assert_eq!(&shares[at].1, words, "{whose} has another text under {id}");
        assert!(
            last < Some(at),
            "{whose} shows '{words}' before notes acknowledged earlier"
        );
        last = Some(at);
    }
}

/// Whether `feed` shows every acknowledged note of a series (to wait for another member).
fn has_every_note(feed: &[Value], notes: &Notes) -> bool {
    let ids: BTreeSet<String> = feed.iter().map(|item| text(&item["id"])).collect();
    notes.acknowledged.iter().all(|(id, _)| ids.contains(id))
}

/// Checks that the person's latest `circle up` started without a warning or an error: a store
/// left by a crash needs no repair that anyone should be told about.
fn assert_started_cleanly(person: &Person) {
    let log = person.node_log();
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "{}'s node complained as it started:\n{log}",
        person.name
    );
}

/// Checks with the node down that the store opens and still holds the one circle.
fn assert_store_opens(person: &Person) {
    let status = person.status();
    assert_eq!(status["running"], false, "{status}");
    assert_eq!(
        status["circles"], 1,
        "{} still has the circle: {status}",
        person.name
    );
}

/// How long alice's node runs, in each round, before it is killed: moments spread from 50 to
/// 400 ms into two streams of notes.
const KILLED_AFTER_MS: [u64; 10] = [50, 400, 120, 275, 80, 330, 200, 65, 150, 240];
/// How long it then stays down, while her terminals save notes in the store directly.
const DOWN_FOR: Duration = Duration::from_millis(250);

#[test]
fn a_node_killed_mid_writes_keeps_every_acknowledged_share() {
    let started = Instant::now();
    let mut alice = Person::init("alice");
    alice.up();
    let circle = alice.create(TUESDAY);
    // Two terminals at once, so that more kills land while a share is being written.
    let mut morning = Writer::start(&alice, &circle, "Morning");
    let mut evening = Writer::start(&alice, &circle, "Evening");

    let mut kills = 0;
    for (round, after) in KILLED_AFTER_MS.into_iter().enumerate() {
        morning.wait_for_more(1);
        evening.wait_for_more(1);
        thread::sleep(Duration::from_millis(after));
        alice.crash();
        kills += 1;
        thread::sleep(DOWN_FOR);
        if round % 2 == 1 {
            // A false start: killed again while it opens the store and starts listening.
            alice.start_up();
            thread::sleep(Duration::from_millis(10 * round as u64));
            alice.crash();
            kills += 1;
        }
        alice.up();
        assert_started_cleanly(&alice);
    }
    morning.wait_for_more(1);
    evening.wait_for_more(1);
    let (morning, evening) = (morning.finish(), evening.finish());
    for notes in [&morning, &evening] {
        assert!(
            notes.through_the_node() > 0 && notes.saved_offline > 0,
            "the story should write both through the node and in the store: {notes:?}"
        );
    }

    let series = [&morning, &evening];
    let unacknowledged =
        assert_keeps_every_note(&alice.feed(&circle), &series, "alice's feed, from her node");
    alice.stop();
    assert_store_opens(&alice);
    assert_keeps_every_note(
        &alice.feed(&circle),
        &series,
        "alice's feed, from the store",
    );
    eprintln!(
        "{kills} kills; {} of {} notes acknowledged ({} saved offline), {unacknowledged} more \
         written but not acknowledged, in {:?}",
        morning.acknowledged.len() + evening.acknowledged.len(),
        morning.tried + evening.tried,
        morning.saved_offline + evening.saved_offline,
        started.elapsed()
    );
}

/// How many `circle share` processes are killed at a moment of the story's choosing.
const KILLED_SHARES: usize = 48;

#[test]
fn a_share_written_offline_survives_being_killed() {
    let started = Instant::now();
    let mut alice = Person::init("alice");
    let circle = alice.create(TUESDAY);
    let mut notes = Notes::new("Offline");
    // Three unhurried notes tell how long a share takes on this machine.
    let mut share_takes = Duration::ZERO;
    for _ in 0..3 {
        let words = notes.next();
        let timer = Instant::now();
        let id = alice.share(&circle, &words);
        share_takes = share_takes.max(timer.elapsed());
        notes.acknowledged.push((id, words));
    }

    let mut killed = 0;
    for k in 0..KILLED_SHARES {
        let words = notes.next();
        let share = alice.circle(["--json", "share", &circle, &words]).spawn();
        // From at once to well after it would have finished unhurried, in a scrambled order.
        let fraction = ((k * 29) % KILLED_SHARES) as f64 / KILLED_SHARES as f64;
        thread::sleep(share_takes.mul_f64(2.0 * fraction));
        let run = share.kill();
        if run.status.success() {
            let id = shared_id(&run.stdout);
            assert!(is_id(&id), "`share` printed '{}', not an id", run.stdout);
            notes.acknowledged.push((id, words));
        } else {
            assert_eq!(
                run.status.signal(),
                Some(SIGKILL),
                "a share that was not killed failed ({}):\n{}",
                run.status,
                run.stderr
            );
            killed += 1;
        }
    }
    assert!(killed > 0, "no share was killed in the act");

    assert_store_opens(&alice);
    let words = notes.next();
    let id = alice.share(&circle, &words);
    notes.acknowledged.push((id, words));
    notes.saved_offline = notes.acknowledged.len();
    let unacknowledged = assert_keeps_every_note(
        &alice.feed(&circle),
        &[&notes],
        "alice's feed, from the store",
    );

    alice.up();
    assert_started_cleanly(&alice);
    assert_keeps_every_note(
        &alice.feed(&circle),
        &[&notes],
        "alice's feed, from her node",
    );
    alice.stop();
    eprintln!(
        "{killed} shares killed; {} of {} notes acknowledged, {unacknowledged} more written but \
         not acknowledged, in {:?} (one share takes {share_takes:?})",
        notes.acknowledged.len(),
        notes.tried,
        started.elapsed()
    );
}

#[test]
fn a_killed_nodes_peers_still_get_every_acknowledged_share() {
    let started = Instant::now();
    let mut alice = Person::init("alice");
    let mut bob = Person::init("bob");
    alice.up();
    bob.up();
    let circle = alice.create(TUESDAY);
    let invite = alice.invite(TUESDAY, &[]);
    assert_eq!(bob.join(&invite), circle, "bob joins alice's circle");

    let mut writer = Writer::start(&alice, &circle, "Evening");
    let mut kills = 0;
    for after in [150, 300, 100] {
        writer.wait_for_more(1);
        thread::sleep(Duration::from_millis(after));
        alice.crash();
        kills += 1;
        thread::sleep(DOWN_FOR);
        alice.up();
        assert_started_cleanly(&alice);
    }
    writer.wait_for_more(1);
    let notes = writer.finish();

    assert_keeps_every_note(&alice.feed(&circle), &[&notes], "alice's feed");
    let feed = bob.feed_when(
        &circle,
        "every note alice's terminal acknowledged",
        |feed| has_every_note(feed, &notes),
    );
    assert_keeps_every_note(&feed, &[&notes], "bob's feed");
    eprintln!(
        "{kills} kills; bob has all {} acknowledged notes of {} ({} saved offline) in {:?} \
         (at most {DELIVERY_TIMEOUT:?})",
        notes.acknowledged.len(),
        notes.tried,
        notes.saved_offline,
        started.elapsed()
    );
}

/// How many `circle init` processes are killed at a moment of the story's choosing.
const KILLED_SETUPS: usize = 12;

/// A setup killed half-way (a power cut, or Ctrl-C while the passphrase is being stretched)
/// reported nothing as done, so it must leave a home that can still be set up and used.
#[test]
fn a_setup_killed_half_way_can_be_done_again() {
    // An unhurried setup tells how long one takes on this machine.
    let timer = Instant::now();
    drop(Person::init("sam"));
    let init_takes = timer.elapsed();

    let mut killed = 0;
    for k in 0..KILLED_SETUPS {
        let alice = Person::new("alice");
        let init = alice.circle(["init", "--name", "alice"]).spawn();
        let moment =
            init_takes.mul_f64(1.5 * ((k * 5) % KILLED_SETUPS) as f64 / KILLED_SETUPS as f64);
        thread::sleep(moment);
        let run = init.kill();
        let mut story = format!("a setup killed {moment:?} in ({})", run.status);
        if !run.status.success() {
            killed += 1;
            // As far as alice knows nothing was set up: she runs it again. Finishing the setup,
            // or saying it is done already, are both fine, as long as the home works after.
            let again = alice.circle(["init", "--name", "alice"]).run();
            story.push_str(&format!(", then set up again: {}", again.stderr.trim()));
            assert!(
                again.status.success() || again.stderr.contains("already set up"),
                "{story}"
            );
        }
        let status = alice.status();
        assert!(
            status["peer_id"].is_string(),
            "{story}; status has no peer id: {status}"
        );
        let made = alice.circle(["create", TUESDAY]).run();
        assert!(
            made.status.success(),
            "{story}; create: {}",
            made.stderr.trim()
        );
        alice.share(TUESDAY, &note("Setup", k));
    }
    assert!(killed > 0, "no setup was killed in the act");
}
