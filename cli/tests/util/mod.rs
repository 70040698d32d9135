//! People who run the real `circle` binary, each in a home of their own.
//!
//! A [`Person`] owns a temporary directory with `home/` (the node's home) and `logs/` (what
//! their `circle up` printed). Every command runs as a separate process under a timeout; a
//! running node is killed when its person is dropped, so nothing outlives a failed test, and
//! its logs are printed then to help read the failure.

use std::{
    ffi::OsStr,
    fs,
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tempfile::TempDir;

/// The `circle` binary under test.
pub const CIRCLE: &str = env!("CARGO_BIN_EXE_circle");

/// The passphrase everyone uses unless a story says otherwise.
pub const PASSPHRASE: &str = "one day at a time";

/// Longest a one-shot command may take. A join waits for the inviter's answer (20 s at most).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a node may take to report that it runs, or to stop.
pub const UP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a message may take to reach another member. Gossip is immediate; the slow path is
/// the node's periodic sync (30 s by default), plus a redial.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

/// Calls `probe` until it returns `Some`, or panics after `timeout` saying what we waited for.
pub fn eventually<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// Panics if the process panicked: an error must never show up as a panic or a backtrace.
    fn assert_no_panic(&self, what: &str) {
        for sign in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(
                !self.stderr.contains(sign),
                "`{what}` panicked:\n{}",
                self.stderr
            );
        }
    }
}

/// One `circle` command about to run, with the person's home and passphrase.
pub struct Invocation {
    command: Command,
    what: String,
    stdin: Option<Vec<u8>>,
}

impl Invocation {
    /// Runs it with another passphrase.
    pub fn passphrase(mut self, passphrase: &str) -> Self {
        self.command.env("CIRCLE_PASSPHRASE", passphrase);
        self
    }

    /// Runs it with no passphrase in the environment (and no terminal to type one).
    pub fn no_passphrase(mut self) -> Self {
        self.command.env_remove("CIRCLE_PASSPHRASE");
        self
    }

    /// Feeds `input` to its standard input.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Runs it to the end (under [`COMMAND_TIMEOUT`]), whatever the outcome.
    pub fn run(mut self) -> Run {
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = self
            .command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", self.what));
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let stdout = read_all(child.stdout.take().expect("stdout is piped"));
        let stderr = read_all(child.stderr.take().expect("stderr is piped"));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("can wait for the command") {
                break status;
            }
            if start.elapsed() > COMMAND_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{}` did not finish within {COMMAND_TIMEOUT:?}", self.what);
            }
            thread::sleep(Duration::from_millis(10));
        };
        let run = Run {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        };
        run.assert_no_panic(&self.what);
        run
    }

    /// Runs it, checks that it succeeded and returns its output, trimmed.
    pub fn ok(self) -> String {
        let what = self.what.clone();
        let run = self.run();
        assert!(
            run.status.success(),
            "`{what}` failed ({}):\n{}",
            run.status,
            run.stderr
        );
        run.stdout.trim().to_string()
    }

    /// Runs it, checks that it failed with one line on stderr starting with `error: `, and
    /// returns that line.
    pub fn fails(self) -> String {
        let what = self.what.clone();
        let run = self.run();
        assert!(
            !run.status.success(),
            "`{what}` should have failed, but succeeded with:\n{}{}",
            run.stdout,
            run.stderr
        );
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "`{what}` should explain itself in one line, not:\n{}",
            run.stderr
        );
        assert!(
            lines[0].starts_with("error: "),
            "`{what}` should start its message with `error: `, not:\n{}",
            run.stderr
        );
        lines[0].to_string()
    }

    /// Runs it, checks that it succeeded and parses each line of its output as JSON.
    pub fn json_lines(self) -> Vec<Value> {
        let what = self.what.clone();
        self.ok()
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("`{what}` printed '{line}', not JSON: {e}"))
            })
            .collect()
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Someone with a circle node: a home of their own, and perhaps a running `circle up`.
pub struct Person {
    /// Their name in the story, also their nickname unless they chose another.
    pub name: &'static str,
    dir: TempDir,
    node: Option<Child>,
    followers: Vec<Child>,
    ups: usize,
}

impl Person {
    /// Someone who has not set up a node yet.
    pub fn new(name: &'static str) -> Person {
        let dir = tempfile::Builder::new()
            .prefix(&format!("circle-{name}-"))
            .tempdir()
            .expect("a temporary directory");
        fs::create_dir(dir.path().join("logs")).expect("a logs directory");
        Person {
            name,
            dir,
            node: None,
            followers: Vec::new(),
            ups: 0,
        }
    }

    /// Someone who has run `circle init --name <their name>`.
    pub fn init(name: &'static str) -> Person {
        Person::init_as(name, name)
    }

    /// Someone who has run `circle init --name <nick>`.
    pub fn init_as(name: &'static str, nick: &str) -> Person {
        let person = Person::new(name);
        person.ok(["init", "--name", nick]);
        person
    }

    /// The node's home (it does not exist before `init`).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    fn command(&self) -> Command {
        circle_command(self.dir.path())
    }

    /// `circle --home <their home> <args>`, ready to run.
    pub fn circle<I, S>(&self, args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        invocation(self.dir.path(), self.name, args)
    }

    /// Runs a command that must succeed; returns its output, trimmed.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.circle(args).ok()
    }

    /// Runs a command that must fail; returns its one `error: ` line.
    pub fn fails<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.circle(args).fails()
    }

    /// Starts `circle up` on loopback without mDNS and waits until `status` says it runs.
    /// Returns the peer id it announced.
    pub fn up(&mut self) -> String {
        assert!(self.node.is_none(), "{}'s node is already up", self.name);
        self.ups += 1;
        let out = self.logs().join(format!("up-{}.out", self.ups));
        let err = self.logs().join(format!("up-{}.err", self.ups));
        let child = self
            .command()
            .args(["up", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("a log file"))
            .stderr(fs::File::create(&err).expect("a log file"))
            .spawn()
            .expect("can start `circle up`");
        self.node = Some(child);
        let (dir, name) = (self.dir.path().to_path_buf(), self.name);
        let node = self.node.as_mut().expect("just started");
        let peer_id = eventually(UP_TIMEOUT, &format!("{name}'s node to come up"), || {
            if let Some(status) = node.try_wait().expect("can wait") {
                panic!("{name}'s node exited early ({status}):\n{}", read(&err));
            }
            let printed = read(&out);
            let first = printed.lines().next()?;
            let peer_id = first
                .strip_prefix("circle node ")?
                .strip_suffix(" is running.")?;
            let status = status_of(invocation(&dir, name, ["--json", "status"]));
            (status["running"] == true).then(|| peer_id.to_string())
        });
        let printed = read(&out);
        assert!(
            printed
                .lines()
                .skip(1)
                .any(|l| l.starts_with("listening on /ip4/127.0.0.1/tcp/")),
            "`circle up` should say where it listens:\n{printed}"
        );
        peer_id
    }

    /// Stops the node as a service manager would (SIGTERM) and checks that it stopped cleanly:
    /// exit 0, a goodbye on stderr, and no `api.json` left behind.
    pub fn stop(&mut self) {
        let mut child = self
            .node
            .take()
            .unwrap_or_else(|| panic!("{}'s node is not up", self.name));
        let signalled = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("can run kill");
        assert!(signalled.success(), "could not signal {}'s node", self.name);
        let what = format!("{}'s node to stop", self.name);
        let status = eventually(UP_TIMEOUT, &what, || child.try_wait().expect("can wait"));
        let err = read(&self.logs().join(format!("up-{}.err", self.ups)));
        assert!(
            status.success(),
            "{}'s node should stop cleanly on SIGTERM, not {status}:\n{err}",
            self.name
        );
        assert!(
            err.contains("Stopped. Everything is saved."),
            "{}'s node did not say goodbye:\n{err}",
            self.name
        );
        assert!(
            !self.api_file().exists(),
            "{}'s node left api.json behind",
            self.name
        );
    }

    /// Where a running node tells local commands how to reach it.
    pub fn api_file(&self) -> PathBuf {
        self.home().join("api.json")
    }

    /// `status --json`.
    pub fn status(&self) -> Value {
        status_of(self.circle(["--json", "status"]))
    }

    /// Creates a circle; returns its id.
    pub fn create(&self, name: &str) -> String {
        self.ok(["create", name])
    }

    /// An invite to `circle`, with extra options such as `--uses 2`.
    pub fn invite(&self, circle: &str, options: &[&str]) -> String {
        let mut args = vec!["invite", circle];
        args.extend_from_slice(options);
        self.ok(args)
    }

    /// Joins with `token`; returns the circle id.
    pub fn join(&self, token: &str) -> String {
        self.ok(["join", token])
    }

    /// Shares `text`; returns the message id.
    pub fn share(&self, circle: &str, text: &str) -> String {
        self.ok(["share", circle, text])
    }

    /// `circles --json`.
    pub fn circles(&self) -> Vec<Value> {
        self.circle(["--json", "circles"]).json_lines()
    }

    /// `members CIRCLE --json`.
    pub fn members(&self, circle: &str) -> Vec<Value> {
        self.circle(["--json", "members", circle]).json_lines()
    }

    /// `feed CIRCLE --json`.
    pub fn feed(&self, circle: &str) -> Vec<Value> {
        self.circle(["--json", "feed", circle]).json_lines()
    }

    /// The feed, once `ready` holds for it (under [`DELIVERY_TIMEOUT`]).
    pub fn feed_once(
        &self,
        circle: &str,
        what: &str,
        ready: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let feed = self.feed(circle);
            if ready(&feed) {
                return feed;
            }
            if start.elapsed() > DELIVERY_TIMEOUT {
                panic!(
                    "timed out after {DELIVERY_TIMEOUT:?} waiting for {}'s feed to show {what}; it shows:\n{feed:#?}",
                    self.name
                );
            }
            thread::sleep(Duration::from_millis(300));
        }
    }

    /// `feed CIRCLE --follow --json`, running until this person is dropped.
    pub fn follow(&mut self, circle: &str) -> Follower {
        let mut child = self
            .command()
            .args(["--json", "feed", circle, "--follow"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(self.logs().join("follow.err")).expect("a log file"))
            .spawn()
            .expect("can start `circle feed --follow`");
        let lines = read_lines(child.stdout.take().expect("stdout is piped"));
        self.followers.push(child);
        Follower { lines }
    }

    /// Every file under the home, recursively.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut dirs = vec![self.home()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).expect("can list the home") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }
}

impl Drop for Person {
    fn drop(&mut self) {
        for child in self.followers.iter_mut().chain(self.node.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            for n in 1..=self.ups {
                for stream in ["out", "err"] {
                    let log = read(&self.logs().join(format!("up-{n}.{stream}")));
                    eprintln!(
                        "--- {}'s `circle up` #{n}, std{stream} ---\n{log}",
                        self.name
                    );
                }
            }
        }
    }
}

/// `circle --home DIR/home` with the usual passphrase and a clean environment.
fn circle_command(dir: &Path) -> Command {
    let mut command = Command::new(CIRCLE);
    command
        .arg("--home")
        .arg(dir.join("home"))
        .env("CIRCLE_PASSPHRASE", PASSPHRASE)
        .env("HOME", dir)
        .env_remove("CIRCLE_HOME")
        .env_remove("CIRCLE_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

fn invocation<I, S>(dir: &Path, name: &str, args: I) -> Invocation
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = circle_command(dir);
    let mut what = "circle".to_string();
    for arg in args {
        what.push(' ');
        what.push_str(&arg.as_ref().to_string_lossy());
        command.arg(arg);
    }
    Invocation {
        command,
        what: format!("{what} (as {name})"),
        stdin: None,
    }
}

fn status_of(status: Invocation) -> Value {
    let line = status.ok();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("status printed '{line}', not JSON: {e}"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Lines printed by a long-running `circle feed --follow --json`.
pub struct Follower {
    lines: mpsc::Receiver<String>,
}

impl Follower {
    /// The next printed item for which `wanted` holds, waiting at most [`DELIVERY_TIMEOUT`].
    pub fn wait_for(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("`feed --follow` did not print {what} within {DELIVERY_TIMEOUT:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("`feed --follow` ended before printing {what}")
                }
            };
            let item: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("`feed --follow` printed '{line}', not JSON: {e}"));
            if wanted(&item) {
                return item;
            }
        }
    }
}

fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
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

/// The shares in a feed, as (author name, text), in feed order.
pub fn shares(feed: &[Value]) -> Vec<(String, String)> {
    feed.iter()
        .filter(|item| item["kind"] == "share")
        .map(|item| (text(&item["author_name"]), text(&item["text"])))
        .collect()
}

/// A JSON string as a `String` (empty if it is not a string).
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// Whether `s` is an RFC 3339 date-time such as `2025-03-04T19:30:05.123Z`.
pub fn is_rfc3339(s: &str) -> bool {
    fn number(s: &str, range: std::ops::RangeInclusive<u32>) -> bool {
        s.bytes().all(|b| b.is_ascii_digit()) && s.parse().is_ok_and(|n: u32| range.contains(&n))
    }
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let fields_ok = number(&s[0..4], 1970..=9999)
        && number(&s[5..7], 1..=12)
        && number(&s[8..10], 1..=31)
        && number(&s[11..13], 0..=23)
        && number(&s[14..16], 0..=59)
        && number(&s[17..19], 0..=60);
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    let offset_ok = match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => {
            number(&rest[1..3], 0..=23) && number(&rest[4..6], 0..=59)
        }
        _ => false,
    };
    fields_ok && offset_ok
}
