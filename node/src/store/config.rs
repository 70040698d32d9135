//! How a home's sled database is opened: the one place that says so.
//!
//! sled 0.34's defaults suit a server, not a laptop that also runs a browser: a 1 GiB page
//! cache, filled by anything that reads the whole history once (a node holding 110 000
//! messages sat at about 520 MiB ten seconds after start, see bench/ANALYSIS.md).

use std::path::Path;

/// sled's page cache. The common path touches few pages at a time: the tail of each
/// author's chain, the arrival order's tail, and the `ids` index's leaves, which ingest
/// reaches at random (about 20 MiB for 110 000 messages): 32 MiB keeps them while a node
/// catches up. A node that starts reads little (see `store::notable`), so this is a ceiling,
/// not what an idle node holds.
const CACHE_CAPACITY: u64 = 32 * 1024 * 1024;

/// How often sled's background thread writes what is buffered (milliseconds). Every message
/// reported as sent is flushed explicitly before that; this bounds what a crash can take
/// from the rest (clocks, seen marks), as sled's default does.
const FLUSH_EVERY_MS: u64 = 500;

/// The configuration every open of a home's store uses (the home's own store, a setup, an
/// upgrade, a restore from backup).
pub(crate) fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_CAPACITY)
        .flush_every_ms(Some(FLUSH_EVERY_MS))
        // Smaller files over write speed: sled's default, said here so it is chosen.
        .mode(sled::Mode::LowSpace)
}
