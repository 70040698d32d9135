//! How complete each author's chain is here: gaps (messages known to exist, not held yet) and
//! forks (numbers with more than one version).

use super::*;

/// One circle's log as this node holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CircleLog {
    /// Circle id (text form).
    pub id: String,
    /// Circle name.
    pub name: String,
    /// Where this node's member stands.
    pub standing: crate::api::contract::Standing,
    /// Who removed this node's member, by name, when it was removed: nothing new reaches a
    /// removed node, so its gaps are not listed (they would never close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<String>,
    /// The authors whose chains have a gap or a fork here (none when all is well).
    pub authors: Vec<AuthorLog>,
    /// Restored from a backup, this node is catching up with your own messages here: what
    /// you write is kept and sent once it has (docs/PROTOCOL.md, section 4.5).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catching_up: bool,
    /// How many messages you wrote are kept until it has caught up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub queued: usize,
    /// A restored copy of this node on another machine writes in its place: this one writes
    /// nothing more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One author's chain, when it has a gap or a fork.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuthorLog {
    /// Member key (text form).
    pub author: String,
    /// Nickname.
    pub name: String,
    /// Fingerprint ([`MemberKey::fingerprint`]).
    pub fingerprint: String,
    /// The highest number up to which every message of theirs is here.
    pub head: u64,
    /// How many numbers between the head and the highest one held are missing (sync asks
    /// members for them).
    pub missing: u64,
    /// Numbers with more than one version.
    pub forks: Vec<ForkLog>,
}

/// A number with more than one version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ForkLog {
    /// The number.
    pub seq: u64,
    /// How many versions this node knows of (at least 2).
    pub versions: usize,
    /// How many of them are held here.
    pub held: usize,
}

impl CircleLog {
    /// Whether nothing is missing or forked.
    pub fn complete(&self) -> bool {
        self.authors.is_empty()
    }
}

/// An author whose chain is looked at: key, nickname, and the last number that counts.
type Author = (MemberKey, String, u64);

/// A circle whose logs are looked at: id, name, standing, who removed this node's member.
type Looked = (CircleId, String, Standing, Option<String>, Vec<Author>);

impl Circles {
    /// For every circle, the authors whose chains have gaps or forks here. The cost grows
    /// with the number of members and of what is missing or forked, not with the history.
    pub fn log_health(&self) -> Result<Vec<CircleLog>> {
        let circles: Vec<Looked> = self.read(|s| {
            s.iter()
                .map(|(id, c)| {
                    let standing = c.standing();
                    let removed_by = (standing == Standing::Removed)
                        .then(|| c.members.departed(&c.me.public()))
                        .flatten()
                        .map(|d| c.author_name(&d.by));
                    let authors = c
                        .members
                        .iter()
                        .map(|m| (m.key, m.name.clone(), u64::MAX))
                        .chain(
                            c.members
                                .all_departed()
                                .map(|(k, d)| (*k, d.name.clone(), d.upto)),
                        )
                        .collect();
                    let authors = if removed_by.is_some() {
                        Vec::new()
                    } else {
                        authors
                    };
                    (*id, c.members.name.clone(), standing, removed_by, authors)
                })
                .collect()
        })?;
        let store = self.store();
        let mut out = Vec::with_capacity(circles.len());
        for (id, name, standing, removed_by, authors) in circles {
            let mut forked: BTreeMap<MemberKey, Vec<ForkLog>> = BTreeMap::new();
            for f in store.forked(&id)? {
                forked.entry(f.author).or_default().push(ForkLog {
                    seq: f.seq,
                    versions: f.versions,
                    held: f.held.len(),
                });
            }
            let mut logs = Vec::new();
            for (author, author_name, upto) in authors {
                let head = store.head(&id, &author)?;
                let last = store.max_seq(&id, &author)?.min(upto);
                let missing = match last.checked_sub(head) {
                    Some(span) if span > 0 => {
                        span - store.held_between(&id, &author, head, last)?
                    }
                    _ => 0,
                };
                let mut forks = forked.remove(&author).unwrap_or_default();
                forks.retain(|f| f.seq <= upto);
                if missing > 0 || !forks.is_empty() {
                    logs.push(AuthorLog {
                        author: author.to_string(),
                        name: author_name,
                        fingerprint: author.fingerprint(),
                        head,
                        missing,
                        forks,
                    });
                }
            }
            logs.sort_by(|a, b| (&a.name, &a.author).cmp(&(&b.name, &b.author)));
            out.push(CircleLog {
                id: id.to_string(),
                name,
                standing,
                removed_by,
                authors: logs,
                catching_up: self.is_catching_up(&id),
                queued: self.queued_count(&id),
                replaced: self.is_replaced(),
            });
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }
}
