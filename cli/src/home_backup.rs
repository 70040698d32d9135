//! Your circle keeps your backup: `circle backup --to-circle`, `circle restore --from-circle`,
//! and a home server's `circle relay backups [drop MEMBER]`.

use std::{io::IsTerminal, path::Path};

use anyhow::{Result, anyhow, bail};
use circle_crypto::{Invite, backup::read_header};
use circle_node::{
    Multiaddr, backup as node_backup,
    contract::{HeldBackup, LeaveBackup},
    fetch_backup, human_size,
};

use crate::{backup, ctx::Ctx, passphrase};

/// Reads a size as people write it: `100MiB`, `1GiB`, `500MB`, `750k`, `1048576`.
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| not_a_size(text))?;
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1u64,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(not_a_size(text)),
    };
    let bytes = number * unit as f64;
    if !(1.0..=(1u64 << 40) as f64).contains(&bytes) {
        return Err(not_a_size(text));
    }
    Ok(bytes as u64)
}

fn not_a_size(text: &str) -> anyhow::Error {
    anyhow!("'{text}' is not a size: use for example 100MiB, 1GiB or 500MB")
}

/// `circle backup [FILE] --to-circle CIRCLE`.
pub async fn to_circle(ctx: &Ctx, circle: &str) -> Result<()> {
    let client = ctx.api().await?;
    if std::io::stderr().is_terminal() {
        eprintln!("Leaving your latest backup with the home servers of '{circle}'...");
    }
    let left = client
        .leave_backup(&LeaveBackup {
            circle: circle.to_string(),
        })
        .await?;
    if ctx.json {
        println!("{}", serde_json::to_string(&left)?);
        return Ok(());
    }
    let kept = left
        .home_servers
        .iter()
        .filter(|h| h.refused.is_none())
        .count();
    if kept == 0 {
        let why = left
            .home_servers
            .iter()
            .find_map(|h| h.refused.clone())
            .unwrap_or_default();
        bail!("no home server of '{circle}' kept your backup: {why}");
    }
    for h in &left.home_servers {
        if let Some(why) = &h.refused {
            eprintln!("  home server …{} refused: {why}", short(&h.home_server));
        }
    }
    println!(
        "{} of {} home servers of '{circle}' keep your backup ({}, {})",
        kept,
        left.home_servers.len(),
        human_size(left.bytes),
        left.path
    );
    eprintln!(
        "They cannot read it. On a new computer: `circle restore --from-circle ADDRESS` with \
         your recovery phrase."
    );
    Ok(())
}

fn short(peer: &str) -> &str {
    &peer[peer.len().saturating_sub(8)..]
}

/// The home servers a token or address names: an address as given; an invite's addresses,
/// with each relayed one cut to its home server's part.
fn home_servers(target: &str) -> Result<Vec<Multiaddr>> {
    let target = target.trim();
    if target.starts_with('/') {
        let addr: Multiaddr = target.parse().map_err(|_| {
            anyhow!("'{target}' is not an address: use /ip4/.../tcp/.../p2p/<peer id>")
        })?;
        return Ok(vec![addr]);
    }
    let invite = Invite::from_token(target).map_err(|e| {
        anyhow!("this is neither an invite token nor a home server's address ({e})")
    })?;
    let mut out: Vec<Multiaddr> = Vec::new();
    for text in &invite.addrs {
        // /ip4/.../p2p/<home server>/p2p-circuit/p2p/<inviter>: the part before the circuit.
        let head = text.split("/p2p-circuit").next().unwrap_or(text);
        let Ok(candidate) = head.parse::<Multiaddr>() else {
            continue;
        };
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    if out.is_empty() {
        bail!("the invite names no address to fetch the backup from");
    }
    Ok(out)
}

/// `circle restore --from-circle TOKEN-OR-ADDRESS`.
pub async fn restore_from_circle(
    ctx: &Ctx,
    target: &str,
    phrase_file: Option<&Path>,
) -> Result<()> {
    if ctx.home.is_initialized() {
        bail!(
            "a circle node is already set up in {}: restore into a new home with --home DIR",
            ctx.home.dir().display()
        );
    }
    let candidates = home_servers(target)?;
    let phrase = backup::read_phrase(phrase_file)?;
    let keys = phrase.keys(ctx.home.kdf())?;
    let terminal = std::io::stderr().is_terminal();
    let mut fetched = None;
    let mut why = Vec::new();
    for addr in &candidates {
        if terminal {
            eprintln!("Asking the home server at {addr} for your backup...");
        }
        let shown = |got: u64, of: u64| {
            if terminal && of > 0 {
                eprint!("\rfetching: {}% of {}   ", got * 100 / of, human_size(of));
                if got >= of {
                    eprintln!();
                }
            }
        };
        match fetch_backup(&keys, addr.clone(), shown).await {
            Ok(backup) => {
                fetched = Some(backup);
                break;
            }
            Err(e) => why.push(e.to_string()),
        }
    }
    let Some(fetched) = fetched else {
        bail!(
            "{}",
            why.last()
                .cloned()
                .unwrap_or_else(|| "no home server answered".into())
        );
    };
    let (header, _) = read_header(&fetched.bytes)
        .map_err(|e| anyhow!("what the home server sent is not a backup file that opens: {e}"))?;
    eprintln!(
        "Fetched a backup made {}, holding {} ({}).",
        circle_node::rfc3339(header.created_at_ms),
        backup::holds(&header.holds),
        human_size(fetched.bytes.len() as u64)
    );
    // The same restore as from a file: from a private temporary file, removed after.
    let dir = private_temp_dir()?;
    let file = dir.join("backup.cbk");
    let restored = write_private(&file, &fetched.bytes).and_then(|()| {
        let pass = passphrase::new(ctx.home.dir())?;
        Ok(node_backup::restore(
            &file,
            &phrase,
            &ctx.home,
            &pass,
            backup::progress("restoring"),
        )?)
    });
    let _ = std::fs::remove_dir_all(&dir);
    let restored = restored?;
    println!(
        "restored {} {} into {}",
        restored.circles,
        if restored.circles == 1 {
            "circle"
        } else {
            "circles"
        },
        ctx.home.dir().display()
    );
    eprintln!(
        "Start it with `circle up`: it first catches up with what you wrote after this backup, \
         from the other members."
    );
    Ok(())
}

/// A new directory only this user can read, under the system's temporary directory.
fn private_temp_dir() -> Result<std::path::PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("circle-restore-{}-{nanos}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| anyhow!("cannot make a temporary directory {}: {e}", dir.display()))?;
    Ok(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}

/// `circle relay backups`.
pub async fn list(ctx: &Ctx) -> Result<()> {
    let client = ctx.api().await?;
    let held = client.held_backups().await?;
    if ctx.json {
        println!("{}", serde_json::to_string(&held)?);
        return Ok(());
    }
    if held.is_empty() {
        eprintln!("No member has left a backup here.");
        return Ok(());
    }
    for h in &held {
        println!("{}", line(h));
    }
    Ok(())
}

fn line(h: &HeldBackup) -> String {
    let who = match &h.member {
        Some(m) => format!("{} ({})", m.name, m.fingerprint),
        None => "a former member".to_string(),
    };
    format!(
        "{who} in '{}': {}, kept {}  [holder {}]",
        h.circle_name,
        human_size(h.bytes),
        circle_node::rfc3339(h.kept_at_ms),
        &h.holder[..h.holder.len().min(12)]
    )
}

/// `circle relay backups drop MEMBER`.
pub async fn drop_member(ctx: &Ctx, member: &str) -> Result<()> {
    let client = ctx.api().await?;
    let dropped = client.drop_held_backup(member).await?;
    if ctx.json {
        println!("{}", serde_json::to_string(&dropped)?);
    } else {
        println!("dropped: {}", line(&dropped));
    }
    Ok(())
}
