//! `circle status`: whether each author's chain of messages is complete here, or has gaps
//! (messages not here yet) or forks (someone wrote two versions of one message).

use circle_node::contract::CircleLog;

use crate::clean;

/// Prints the `logs` of a status: one line per gap and per fork, or that they are complete,
/// one line per circle this node's member was removed from (nothing new reaches it there,
/// so what is missing there would never come), and one per circle where this node, restored
/// from a backup, is catching up with its own messages or was replaced by a newer copy. Nothing when the status has no logs (the node
/// is not running and no passphrase was given).
pub fn print(logs: Option<&[CircleLog]>) {
    let Some(circles) = logs else {
        return;
    };
    let mut lines = Vec::new();
    let mut removed = Vec::new();
    // Where this node stands with its own member's chain after a restore.
    let mut own = Vec::new();
    for circle in circles {
        let name = clean(&circle.name);
        if let Some(by) = circle.removed_by.as_deref() {
            removed.push(format!(
                "removed:   you were removed from '{name}' by {}",
                clean(by)
            ));
            continue;
        }
        if circle.replaced {
            own.push(format!(
                "replaced:  '{name}' — this node was replaced by a restored copy on another machine: use that one (nothing more is written here)"
            ));
        } else if circle.catching_up {
            let kept = match circle.queued {
                0 => String::new(),
                1 => "; 1 message you wrote waits to be sent".to_string(),
                n => format!("; {n} messages you wrote wait to be sent"),
            };
            own.push(format!(
                "restored:  '{name}' — catching up with your own messages (from another member's node){kept}"
            ));
        }
        for author in &circle.authors {
            let who = crate::who(&author.name, &author.fingerprint);
            for fork in &author.forks {
                let seq = fork.seq;
                let versions = fork.versions as u64;
                let held = fork.held as u64;
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
            let missing = author.missing;
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
    for line in lines.into_iter().chain(removed).chain(own) {
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
    use circle_node::contract::{AuthorLog, ForkLog, Standing};

    #[test]
    fn names_from_other_nodes_cannot_break_the_status_lines() {
        // Printing is checked by eye; what matters here is that nothing panics on odd input.
        let logs = [CircleLog {
            id: String::new(),
            name: "a\u{1b}[2Jb".into(),
            standing: Standing::Member,
            removed_by: Some("\u{7}".into()),
            authors: vec![AuthorLog {
                author: String::new(),
                name: "\u{1b}]0;x".into(),
                fingerprint: String::new(),
                head: 0,
                missing: u64::MAX,
                forks: vec![ForkLog {
                    seq: 0,
                    versions: 0,
                    held: 9,
                }],
            }],
            catching_up: true,
            queued: 2,
            replaced: true,
        }];
        print(Some(&logs));
        print(None);
        assert_eq!(number(2), "two");
        assert_eq!(number(12), "12");
    }
}
