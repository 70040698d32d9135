//! Getting the passphrase that protects the node's keys.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use zeroize::Zeroizing;

/// Shortest passphrase accepted when setting up a node.
const MIN_CHARS: usize = 8;

/// The passphrase from CIRCLE_PASSPHRASE, or typed at a prompt.
pub fn get(home: &std::path::Path) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("CIRCLE_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "the node's passphrase is needed: set CIRCLE_PASSPHRASE, or run this in a terminal to type it"
        );
    }
    let p = rpassword::prompt_password(format!("Passphrase for {}: ", home.display()))?;
    Ok(Zeroizing::new(p))
}

/// A new passphrase: from CIRCLE_PASSPHRASE, or typed twice.
pub fn new(home: &std::path::Path) -> Result<Zeroizing<String>> {
    let p = match std::env::var("CIRCLE_PASSPHRASE") {
        Ok(p) => Zeroizing::new(p),
        Err(_) => {
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
    if p.chars().count() < MIN_CHARS {
        bail!("the passphrase is too short: use at least {MIN_CHARS} characters");
    }
    Ok(p)
}
