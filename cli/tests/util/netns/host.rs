//! A [`Host`]: someone whose `circle` node and commands run in a namespace of a [`Net`].

use std::{
    fs,
    io::Read,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tempfile::TempDir;

use super::{IP, Net};
use crate::util::{
    CIRCLE, COMMAND_TIMEOUT, PASSPHRASE, UP_TIMEOUT, eventually,
    run::{announced_peer_id, terminate},
};

/// Someone whose node and commands run in a namespace of a [`Net`].
pub struct Host {
    /// Their name in the story, also their nickname.
    pub name: &'static str,
    ns: String,
    dir: TempDir,
    node: Option<Child>,
    ups: usize,
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Ran {
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Host {
    /// `name` in their namespace of `net` (see [`Net::add_host`]), after `circle init`.
    pub fn init(net: &Net, name: &'static str) -> Host {
        let dir = tempfile::Builder::new()
            .prefix(&format!("circle-{name}-"))
            .tempdir()
            .expect("a temporary directory");
        fs::create_dir(dir.path().join("logs")).expect("a logs directory");
        let host = Host {
            name,
            ns: net.ns(name),
            dir,
            node: None,
            ups: 0,
        };
        host.ok(&["init", "--name", name]);
        host
    }

    /// `ip netns exec <their namespace> circle --home <their home> <args>`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(IP);
        command
            .args(["netns", "exec", &self.ns, CIRCLE, "--home"])
            .arg(self.dir.path().join("home"))
            .args(args)
            .env("CIRCLE_PASSPHRASE", PASSPHRASE)
            .env("CIRCLE_TEST_KDF", "cheap")
            .env("HOME", self.dir.path())
            .env_remove("CIRCLE_HOME")
            .env_remove("CIRCLE_LOG")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE");
        command
    }

    /// Runs `circle <args>` to the end, under [`COMMAND_TIMEOUT`], whatever the outcome.
    pub fn run(&self, args: &[&str]) -> Ran {
        let what = format!("circle {} (as {})", args.join(" "), self.name);
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
        let stdout = read_all(child.stdout.take().expect("piped"));
        let stderr = read_all(child.stderr.take().expect("piped"));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("can wait") {
                break status;
            }
            if start.elapsed() > COMMAND_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{what}` did not finish within {COMMAND_TIMEOUT:?}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        let ran = Ran {
            status,
            stdout: stdout.join().expect("a reader"),
            stderr: stderr.join().expect("a reader"),
        };
        assert!(
            !ran.stderr.contains("panicked"),
            "`{what}` panicked:\n{}",
            ran.stderr
        );
        ran
    }

    /// Runs a command that must succeed; returns its output, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args);
        assert!(
            ran.status.success(),
            "`circle {}` failed for {} ({}):\n{}",
            args.join(" "),
            self.name,
            ran.status,
            ran.stderr
        );
        ran.stdout.trim().to_string()
    }

    /// Runs a command with `--json` that must succeed; one value for each line it printed.
    pub fn json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all)
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("`circle {}` printed '{line}', not JSON: {e}", all.join(" "))
                })
            })
            .collect()
    }

    /// Starts `circle up <args>` and waits until it runs; returns its peer id.
    pub fn up(&mut self, args: &[&str]) -> String {
        assert!(self.node.is_none(), "{}'s node is already up", self.name);
        self.ups += 1;
        let mut all = vec!["up"];
        all.extend_from_slice(args);
        let mut command = self.command(&all);
        if let Ok(filter) = std::env::var("CIRCLE_TEST_LOG") {
            command.env("CIRCLE_LOG", filter);
        }
        let (out, err) = (self.up_log("out"), self.up_log("err"));
        let child = command
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("a log file"))
            .stderr(fs::File::create(&err).expect("a log file"))
            .spawn()
            .expect("can start `circle up`");
        let node = self.node.insert(child);
        let name = self.name;
        let peer_id = eventually(UP_TIMEOUT, &format!("{name}'s node to come up"), || {
            if let Some(status) = node.try_wait().expect("can wait") {
                let log = fs::read_to_string(&err).unwrap_or_default();
                panic!("{name}'s node exited early ({status}):\n{log}");
            }
            announced_peer_id(&fs::read_to_string(&out).unwrap_or_default())
        });
        let status = self.status();
        assert_eq!(status["running"], true, "{name}'s status once up: {status}");
        peer_id
    }

    /// Stops the node as a service manager would (SIGTERM); it must exit cleanly.
    pub fn stop(&mut self) {
        let mut child = self
            .node
            .take()
            .unwrap_or_else(|| panic!("{}'s node is not up", self.name));
        let status = terminate(&mut child, self.name);
        assert!(
            status.success(),
            "{}'s node should stop cleanly on SIGTERM, not {status}:\n{}",
            self.name,
            self.node_log()
        );
    }

    /// `status --json`.
    pub fn status(&self) -> Value {
        self.json(&["status"]).pop().expect("status prints a line")
    }

    /// How many nodes theirs is connected to, as `status` says.
    pub fn connected(&self) -> u64 {
        self.status()["connected"].as_u64().unwrap_or_default()
    }

    /// Creates a circle; returns its id.
    pub fn create(&self, name: &str) -> String {
        self.ok(&["create", name])
    }

    /// An invite to `circle`, with options such as `--uses 2`.
    pub fn invite(&self, circle: &str, options: &[&str]) -> String {
        let mut args = vec!["invite", circle];
        args.extend_from_slice(options);
        self.ok(&args)
    }

    /// Joins with `token` (answering yes once the guidelines are shown); returns the circle id.
    pub fn join(&self, token: &str) -> String {
        self.ok(&["join", token, "--yes"])
    }

    /// Shares `text`; returns the message id.
    pub fn share(&self, circle: &str, text: &str) -> String {
        crate::util::shared_id(&self.ok(&["--json", "share", circle, text]))
    }

    /// `feed CIRCLE --json`.
    pub fn feed(&self, circle: &str) -> Vec<Value> {
        self.json(&["feed", circle])
    }

    /// What their latest `circle up` wrote on stderr so far.
    pub fn node_log(&self) -> String {
        fs::read_to_string(self.up_log("err")).unwrap_or_default()
    }

    fn up_log(&self, stream: &str) -> PathBuf {
        self.dir
            .path()
            .join("logs")
            .join(format!("up-{}.{stream}", self.ups))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(child) = self.node.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            // The last lines only: with CIRCLE_TEST_LOG set the logs can be long.
            let log = self.node_log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(80)..].join("\n");
            eprintln!(
                "--- {}'s `circle up` #{} in {}, stderr (last lines) ---\n{tail}",
                self.name, self.ups, self.ns
            );
        }
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
