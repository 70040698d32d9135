//! The machine's limits that the node's figures are compared with: ed25519 strict
//! verification, XChaCha20-Poly1305 and sled inserts, each on its own.

use std::time::{Duration, Instant};

use anyhow::Context;
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use ed25519_dalek::{Signer, SigningKey};

/// The size of a benchmark message's text, as the issue asks.
pub const MESSAGE_BYTES: usize = 1024;

/// Per-core rates of the crypto a received message needs.
#[derive(Clone, Copy, Debug)]
pub struct Crypto {
    /// ed25519 `verify_strict` of a message-sized body, per second.
    pub verify: f64,
    /// XChaCha20-Poly1305 decryption of 1 KiB, per second.
    pub decrypt: f64,
}

impl Crypto {
    /// Messages per second one core could take in if it did nothing but verify and decrypt.
    pub fn bound(&self) -> f64 {
        1.0 / (1.0 / self.verify + 1.0 / self.decrypt)
    }
}

/// Runs `op` repeatedly for about `budget`; returns operations per second.
fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    // A warm-up so the first measured call is not the first call.
    for _ in 0..100 {
        op();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            op();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Measures the crypto limits, each for about `budget`.
pub fn crypto(budget: Duration) -> anyhow::Result<Crypto> {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let public = key.verifying_key();
    // An envelope's signed body: header, nonce and the ciphertext of 1 KiB of text.
    let body = vec![7u8; MESSAGE_BYTES + 150];
    let signature = key.sign(&body);
    let mut failed = false;
    let verify = rate(budget, || {
        failed |= public.verify_strict(&body, &signature).is_err();
    });
    anyhow::ensure!(!failed, "the benchmark's own signature did not verify");

    let mut k = [0u8; 32];
    rand::fill(&mut k);
    let cipher = XChaCha20Poly1305::new(&k.into());
    let nonce = XNonce::default();
    let aad = [1u8; 100];
    let plain = vec![42u8; MESSAGE_BYTES];
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| anyhow::anyhow!("XChaCha20-Poly1305 encryption failed"))?;
    let decrypt = rate(budget, || {
        failed |= cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            )
            .is_err();
    });
    anyhow::ensure!(!failed, "the benchmark's own ciphertext did not open");
    Ok(Crypto { verify, decrypt })
}

/// Plain sled inserts of message-sized values with 80-byte keys (a message key's size), not
/// flushed: the most a sled tree takes per second on this disk.
pub fn sled_inserts(count: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir().context("could not make a temporary directory")?;
    let db = sled::open(dir.path().join("db")).context("could not open sled")?;
    let tree = db
        .open_tree("messages")
        .context("could not open a sled tree")?;
    let value = vec![9u8; MESSAGE_BYTES + 250];
    let mut key = [0u8; 80];
    rand::fill(&mut key[..72]);
    let start = Instant::now();
    for i in 0..count as u64 {
        key[72..].copy_from_slice(&i.to_be_bytes());
        tree.insert(key, value.as_slice())
            .context("sled insert failed")?;
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    drop(tree);
    drop(db);
    Ok(rate)
}

/// How long sled's `flush` takes after one message-sized insert (what every share waits
/// for before it is gossiped), in ms: every sample, sorted.
pub fn sled_flush(count: usize) -> anyhow::Result<Vec<f64>> {
    let dir = tempfile::tempdir().context("could not make a temporary directory")?;
    let db = sled::open(dir.path().join("db")).context("could not open sled")?;
    let value = vec![9u8; MESSAGE_BYTES + 250];
    let mut samples = Vec::with_capacity(count);
    for i in 0..count as u64 {
        db.insert(i.to_be_bytes(), value.as_slice())
            .context("sled insert failed")?;
        let start = Instant::now();
        db.flush().context("sled flush failed")?;
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(crate::report::sorted(samples))
}
