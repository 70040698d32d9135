//! Taking in many messages: sustained ingest on one node, joining a circle with a history,
//! and catching up after being away.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use circle_crypto::{CircleId, Envelope};
use circle_node::{Circles, Home, Ingest, JoinResponse, Node, now_secs};
use tempfile::TempDir;

use crate::{
    circle_net::{self, Member, PASSPHRASE, PATIENCE},
    limits::{Crypto, MESSAGE_BYTES},
    report::{Figure, Report, Target, Unit},
};

/// A node's circles in a fresh home, with no network.
pub(crate) fn offline(nick: &str) -> anyhow::Result<(Circles, TempDir)> {
    let dir = tempfile::tempdir().context("could not make a temporary home")?;
    let store = Home::new(dir.path()).init(PASSPHRASE, nick)?;
    Ok((Circles::load(store)?, dir))
}

/// `admin` lets `joiner` into `circle` through the real join exchange, with no network.
pub(crate) fn admit(admin: &Circles, circle: &CircleId, joiner: &Circles) -> anyhow::Result<()> {
    let (invite, _) = admin.create_invite(circle, now_secs() + 3600, 1, None, vec![])?;
    let secret = joiner.join_secret(&invite)?;
    let request = Circles::join_request(&invite, &secret, "reader", joiner.node_id())?;
    match admin.admit(&request, now_secs(), vec![], joiner.node_id())? {
        (JoinResponse::Welcome(welcome), _) => {
            joiner.accept_welcome(&invite, secret, &welcome)?;
            Ok(())
        }
        (JoinResponse::Refused { reason }, _) => Err(anyhow!("admission refused: {reason}")),
        (JoinResponse::Preview(_), _) => Err(anyhow!("a join was answered as a preview")),
    }
}

/// Writes `count` 1 KiB shares by `circles`' member (each sealed, signed and flushed, as a
/// share is); returns their wire bytes.
pub(crate) fn write(
    circles: &Circles,
    circle: &CircleId,
    tag: &str,
    count: usize,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(count);
    let step = (count / 5).max(1);
    for k in 0..count {
        let written = circles.share(circle, &circle_net::text(tag, k as u64, MESSAGE_BYTES))?;
        out.extend(written.iter().map(|e| e.to_bytes().to_vec()));
        if (k + 1) % step == 0 && count >= 10_000 {
            crate::report::progress(format!("  written {}/{count}", k + 1));
        }
    }
    Ok(out)
}

/// Sustained ingest: `count` messages by another member, each decoded and verified, checked,
/// decrypted and stored, as gossip brings them. Also times the parts on their own.
pub fn ingest(count: usize, crypto: Crypto, report: &mut Report) -> anyhow::Result<f64> {
    report.progress(format!("ingest: writing {count} messages by an author"));
    let (author, _a) = offline("author")?;
    let circle = author.create("ingest", None)?;
    let (reader, _r) = offline("reader")?;
    admit(&author, &circle, &reader)?;
    let (store_only, _s) = offline("store-only")?;
    admit(&author, &circle, &store_only)?;
    let wires = write(&author, &circle, "i", count)?;

    report.progress("ingest: taking them in on one node");
    let start = Instant::now();
    let mut new = 0;
    for bytes in &wires {
        let envelope = Envelope::from_bytes(bytes)?;
        if reader.ingest(&envelope)? == Ingest::New {
            new += 1;
        }
    }
    reader.store().flush()?;
    let total = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        new == wires.len(),
        "only {new} of {} were taken in",
        wires.len()
    );
    let rate = count as f64 / total;

    // The parts: decoding with the signature check; storing alone (on a third node).
    let start = Instant::now();
    let envelopes = wires
        .iter()
        .map(|b| Envelope::from_bytes(b))
        .collect::<Result<Vec<_>, _>>()?;
    let decode = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for e in &envelopes {
        store_only.store().put_envelope(e, None)?;
    }
    store_only.store().flush()?;
    let store = start.elapsed().as_secs_f64();
    let decrypt = count as f64 / crypto.decrypt;
    let per = |s: f64| s / count as f64 * 1e6;
    report.add(
        Figure::new(
            "sustained ingest (verify, decrypt, store)",
            &format!("{count} messages of 1 KiB, one node"),
            rate,
            Unit::PerSec,
        )
        .limit(
            "crypto bound: verify_strict + XChaCha20-Poly1305",
            Some(crypto.bound()),
        )
        .target(Target::ratio_at_least(0.5, "≥ half the crypto bound"))
        .note(format!(
            "per message: {:.1} µs in all; decode+verify {:.1} µs, decrypt ~{:.1} µs, \
             store transaction alone {:.1} µs",
            per(total),
            per(decode),
            per(decrypt),
            per(store)
        )),
    );
    Ok(rate)
}

/// Join: a new member redeems an invite to a circle with `history` messages; how long until
/// the join is admitted, and until the whole history is readable.
pub async fn join(history: usize, crypto: Crypto, report: &mut Report) -> anyhow::Result<()> {
    report.progress(format!("join: a circle with {history} messages"));
    let alice = Member::new("alice").await?;
    let circle = alice.node.create("join", None).await?;
    let writer = alice.circles().clone();
    tokio::task::spawn_blocking(move || write(&writer, &circle, "h", history))
        .await
        .map_err(|e| anyhow!("writer failed: {e}"))??;
    let carol = Member::new("carol").await?;
    let invite = alice
        .node
        .invite(&circle, Duration::from_secs(3600), 1)
        .await?
        .to_token();
    report.progress("join: carol redeems the invite");
    let start = Instant::now();
    tokio::time::timeout(PATIENCE, carol.node.join(&invite, None))
        .await
        .map_err(|_| anyhow!("carol could not join within {PATIENCE:?}"))??;
    let admitted = start.elapsed().as_secs_f64();
    let done = circle_net::each_until(
        std::slice::from_ref(carol.circles()),
        PATIENCE * 2,
        move |c| {
            if c.store().message_count(&circle) < history {
                return Ok(false);
            }
            let shares = c.feed(&circle, 0, None)?;
            Ok(shares
                .iter()
                .filter(|i| i.kind == circle_node::contract::Kind::Share)
                .count()
                >= history)
        },
    )
    .await?;
    let readable = done
        .first()
        .map(|t| t.duration_since(start).as_secs_f64())
        .ok_or_else(|| anyhow!("no time for carol"))?;
    let scenario = "join (invite redeemed)";
    report.add(Figure::new(
        scenario,
        "admitted (keys held)",
        admitted * 1000.0,
        Unit::Ms,
    ));
    report.add(
        Figure::new(
            scenario,
            &format!("history of {history} messages readable"),
            readable * 1000.0,
            Unit::Ms,
        )
        .limit(
            "verifying and decrypting the history at the crypto bound",
            Some(history as f64 / crypto.bound() * 1000.0),
        ),
    );
    carol.node.shutdown().await;
    alice.node.shutdown().await;
    Ok(())
}

/// What catch-up leaves for the resource scenario: a stopped node's home and how many
/// messages it holds.
pub struct Holding {
    pub home: TempDir,
    pub messages: usize,
}

/// Catch-up: bob's node is away while alice writes `m` messages, then comes back; how long
/// until bob holds all of them, for each `m` in `sizes`.
pub async fn catch_up(
    sizes: &[usize],
    crypto: Crypto,
    report: &mut Report,
) -> anyhow::Result<Holding> {
    report.progress("catch-up: alice and bob");
    let alice = Member::new("alice").await?;
    let circle = alice.node.create("catch-up", None).await?;
    let invite = alice
        .node
        .invite(&circle, Duration::from_secs(3600), 1)
        .await?
        .to_token();
    let mut bob = Member::new("bob").await?;
    bob.node.join(&invite, None).await?;
    let mut held = 0usize;
    for &m in sizes {
        let (_, dir) = bob.stop().await;
        report.progress(format!("catch-up: bob is away; alice writes {m} messages"));
        let writer = alice.circles().clone();
        tokio::task::spawn_blocking(move || write(&writer, &circle, "c", m))
            .await
            .map_err(|e| anyhow!("writer failed: {e}"))??;
        let circles = Member::reopen(&dir)?;
        let before = circles.store().message_count(&circle);
        let mut stored = circles.watch();
        report.progress(format!("catch-up: bob is back ({before} held)"));
        let start = Instant::now();
        let node = Node::start(circles, circle_net::config()).await?;
        tokio::time::timeout(PATIENCE * 5, stored.wait_for(|n| *n >= m as u64))
            .await
            .map_err(|_| anyhow!("bob did not catch up on {m} messages in {:?}", PATIENCE * 5))?
            .map_err(|_| anyhow!("bob's node stopped"))?;
        // The newest are readable (what a person opening the feed sees first).
        let newest = node.circles().feed(&circle, 0, Some(20))?;
        let secs = start.elapsed().as_secs_f64();
        anyhow::ensure!(newest.len() == 20, "bob's feed shows too little");
        held = node.circles().store().message_count(&circle);
        anyhow::ensure!(
            held >= before + m,
            "bob holds {held}, expected {}",
            before + m
        );
        bob = Member {
            name: "bob".into(),
            dir,
            node,
        };
        let scenario = "catch-up after reconnect";
        let mut f = Figure::new(scenario, &format!("{m} missed: seconds"), secs, Unit::Secs).limit(
            "verifying and decrypting them at the crypto bound",
            Some(m as f64 / crypto.bound()),
        );
        if m == 10_000 {
            f = f.target(Target::at_most(1.0, "10 000 within 1 s"));
        }
        report.add(f.note("from starting bob's node (store open) to all stored, newest read"));
        report.add(
            Figure::new(
                scenario,
                &format!("{m} missed: rate"),
                m as f64 / secs,
                Unit::PerSec,
            )
            .limit("crypto bound", Some(crypto.bound())),
        );
    }
    let (_, home) = bob.stop().await;
    alice.node.shutdown().await;
    Ok(Holding {
        home,
        messages: held,
    })
}
