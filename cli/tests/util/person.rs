//! A person with a home of their own and perhaps a running node, and followers of feeds.

use std::{
    ffi::OsStr,
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tempfile::TempDir;

use super::{
    DELIVERY_TIMEOUT, UP_TIMEOUT, eventually,
    run::{Invocation, announced_peer_id, circle_command, invocation, status_of, terminate},
};

/// Someone with a circle node: a home of their own, and perhaps a running `circle up`.
pub struct Person {
    /// Their name in the story, also their nickname unless they chose another.
    pub name: &'static str,
    dir: TempDir,
    node: Option<Child>,
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

    /// Another terminal of theirs, to run commands in their home from another thread while
    /// the story starts and stops their node. It must not outlive them.
    pub fn terminal(&self) -> Terminal {
        Terminal {
            dir: self.dir.path().to_path_buf(),
            name: self.name,
        }
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

    /// Starts `circle up` on loopback without mDNS and waits until it runs. Returns the peer
    /// id it announced.
    pub fn up(&mut self) -> String {
        self.start_up();
        self.wait_until_up()
    }

    /// Starts `circle up` on loopback without mDNS, with more options (`--relay`, ...), and
    /// waits until it runs. Returns the peer id it announced.
    pub fn up_with(&mut self, options: &[&str]) -> String {
        self.start_up_with(options);
        self.wait_until_up()
    }

    /// Starts `circle up` on loopback without mDNS, without waiting for it.
    pub fn start_up(&mut self) {
        self.start_up_with(&[]);
    }

    /// Starts `circle up` on loopback without mDNS, with more options, without waiting.
    pub fn start_up_with(&mut self, options: &[&str]) {
        assert!(self.node.is_none(), "{}'s node is already up", self.name);
        self.ups += 1;
        let mut command = self.command();
        if let Ok(filter) = std::env::var("CIRCLE_TEST_LOG") {
            command.env("CIRCLE_LOG", filter);
        }
        let child = command
            .args(["up", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .args(options)
            .stdin(Stdio::null())
            .stdout(fs::File::create(self.up_log("out")).expect("a log file"))
            .stderr(fs::File::create(self.up_log("err")).expect("a log file"))
            .spawn()
            .expect("can start `circle up`");
        self.node = Some(child);
    }

    /// Waits until the node has announced itself on stdout and `status` says it runs.
    /// Returns the peer id it announced.
    pub fn wait_until_up(&mut self) -> String {
        let (out, err) = (self.up_log("out"), self.up_log("err"));
        let (dir, name) = (self.dir.path().to_path_buf(), self.name);
        let node = self.node.as_mut().expect("the node was started");
        let peer_id = eventually(UP_TIMEOUT, &format!("{name}'s node to come up"), || {
            if let Some(status) = node.try_wait().expect("can wait") {
                panic!("{name}'s node exited early ({status}):\n{}", read(&err));
            }
            // Announced after api.json is written: from then on `status` asks the node.
            let peer_id = announced_peer_id(&read(&out))?;
            let status = status_of(invocation(&dir, name, ["--json", "status"]));
            (status["running"] == true).then_some(peer_id)
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
    /// exit 0, a goodbye on stderr, and no `api.json` left behind. Returns how long it took.
    pub fn stop(&mut self) -> Duration {
        let mut child = self
            .node
            .take()
            .unwrap_or_else(|| panic!("{}'s node is not up", self.name));
        let start = Instant::now();
        let status = terminate(&mut child, self.name);
        let took = start.elapsed();
        let err = read(&self.up_log("err"));
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
        took
    }

    /// Kills the node without warning (SIGKILL), as a crash or a power cut would.
    pub fn crash(&mut self) {
        let mut child = self
            .node
            .take()
            .unwrap_or_else(|| panic!("{}'s node is not up", self.name));
        child.kill().expect("can kill the node");
        child.wait().expect("can wait for the node");
    }

    /// What their latest `circle up` wrote on stdout so far.
    pub fn node_output(&self) -> String {
        read(&self.up_log("out"))
    }

    /// What their latest `circle up` wrote on stderr so far.
    pub fn node_log(&self) -> String {
        read(&self.up_log("err"))
    }

    fn up_log(&self, stream: &str) -> PathBuf {
        self.logs().join(format!("up-{}.{stream}", self.ups))
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

    /// Joins with `token` (answering yes once the guidelines are shown); returns the circle id.
    pub fn join(&self, token: &str) -> String {
        self.ok(["join", token, "--yes"])
    }

    /// Shares `text`; returns the message id.
    pub fn share(&self, circle: &str, text: &str) -> String {
        super::shared_id(&self.ok(["--json", "share", circle, text]))
    }

    /// `circles --json`.
    pub fn circles(&self) -> Vec<Value> {
        self.circle(["--json", "circles"]).json_lines()
    }

    /// `members CIRCLE --json`.
    pub fn members(&self, circle: &str) -> Vec<Value> {
        self.circle(["--json", "members", circle]).json_lines()
    }

    /// Their node's peer id, as `status` shows it (what they give to get a bound invite).
    pub fn peer_id(&self) -> String {
        let status = self.status();
        status["peer_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}'s status has no peer id: {status}", self.name))
            .to_string()
    }

    /// Their entry in `circles --json` for `circle` (an id).
    pub fn circle_entry(&self, circle: &str) -> Value {
        self.circles()
            .into_iter()
            .find(|c| c["id"] == circle)
            .unwrap_or_else(|| panic!("{} is not in the circle {circle}", self.name))
    }

    /// Where they stand in `circle` (an id): `admin`, `member`, `left` or `removed`.
    pub fn standing(&self, circle: &str) -> String {
        self.circle_entry(circle)["standing"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `invites CIRCLE --json`.
    pub fn invites(&self, circle: &str) -> Vec<Value> {
        self.circle(["--json", "invites", circle]).json_lines()
    }

    /// `feed CIRCLE --json`.
    pub fn feed(&self, circle: &str) -> Vec<Value> {
        self.circle(["--json", "feed", circle]).json_lines()
    }

    /// The feed, once `ready` holds for it (under [`DELIVERY_TIMEOUT`]).
    pub fn feed_when(
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

    /// `feed CIRCLE --follow --json`, running until the follower is dropped.
    pub fn follow(&self, circle: &str) -> Follower {
        let stderr = self.logs().join("follow.err");
        let mut child = self
            .command()
            .args(["--json", "feed", circle, "--follow"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).expect("a log file"))
            .spawn()
            .expect("can start `circle feed --follow`");
        let lines = read_lines(child.stdout.take().expect("stdout is piped"));
        Follower {
            child,
            lines,
            stderr,
        }
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
        if let Some(child) = self.node.as_mut() {
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

/// A terminal in someone's home: runs `circle` commands there from any thread.
#[derive(Clone)]
pub struct Terminal {
    dir: PathBuf,
    name: &'static str,
}

impl Terminal {
    /// `circle --home <their home> <args>`, ready to run.
    pub fn circle<I, S>(&self, args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        invocation(&self.dir, self.name, args)
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Lines printed by a long-running `circle feed --follow --json`.
pub struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

    /// Waits (at most [`UP_TIMEOUT`]) for the follower to end; returns how, and its stderr.
    pub fn end(&mut self) -> (ExitStatus, String) {
        let status = eventually(UP_TIMEOUT, "`feed --follow` to end", || {
            self.child.try_wait().expect("can wait")
        });
        (status, read(&self.stderr))
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
