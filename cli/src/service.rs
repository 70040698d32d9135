//! `circle service install|remove`: the node starts at login, locked, and the desktop's
//! application menu gets a "circle" entry that opens the app (`circle open`). A systemd user
//! unit and an XDG desktop entry on Linux; a launchd agent on macOS.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::Ctx;

/// The files `install` writes.
struct Files {
    /// Starts the node at login.
    start: PathBuf,
    /// The application menu's entry (Linux only).
    menu: Option<PathBuf>,
}

fn env_dir(var: &str, fallback: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = dirs::home_dir().ok_or_else(|| anyhow!("cannot find your home directory"))?;
    Ok(home.join(fallback))
}

fn files() -> Result<Files> {
    if cfg!(target_os = "macos") {
        let home = dirs::home_dir().ok_or_else(|| anyhow!("cannot find your home directory"))?;
        return Ok(Files {
            start: home.join("Library/LaunchAgents/org.circle.node.plist"),
            menu: None,
        });
    }
    Ok(Files {
        start: env_dir("XDG_CONFIG_HOME", ".config")?.join("systemd/user/circle.service"),
        menu: Some(env_dir("XDG_DATA_HOME", ".local/share")?.join("applications/circle.desktop")),
    })
}

/// A path as one word for a unit file or a desktop entry's `Exec=` (quoted, `"` and `\`
/// escaped, `%` doubled as both formats need).
fn quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    format!("\"{escaped}\"")
}

fn systemd_unit(circle: &Path, home: &Path) -> String {
    format!(
        "# Made by `circle service install`; `circle service remove` takes it away.\n\
         [Unit]\n\
         Description=circle: your private support circles\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         Environment=NO_COLOR=1\n\
         # Locked until you unlock it in your browser (the circle entry in your applications).\n\
         ExecStart={} --home {} up --locked\n\
         Restart=on-failure\n\
         RestartSec=10\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        quoted(circle),
        quoted(home)
    )
}

fn desktop_entry(circle: &Path, home: &Path) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=circle\n\
         Comment=Your private support circles\n\
         Exec={} --home {} open\n\
         Terminal=false\n\
         Categories=Network;Chat;\n",
        quoted(circle),
        quoted(home)
    )
}

fn launchd_agent(circle: &Path, home: &Path) -> String {
    let xml = |p: &Path| {
        p.to_string_lossy()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>org.circle.node</string>
  <key>ProgramArguments</key>
  <array>
    <string>{}</string><string>--home</string><string>{}</string>
    <string>up</string><string>--locked</string>
  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
</dict>
</plist>
"#,
        xml(circle),
        xml(home)
    )
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs a service manager's command; says in one line what happened when it fails.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    match std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or("it failed")
            .trim()
            .to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// `circle service install`.
pub fn install(ctx: &Ctx) -> Result<()> {
    let circle = std::env::current_exe().context("cannot find the circle program")?;
    let home = std::path::absolute(ctx.home.dir()).context("cannot find the node's home")?;
    let files = files()?;
    if cfg!(target_os = "macos") {
        write(&files.start, &launchd_agent(&circle, &home))?;
        let plist = files.start.to_string_lossy();
        let started = run("launchctl", &["load", "-w", &plist]);
        report(&files, started);
        return Ok(());
    }
    write(&files.start, &systemd_unit(&circle, &home))?;
    if let Some(menu) = &files.menu {
        write(menu, &desktop_entry(&circle, &home))?;
    }
    let started = run("systemctl", &["--user", "daemon-reload"]).and_then(|()| {
        run(
            "systemctl",
            &["--user", "enable", "--now", "circle.service"],
        )
    });
    report(&files, started);
    Ok(())
}

fn report(files: &Files, started: Result<(), String>) {
    println!("Installed: {}", files.start.display());
    if let Some(menu) = &files.menu {
        println!("Installed: {}", menu.display());
    }
    match started {
        Ok(()) => eprintln!(
            "Your node starts whenever you log in, locked until you open circle from your \
             applications menu (or `circle open`) and give your passphrase."
        ),
        Err(why) => eprintln!(
            "It will start the next time you log in; it could not be started now ({why})."
        ),
    }
}

/// `circle service remove`.
pub fn remove(_ctx: &Ctx) -> Result<()> {
    let files = files()?;
    if cfg!(target_os = "macos") {
        let _ = run(
            "launchctl",
            &["unload", "-w", &files.start.to_string_lossy()],
        );
    } else {
        let _ = run(
            "systemctl",
            &["--user", "disable", "--now", "circle.service"],
        );
    }
    let mut removed = 0;
    for path in std::iter::once(&files.start).chain(files.menu.as_ref()) {
        match std::fs::remove_file(path) {
            Ok(()) => {
                println!("Removed: {}", path.display());
                removed += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    if !cfg!(target_os = "macos") {
        let _ = run("systemctl", &["--user", "daemon-reload"]);
    }
    if removed == 0 {
        eprintln!("circle was not installed as a service: nothing to remove.");
    } else {
        eprintln!("Your node no longer starts at login. Your circles are untouched.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_quotes_and_percents_stay_one_word() {
        let unit = systemd_unit(
            Path::new("/opt/my apps/circle"),
            Path::new("/home/a \"b\"/100%"),
        );
        assert!(
            unit.contains(
                r#"ExecStart="/opt/my apps/circle" --home "/home/a \"b\"/100%%" up --locked"#
            ),
            "{unit}"
        );
    }
}
