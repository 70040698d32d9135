//! `circle status`: whether each author's chain of messages is complete here, or has gaps
//! (messages not here yet) or forks (someone wrote two versions of one message).

use serde_json::Value;

use crate::{clean, ctx::Ctx};

/// The `logs` of a store reached directly (the node is not running), if the passphrase is
/// given in CIRCLE_PASSPHRASE: `circle status` does not ask for it. `null` otherwise.
pub fn offline(ctx: &Ctx, db: &sled::Db) -> Value {
    if std::env::var_os("CIRCLE_PASSPHRASE").is_none() {
        return Value::Null;
    }
    ctx.load(db.clone())
        .ok()
        .and_then(|circles| circles.log_health().ok())
        .and_then(|logs| serde_json::to_value(logs).ok())
        .unwrap_or(Value::Null)
}

/// Prints the `logs` of a status: one line per gap and per fork, or that they are complete,
/// and one line per circle this node's member was removed from (nothing new reaches it there,
/// so what is missing there would never come). Nothing when the status has no logs (the node
/// is not running and no passphrase was given).
pub fn print(status: &Value) {
    let Some(circles) = status["logs"].as_array() else {
        return;
    };
    let mut lines = Vec::new();
    let mut removed = Vec::new();
    for circle in circles {
        let name = clean(circle["name"].as_str().unwrap_or("?"));
        if let Some(by) = circle["removed_by"].as_str() {
            removed.push(format!(
                "removed:   you were removed from '{name}' by {}",
                clean(by)
            ));
            continue;
        }
        for author in circle["authors"].as_array().into_iter().flatten() {
            let who = crate::who(&author["name"], &author["fingerprint"]);
            for fork in author["forks"].as_array().into_iter().flatten() {
                let seq = fork["seq"].as_u64().unwrap_or(0);
                let versions = fork["versions"].as_u64().unwrap_or(2);
                let held = fork["held"].as_u64().unwrap_or(versions);
                let not_here = match versions.saturating_sub(held) {
                    0 => String::new(),
                    1 => " (one is not here)".to_string(),
                    n => format!(" ({n} are not here)"),
                };
                lines.push(format!(
                    "fork:      '{name}' — {who} wrote {} versions of message #{seq}{not_here}",
                    number(versions)
                ));
            }
            let missing = author["missing"].as_u64().unwrap_or(0);
            if missing > 0 {
                let messages = if missing == 1 { "message" } else { "messages" };
                lines.push(format!(
                    "gap:       '{name}' — {missing} {messages} from {who} not here yet (asking members)"
                ));
            }
        }
    }
    if lines.is_empty() {
        println!("logs:      complete");
    }
    for line in lines.into_iter().chain(removed) {
        println!("{line}");
    }
}

/// Small counts in words.
fn number(n: u64) -> String {
    match n {
        2 => "two".into(),
        3 => "three".into(),
        4 => "four".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_from_other_nodes_cannot_break_the_status_lines() {
        // Printing is checked by eye; what matters here is that nothing panics on odd input.
        let status = json!({"logs": [
            {"name": "a\u{1b}[2Jb", "authors": [
                {"name": 7, "forks": [{"seq": "x"}], "missing": -1},
                {"forks": null},
            ]},
            {"authors": "nope"},
            7,
        ]});
        print(&status);
        print(&json!({"logs": null}));
        print(&json!({}));
        assert_eq!(number(2), "two");
        assert_eq!(number(12), "12");
    }
}
