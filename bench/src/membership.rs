//! Taking in membership operations: what a page of thousands of them costs a member's node
//! (issue 13, finding 6: every operation used to re-derive the whole membership, so a page of
//! no-effect operations cost quadratic work). Compared with the same node taking a tenth as
//! many: near-linear means each operation costs about the same at either size.

use std::time::Instant;

use anyhow::Context;
use circle_crypto::Envelope;
use circle_node::{Ingest, InvitePolicy};

use crate::{
    history::{admit, offline},
    report::{Figure, Report, Target, Unit},
};

/// Milliseconds a member's node takes to take in `count` operations of an admin's, one by one
/// as a sync page hands them over (each decoded, verified, decrypted, stored and applied).
fn take_in(count: usize) -> anyhow::Result<f64> {
    let (admin, _a) = offline("admin")?;
    let circle = admin.create("operations", None)?;
    let (reader, _r) = offline("reader")?;
    admit(&admin, &circle, &reader)?;
    let mut wires = Vec::with_capacity(count);
    for k in 0..count {
        // Each one changes the state (the invite policy flips), so none is a no-op to skip.
        let policy = if k % 2 == 0 {
            InvitePolicy::Members
        } else {
            InvitePolicy::Admins
        };
        let written = admin.set_policy(&circle, policy)?;
        wires.extend(written.iter().map(|e| e.to_bytes().to_vec()));
    }
    let start = Instant::now();
    for bytes in &wires {
        let envelope = Envelope::from_bytes(bytes)?;
        let taken = reader.ingest(&envelope)?;
        anyhow::ensure!(
            taken == Ingest::New,
            "an operation was not taken: {taken:?}"
        );
    }
    reader.store().flush()?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let last = if count % 2 == 1 { "members" } else { "admins" };
    let policy = reader
        .list()
        .context("could not read the reader's circles")?
        .into_iter()
        .find(|c| c.id == circle.to_string())
        .map(|c| c.invites.as_str().to_string());
    anyhow::ensure!(
        policy.as_deref() == Some(last),
        "the reader's policy is {policy:?} after {count} operations, not {last}"
    );
    Ok(ms)
}

/// The figure: per operation at `large`, against per operation at `large / 10`.
pub fn operations(large: usize, report: &mut Report) -> anyhow::Result<f64> {
    let small = (large / 10).max(1);
    report.progress(format!(
        "membership: taking in {small} and {large} operations"
    ));
    let per_small = take_in(small)? / small as f64;
    let total = take_in(large)?;
    let per_large = total / large as f64;
    report.add(
        Figure::new(
            "membership operations",
            &format!("a page of {large} operations, per operation"),
            per_large,
            Unit::Ms,
        )
        .limit(
            &format!("per operation in a page of {small}"),
            Some(per_small),
        )
        .target(Target::ratio_at_most(
            2.0,
            "near-linear: ≤ 2× the cost per operation at a tenth the size",
        ))
        .note(format!(
            "{total:.0} ms for all {large} (each verified, decrypted, stored, applied)"
        )),
    );
    Ok(per_large)
}
