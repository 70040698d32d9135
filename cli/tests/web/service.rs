//! Without a terminal after set-up: `circle service install` makes the node start at login,
//! locked, and puts circle in the applications menu; `circle service remove` undoes it. The
//! service manager is a stand-in that records what it was asked, so no real user session is
//! touched.

use std::{fs, path::Path, process::Command};

use crate::util::CIRCLE;

fn service(dir: &Path, action: &str) -> std::process::Output {
    let bin = dir.join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(CIRCLE)
        .arg("--home")
        .arg(dir.join("my home"))
        .args(["service", action])
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("PATH", path)
        .output()
        .expect("circle runs")
}

#[test]
fn service_install_starts_the_node_locked_at_login_and_adds_circle_to_the_menu() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let asked = dir.path().join("systemctl.log");
    let fake = format!("#!/bin/sh\necho \"$@\" >> '{}'\n", asked.display());
    fs::write(bin.join("systemctl"), fake).unwrap();
    fs::set_permissions(
        bin.join("systemctl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let out = service(dir.path(), "install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit_path = dir.path().join("config/systemd/user/circle.service");
    let unit = fs::read_to_string(&unit_path).expect("a systemd user unit");
    let home = dir.path().join("my home");
    assert!(
        unit.contains(&format!(
            "ExecStart=\"{CIRCLE}\" --home \"{}\" up --locked",
            home.display()
        )),
        "{unit}"
    );
    assert!(unit.contains("WantedBy=default.target"), "{unit}");
    let menu = fs::read_to_string(dir.path().join("data/applications/circle.desktop"))
        .expect("a desktop entry");
    assert!(
        menu.contains("Name=circle") && menu.contains("Terminal=false"),
        "{menu}"
    );
    assert!(
        menu.contains(&format!("--home \"{}\" open", home.display())),
        "the menu entry opens the app: {menu}"
    );
    let calls = fs::read_to_string(&asked).unwrap();
    assert!(
        calls.contains("--user daemon-reload")
            && calls.contains("--user enable --now circle.service"),
        "{calls}"
    );
    // Where systemd's own checker is installed, the unit passes it.
    if let Ok(verify) = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_path)
        .output()
    {
        assert!(
            verify.status.success(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
    }

    let out = service(dir.path(), "remove");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!unit_path.exists() && !dir.path().join("data/applications/circle.desktop").exists());
    let calls = fs::read_to_string(&asked).unwrap();
    assert!(
        calls.contains("--user disable --now circle.service"),
        "{calls}"
    );
    let again = service(dir.path(), "remove");
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to remove"),
        "removing twice says so"
    );
}
