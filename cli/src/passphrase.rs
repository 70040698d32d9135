//! Getting the passphrase that protects the node's keys.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use zeroize::Zeroizing;

/// The passphrase from CIRCLE_PASSPHRASE, the file CIRCLE_PASSPHRASE_FILE names (for
/// services: systemd's `LoadCredential=`), or typed at a prompt.
pub fn get(home: &std::path::Path) -> Result<Zeroizing<String>> {
    if let Some(p) = given()? {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "the node's passphrase is needed: set CIRCLE_PASSPHRASE, or run this in a terminal to type it"
        );
    }
    let p = rpassword::prompt_password(format!("Passphrase for {}: ", home.display()))?;
    Ok(Zeroizing::new(p))
}

/// The passphrase if it can be had without asking (CIRCLE_PASSPHRASE or its file).
pub fn at_hand() -> Option<Zeroizing<String>> {
    given().ok().flatten()
}

/// The passphrase given by the environment, if any: CIRCLE_PASSPHRASE, or the first line of
/// the file CIRCLE_PASSPHRASE_FILE names.
fn given() -> Result<Option<Zeroizing<String>>> {
    if let Ok(p) = std::env::var("CIRCLE_PASSPHRASE") {
        return Ok(Some(Zeroizing::new(p)));
    }
    let Some(path) = std::env::var_os("CIRCLE_PASSPHRASE_FILE") else {
        return Ok(None);
    };
    let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "could not read the passphrase file {} (CIRCLE_PASSPHRASE_FILE): {e}",
            std::path::Path::new(&path).display()
        )
    })?);
    let line = text.lines().next().unwrap_or_default();
    Ok(Some(Zeroizing::new(line.to_string())))
}

/// A new passphrase: from CIRCLE_PASSPHRASE or CIRCLE_PASSPHRASE_FILE, or typed twice.
pub fn new(home: &std::path::Path) -> Result<Zeroizing<String>> {
    let p = match given()? {
        Some(p) => p,
        None => {
            if !std::io::stdin().is_terminal() {
                bail!(
                    "choose a passphrase: set CIRCLE_PASSPHRASE, or run this in a terminal to type it"
                );
            }
            eprintln!(
                "Choose a passphrase. It protects your keys and circles on this device; it cannot be recovered."
            );
            let first = Zeroizing::new(rpassword::prompt_password(format!(
                "New passphrase for {}: ",
                home.display()
            ))?);
            let again = Zeroizing::new(rpassword::prompt_password("Type it again: ")?);
            if *first != *again {
                bail!("the two passphrases differ: run `circle init` again");
            }
            first
        }
    };
    circle_node::check_new_passphrase(&p)?;
    Ok(p)
}
