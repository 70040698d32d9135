//! The recovery phrase, backups and restore: `circle recovery show`, `circle backup`,
//! `circle restore`.

use std::{io::IsTerminal, path::Path};

use anyhow::{Context, Result, anyhow, bail};
use circle_crypto::recovery::RecoveryPhrase;
use circle_node::{
    backup::{self, Progress},
    contract::{ShowPhrase, WriteBackup},
};
use zeroize::Zeroizing;

use crate::{ctx::Ctx, passphrase};

/// Where scripts give the recovery phrase.
const PHRASE_ENV: &str = "CIRCLE_RECOVERY_PHRASE";

/// Shows a phrase made just now, once, with why it matters (the words alone on stdout).
pub fn show_new_phrase(phrase: &RecoveryPhrase) {
    eprintln!();
    eprintln!(
        "This is your recovery phrase. Please write it down on paper and keep it somewhere safe:"
    );
    eprintln!();
    println!("{}", phrase.words().as_str());
    eprintln!();
    eprintln!(
        "With these 24 words and a backup (`circle backup FILE`) you can bring back your circles \
         on a new computer, even if you forget your passphrase. Anyone who has them and your \
         backup can read it, so keep them to yourself. You can see them again with \
         `circle recovery show`."
    );
}

/// Tells the person, once, that a home set up before recovery phrases now has one.
pub fn tell_new_phrase(store: &circle_node::Store) {
    if store.take_recovery_notice().unwrap_or(false) {
        eprintln!(
            "A recovery phrase was made for you: it opens your backups on a new computer. Run \
             `circle recovery show` and write it down."
        );
    }
}

/// `circle recovery show`.
pub async fn show_phrase(ctx: &Ctx) -> Result<()> {
    let client = ctx.api().await?;
    let pass = passphrase::get(ctx.home.dir())?;
    let phrase = client
        .recovery_phrase(&ShowPhrase {
            passphrase: pass.to_string(),
        })
        .await?;
    eprintln!("Your recovery phrase (keep it written down, and to yourself):");
    println!("{}", phrase.words);
    Ok(())
}

/// The recovery phrase: from `--phrase-file`, CIRCLE_RECOVERY_PHRASE, or typed.
pub(crate) fn read_phrase(file: Option<&Path>) -> Result<RecoveryPhrase> {
    let text = if let Some(file) = file {
        Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
            anyhow!(
                "could not read the recovery phrase file {}: {e}",
                file.display()
            )
        })?)
    } else if let Ok(text) = std::env::var(PHRASE_ENV) {
        Zeroizing::new(text)
    } else {
        if !std::io::stdin().is_terminal() {
            bail!(
                "the recovery phrase is needed: set {PHRASE_ENV}, pass --phrase-file FILE, or run this in a terminal to type it"
            );
        }
        eprintln!("Type your recovery phrase (24 words), then press Enter:");
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .context("could not read the recovery phrase")?;
        line
    };
    RecoveryPhrase::parse(&text).map_err(|e| match e {
        circle_crypto::CryptoError::Malformed(why) => anyhow!("{why}"),
        other => anyhow!("{other}"),
    })
}

/// A progress line on stderr, rewritten in place in a terminal.
pub(crate) fn progress(what: &'static str) -> impl FnMut(Progress) {
    let terminal = std::io::stderr().is_terminal();
    move |p: Progress| {
        if terminal && p.total > 0 {
            eprint!("\r{what}: {}%   ", p.done.min(p.total) * 100 / p.total);
            if p.done >= p.total {
                eprintln!();
            }
        }
    }
}

/// "3 circles, 1204 messages" ("1 circle, 1 message").
pub(crate) fn holds(holds: &std::collections::BTreeMap<String, u64>) -> String {
    let n = |k: &str, one: &str| {
        let n = holds.get(k).copied().unwrap_or(0);
        format!("{n} {}", if n == 1 { one } else { k })
    };
    format!("{}, {}", n("circles", "circle"), n("messages", "message"))
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / (1 << 10) as f64),
        b => format!("{b} bytes"),
    }
}

/// The absolute form of `file` (the node may run in another directory).
fn absolute(file: &Path) -> Result<std::path::PathBuf> {
    std::path::absolute(file).with_context(|| format!("cannot find {}", file.display()))
}

/// `circle backup FILE`.
pub async fn backup(ctx: &Ctx, file: &Path) -> Result<()> {
    let path = absolute(file)?;
    if path.is_dir() {
        bail!("{} is a directory: name the backup file", path.display());
    }
    let client = ctx.api().await?;
    if std::io::stderr().is_terminal() {
        eprintln!("Backing up to {}...", path.display());
    }
    let info = client
        .backup(&WriteBackup {
            path: path.display().to_string(),
        })
        .await?;
    if ctx.json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        println!(
            "backed up {} ({}) to {}",
            holds(&info.holds),
            size(info.bytes),
            info.path
        );
        eprintln!(
            "It opens with your recovery phrase alone (`circle recovery show`); check it any \
             time with `circle backup --check`."
        );
    }
    Ok(())
}

/// `circle backup --check FILE`.
pub fn check(ctx: &Ctx, file: &Path, phrase_file: Option<&Path>) -> Result<()> {
    let header = backup::header(file)?;
    if std::io::stdin().is_terminal() {
        eprintln!(
            "{}: a backup made {}, holding {}.",
            file.display(),
            circle_node::rfc3339(header.created_at_ms),
            holds(&header.holds)
        );
    }
    let phrase = read_phrase(phrase_file)?;
    let found = backup::check(file, &phrase, progress("checking"))?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "restores": true,
                "created_at_ms": found.header.created_at_ms,
                "holds": found.header.holds,
                "circles": found.circles,
                "peer_id": found.peer_id,
            })
        );
    } else {
        println!(
            "the backup restores: made {}, {}, every record readable",
            circle_node::rfc3339(found.header.created_at_ms),
            holds(&found.header.holds)
        );
    }
    Ok(())
}

/// `circle restore FILE`.
pub fn restore(ctx: &Ctx, file: &Path, phrase_file: Option<&Path>) -> Result<()> {
    if ctx.home.is_initialized() {
        bail!(
            "a circle node is already set up in {}: restore into a new home with --home DIR",
            ctx.home.dir().display()
        );
    }
    let header = backup::header(file)?;
    if std::io::stdin().is_terminal() {
        eprintln!(
            "Restoring a backup made {}, holding {}.",
            circle_node::rfc3339(header.created_at_ms),
            holds(&header.holds)
        );
    }
    let phrase = read_phrase(phrase_file)?;
    let pass = passphrase::new(ctx.home.dir())?;
    let restored = backup::restore(file, &phrase, &ctx.home, &pass, progress("restoring"))?;
    println!(
        "restored {} from a backup made {} into {}",
        holds(&restored.header.holds),
        circle_node::rfc3339(restored.header.created_at_ms),
        ctx.home.dir().display()
    );
    eprintln!(
        "Start it with `circle up`: it first catches up with what you wrote after this backup, \
         from the other members."
    );
    Ok(())
}

/// The line `circle status` gives the last backup.
pub fn print_last(last: Option<&circle_node::backup::BackupInfo>) {
    if let Some(last) = last {
        println!(
            "backup:    last {}, {} ({}), {}",
            circle_node::rfc3339(last.created_at_ms),
            last.path,
            size(last.bytes),
            holds(&last.holds)
        );
    }
}
