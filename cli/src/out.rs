//! Standard output that a closed pipe ends quietly.
//!
//! `circle feed T | head -1` closes the pipe while `circle` still writes; std's `println!`
//! panics then. Every `println!`/`print!` of this crate goes through [`write`] instead (the
//! crate root shadows both macros), which notes the closed pipe and drops the rest of the
//! output: the command finishes what it was doing (a write to the store is never cut half-way)
//! and exits 0, as ripgrep does. `feed --follow` asks [`closed`] and stops. Writing to a
//! closed stderr is ignored (`eprintln!` is shadowed too).

use std::{
    fmt,
    io::{ErrorKind, Write},
    sync::atomic::{AtomicBool, Ordering},
};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whoever read our standard output has closed it: nothing more will be read.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Writes to standard output; after a broken pipe, writes nothing more.
pub fn write(args: fmt::Arguments<'_>) {
    if closed() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        // Any other failure (a full disk behind a redirect) is no reason to stop either: the
        // command's own work is done or saved regardless.
        if e.kind() == ErrorKind::BrokenPipe {
            CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// Writes to standard error, ignoring a failure: there is nowhere left to report it.
pub fn write_err(args: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Writes `value` as one line of JSON (`--json`): the contract's types, as the API gives them.
pub fn json_line(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => write(format_args!("{line}\n")),
        Err(e) => write_err(format_args!("could not write the answer as JSON: {e}\n")),
    }
}
