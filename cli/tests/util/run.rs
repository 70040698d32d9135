//! One `circle` command, run as a separate process to the end, under a timeout.

use std::{
    ffi::OsStr,
    io::{Read, Write},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{CIRCLE, COMMAND_TIMEOUT, PASSPHRASE};

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
    timeout: Duration,
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

    /// Runs it with the passphrase in a file named by CIRCLE_PASSPHRASE_FILE instead.
    pub fn passphrase_file(mut self, path: &std::path::Path) -> Self {
        self.command
            .env_remove("CIRCLE_PASSPHRASE")
            .env("CIRCLE_PASSPHRASE_FILE", path);
        self
    }

    /// Runs it with `key` set to `value` in its environment (such as `TZ`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Feeds `input` to its standard input.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Gives it `timeout` to finish instead of [`COMMAND_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs it to the end (under its timeout), whatever the outcome.
    pub fn run(self) -> Run {
        self.spawn().wait()
    }

    /// Starts it and returns at once, for a story that may kill it at a moment of its choosing.
    pub fn spawn(mut self) -> Running {
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
        Running {
            child,
            what: self.what,
            timeout: self.timeout,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
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

/// A command that was started and has not been waited for; killed if dropped.
pub struct Running {
    child: Child,
    what: String,
    timeout: Duration,
    stdout: Option<thread::JoinHandle<String>>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Running {
    /// Waits for it to end (under its timeout), whatever the outcome.
    pub fn wait(mut self) -> Run {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("can wait for the command") {
                break status;
            }
            if start.elapsed() > self.timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("`{}` did not finish within {:?}", self.what, self.timeout);
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.finish(status)
    }

    /// Kills it without warning (SIGKILL), as a crash or a power cut would, unless it has ended
    /// already; returns what it left behind either way.
    pub fn kill(mut self) -> Run {
        // A child that has exited but not been waited for is still ours: the signal is lost on
        // it, and `wait` tells how it really ended.
        let _ = self.child.kill();
        let status = self.child.wait().expect("can wait for the command");
        self.finish(status)
    }

    fn finish(&mut self, status: ExitStatus) -> Run {
        let run = Run {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        };
        run.assert_no_panic(&self.what);
        run
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn join(reader: Option<thread::JoinHandle<String>>) -> String {
    reader.expect("read once").join().expect("an output reader")
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// `circle --home DIR/home` with the usual passphrase and a clean environment.
/// The peer id `circle up` announces on the first line of its standard output, once it runs.
pub(super) fn announced_peer_id(stdout: &str) -> Option<String> {
    let first = stdout.lines().next()?;
    let peer_id = first
        .strip_prefix("circle node ")?
        .strip_suffix(" is running.")?;
    Some(peer_id.to_string())
}

/// Stops a node as a service manager would (SIGTERM) and waits for it to exit.
pub(super) fn terminate(child: &mut Child, who: &str) -> ExitStatus {
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("can run kill");
    assert!(signalled.success(), "could not signal {who}'s node");
    let what = format!("{who}'s node to stop");
    super::eventually(super::UP_TIMEOUT, &what, || {
        child.try_wait().expect("can wait")
    })
}

pub(super) fn circle_command(dir: &Path) -> Command {
    let mut command = Command::new(CIRCLE);
    command
        .arg("--home")
        .arg(dir.join("home"))
        .env("CIRCLE_PASSPHRASE", PASSPHRASE)
        // Cheap argon2id: the suite makes hundreds of homes (honoured by debug builds only).
        .env("CIRCLE_TEST_KDF", "cheap")
        .env("HOME", dir)
        .env_remove("CIRCLE_HOME")
        .env_remove("CIRCLE_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

pub(super) fn invocation<I, S>(dir: &Path, name: &str, args: I) -> Invocation
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
        timeout: COMMAND_TIMEOUT,
    }
}

pub(super) fn status_of(status: Invocation) -> Value {
    let line = status.ok();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("status printed '{line}', not JSON: {e}"))
}
