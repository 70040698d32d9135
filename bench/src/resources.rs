//! Memory, disk and start-up of the real `circle` binary: an idle node, and one holding many
//! messages; backing that one up and restoring it, next to copying its home directory.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};

use crate::{
    circle_net::PASSPHRASE,
    history::Holding,
    limits::MESSAGE_BYTES,
    report::{Figure, Report, Target, Unit},
};

const MIB: f64 = 1024.0 * 1024.0;
/// The 30 MB, in MiB.
const IDLE_TARGET_MIB: f64 = 30e6 / MIB;
/// The memory target for a node holding 110 000 messages, 10 s after start.
const HOLDING_TARGET_MIB: f64 = 80.0;

/// The `circle` binary of this build profile, built first if needed (`cargo build -p
/// circle-cli`, a no-op when it is fresh).
pub fn circle_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("where is this program?")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("this program has no directory"))?;
    let bin = dir.join("circle");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "circle-cli"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let built = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !bin.exists() {
        anyhow::bail!(
            "the circle binary is not at {} and `cargo build -p circle-cli` {}",
            bin.display(),
            if built {
                "did not put it there"
            } else {
                "failed"
            }
        );
    }
    Ok(bin)
}

/// A running `circle up`, stopped with SIGTERM on drop.
struct Up {
    child: Child,
}

impl Up {
    /// Starts `circle up` on `home`; returns once it says it is running, with how long that
    /// took.
    fn start(bin: &Path, home: &Path) -> anyhow::Result<(Up, Duration)> {
        let start = Instant::now();
        let mut child = Command::new(bin)
            .args(["up", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .env("CIRCLE_HOME", home)
            .env("CIRCLE_PASSPHRASE", passphrase())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start `circle up`")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let up = Up { child };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("is running") {
                    let _ = tx.send(Instant::now());
                }
            }
        });
        let running = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| anyhow!("`circle up` did not say it was running within 120 s"))?;
        Ok((up, running.duration_since(start)))
    }

    /// (peak RSS, current RSS) in MiB, from /proc.
    fn memory(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("could not read the node's /proc status (is this Linux?)")?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb * 1024.0 / MIB)
                .ok_or_else(|| anyhow!("no {name} in /proc status"))
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn passphrase() -> String {
    String::from_utf8_lossy(PASSPHRASE).into_owned()
}

/// Bytes the files under `dir` take on disk (allocated blocks).
fn disk_bytes(dir: &Path) -> anyhow::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            disk_bytes(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}

/// The unlock: argon2id of the passphrase under the parameters a new home gets (the median of
/// five), the part of every start-up and every command run with the node stopped that is
/// there on purpose.
fn unlock_figure(scenario: &str) -> anyhow::Result<Figure> {
    use circle_crypto::{KdfParams, PassphraseSalt, StoreKey};
    let params = KdfParams::RECOMMENDED;
    let salt = PassphraseSalt::generate();
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        StoreKey::from_passphrase(passphrase().as_bytes(), &salt, &params)
            .map_err(|e| anyhow!("argon2id failed: {e}"))?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let median = crate::report::percentile(&crate::report::sorted(times), 50.0).unwrap_or(0.0);
    Ok(Figure::new(
        scenario,
        "unlock: argon2id of the passphrase",
        median,
        Unit::Ms,
    )
    .target(Target::at_most(1000.0, "≤ 1 s on a laptop core"))
    .note(format!(
        "{} MiB, {} passes, {} lane (the vault's parameters for new homes); median of 5",
        params.memory_kib / 1024,
        params.passes,
        params.lanes
    )))
}

/// Runs the resource scenario; `holding` is a stopped node's home with many messages.
pub fn run(holding: &Holding, idle: Duration, report: &mut Report) -> anyhow::Result<()> {
    report.progress("resources: building the circle binary if needed");
    let bin = circle_binary()?;
    let home = tempfile::tempdir().context("could not make a temporary home")?;
    let init = Command::new(&bin)
        .args(["init", "--name", "idle"])
        .env("CIRCLE_HOME", home.path())
        .env("CIRCLE_PASSPHRASE", passphrase())
        .stdin(Stdio::null())
        .output()
        .context("could not run `circle init`")?;
    anyhow::ensure!(
        init.status.success(),
        "`circle init` failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    report.progress(format!("resources: an idle node, {} s", idle.as_secs()));
    let (up, empty_start) = Up::start(&bin, home.path())?;
    std::thread::sleep(idle);
    let (idle_peak, idle_now) = up.memory()?;
    drop(up);

    let scenario = "memory, disk, start-up (the circle binary)";
    report.add(unlock_figure(scenario)?);
    report.add(
        Figure::new(
            scenario,
            "idle node: peak RSS (VmHWM)",
            idle_peak,
            Unit::MiB,
        )
        .limit("target 30 MB", Some(IDLE_TARGET_MIB))
        .target(Target::at_most(IDLE_TARGET_MIB, "≤ 30 MB"))
        .note(format!(
            "RSS after {} s idle: {idle_now:.1} MiB",
            idle.as_secs()
        )),
    );

    let m = holding.messages;
    let on_disk = disk_bytes(holding.home.path())? as f64;
    let logical = (m * MESSAGE_BYTES) as f64;
    report.add(
        Figure::new(
            scenario,
            &format!("disk holding {m} messages"),
            on_disk / MIB,
            Unit::MiB,
        )
        .limit("logical size (message text)", Some(logical / MIB))
        .target(Target::ratio_at_most(2.5, "≤ 2.5x the logical size"))
        .note("whole home directory, allocated blocks, after a clean stop"),
    );
    report.progress(format!("resources: a node holding {m} messages"));
    let (up, full_start) = Up::start(&bin, holding.home.path())?;
    std::thread::sleep(idle);
    let (peak, now) = up.memory()?;
    drop(up);
    report.add(
        Figure::new(
            scenario,
            &format!("node holding {m} messages: peak RSS"),
            peak,
            Unit::MiB,
        )
        .limit("idle node's peak", Some(idle_peak))
        .note(format!("RSS after {} s: {now:.1} MiB", idle.as_secs())),
    );
    report.add(
        Figure::new(
            scenario,
            &format!(
                "node holding {m} messages: RSS {} s after start",
                idle.as_secs()
            ),
            now,
            Unit::MiB,
        )
        .limit("idle node's RSS", Some(idle_now))
        .target(Target::at_most(HOLDING_TARGET_MIB, "≤ 80 MiB")),
    );
    report.add(
        Figure::new(
            scenario,
            &format!("start-up holding {m} messages"),
            full_start.as_secs_f64(),
            Unit::Secs,
        )
        .limit(
            "start-up of the empty node",
            Some(empty_start.as_secs_f64()),
        )
        .target(Target::ratio_at_most(1.5, "≤ 1.5x the empty node's"))
        .note("process start to 'is running' (passphrase KDF, store open, listening, API up)"),
    );
    backup(&bin, holding, report)
}

/// Runs the circle binary on `home` with the bench passphrase (and `env`); its time and stdout.
fn timed(
    bin: &Path,
    home: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<(f64, String)> {
    let start = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .env("CIRCLE_HOME", home)
        .env("CIRCLE_PASSPHRASE", passphrase())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run `circle {}`", args.join(" ")))?;
    anyhow::ensure!(
        out.status.success(),
        "`circle {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((
        start.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// Backing up the node holding many messages (stopped) and restoring it on a new home, through
/// the circle binary, next to copying its home directory.
fn backup(bin: &Path, holding: &Holding, report: &mut Report) -> anyhow::Result<()> {
    let m = holding.messages;
    let scenario = "backup and restore (the circle binary)";
    let work = tempfile::tempdir().context("could not make a temporary directory")?;
    let home = holding.home.path();
    report.progress(format!("backup: a node holding {m} messages"));
    let (_, phrase) = timed(bin, home, &["recovery", "show"], &[])?;
    let file = work.path().join("backup.cbk");
    let file_arg = file.to_str().context("a temporary path that is not text")?;
    let (backup_secs, _) = timed(bin, home, &["backup", file_arg], &[])?;
    let bytes = std::fs::metadata(&file)?.len() as f64;
    // What someone without backups would do: copy the home directory.
    let start = Instant::now();
    let copied = Command::new("cp")
        .arg("-a")
        .arg(home)
        .arg(work.path().join("copy"))
        .status()
        .context("could not run cp")?;
    anyhow::ensure!(copied.success(), "cp -a of the home directory failed");
    let copy_secs = start.elapsed().as_secs_f64();
    report.progress("backup: restoring it on a new home");
    let (restore_secs, _) = timed(
        bin,
        &work.path().join("restored"),
        &["restore", file_arg],
        &[("CIRCLE_RECOVERY_PHRASE", phrase.trim())],
    )?;
    let copy = "copying the home directory (cp -a)";
    report.add(
        Figure::new(
            scenario,
            &format!("backup of {m} messages"),
            backup_secs,
            Unit::Secs,
        )
        .limit(copy, Some(copy_secs))
        .note("`circle backup FILE`: unlock, a consistent snapshot, sealed (argon2id of the phrase included)"),
    );
    report.add(
        Figure::new(
            scenario,
            &format!("restore of {m} messages"),
            restore_secs,
            Unit::Secs,
        )
        .limit(copy, Some(copy_secs))
        .note("`circle restore FILE` on a new home: open, check, rebuild the store, load every circle"),
    );
    report.add(
        Figure::new(
            scenario,
            &format!("backup file, {m} messages"),
            bytes / MIB,
            Unit::MiB,
        )
        .limit(
            "the home directory on disk",
            Some(disk_bytes(home)? as f64 / MIB),
        ),
    );
    Ok(())
}
