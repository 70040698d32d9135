//! `circle open`: the web app in the person's own browser, signed in with a one-time link.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result, bail};

use crate::{Ctx, client::Client};

/// Longest wait for a node started in the background to answer.
const START_WAIT: Duration = Duration::from_secs(60);

/// `circle open [--print] [--sign-out-all]`.
pub async fn open(ctx: &Ctx, print: bool, sign_out_all: bool) -> Result<()> {
    if sign_out_all {
        let client = ctx.require_running("sign out").await?;
        client.sign_out_all().await?;
        eprintln!("Every browser is signed out. Run `circle open` to sign in again.");
        return Ok(());
    }
    // The sign-in link passes through the home: it must be private, also if it was made
    // before circle kept it so.
    ctx.home.create_private()?;
    let client = match ctx.client().await {
        Some(client) => client,
        None => start_in_background(ctx).await?,
    };
    let link = client.sign_in_link().await?;
    let url = link.url.as_str();
    if print {
        println!("{url}");
        return Ok(());
    }
    eprintln!("Opening circle in your browser...");
    // The opener's arguments are readable by every user of this computer (the process list):
    // it gets a private file that leads on to the link, never the link itself.
    let page = ctx.home.open_page();
    ctx.home
        .write_private(&page, hand_over(url).as_bytes())
        .context("cannot write the page that opens circle in your browser")?;
    let target = if cfg!(windows) {
        page.display().to_string()
    } else {
        file_url(&page)
    };
    if let Err(e) = open_browser(&target) {
        let _ = std::fs::remove_file(&page);
        eprintln!("Could not open a browser ({e}). Open this link yourself within two minutes:");
        println!("{url}");
    }
    Ok(())
}

/// A page that goes on to `url` at once, and loads nothing else.
fn hand_over(url: &str) -> String {
    let url = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0; url={url}\">\
         <title>Opening circle</title></head>\n\
         <body><p><a href=\"{url}\">Open circle</a></p></body></html>\n"
    )
}

/// `path` as a `file://` URL (bytes other than letters, digits and `/._~-` percent-encoded).
fn file_url(path: &std::path::Path) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/._~-".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Starts `circle up --locked` for this home as a process of its own that outlives this
/// command, and waits until it answers. It serves the page that unlocks it (or sets it up, in
/// a new home), so nothing here asks for the passphrase.
async fn start_in_background(ctx: &Ctx) -> Result<Client> {
    ctx.home.create_dir()?;
    let log = ctx.home.dir().join("node.log");
    // Readable by this user alone: it may name a circle someone reached out in.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let out = options
        .open(&log)
        .with_context(|| format!("cannot write the node's log {}", log.display()))?;
    let mut up = Command::new(std::env::current_exe().context("cannot find the circle program")?);
    up.arg("--home")
        .arg(ctx.home.dir())
        .args(["up", "--locked"])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    #[cfg(unix)]
    {
        // Its own process group: closing this terminal or pressing Ctrl-C here leaves it be.
        use std::os::unix::process::CommandExt;
        up.process_group(0);
    }
    let mut child = up.spawn().context("could not start the node")?;
    eprintln!("Starting your node...");
    let deadline = tokio::time::Instant::now() + START_WAIT;
    loop {
        if let Some(client) = ctx.client().await {
            eprintln!(
                "Your node runs in the background now (process {}; its log is {}).",
                child.id(),
                log.display()
            );
            return Ok(client);
        }
        if let Some(status) = child.try_wait()? {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let last = said
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            bail!(
                "the node did not start ({status}): {}",
                last.trim_start_matches("error: ")
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "the node has not answered after {} s: see its log {}",
                START_WAIT.as_secs(),
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens `url` in the default browser (the program the operating system uses to open
/// links: `xdg-open`, found on `PATH`, on Linux).
fn open_browser(url: &str) -> Result<()> {
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        Command::new("xdg-open")
    };
    let status = command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("no program to open a browser with")?;
    if !status.success() {
        bail!("the browser opener failed ({status})");
    }
    Ok(())
}
