//! Goals a person keeps to themselves (`circle goal add ... --to me`): like check-ins for "me",
//! sealed at rest on this node and never sent. They show in `goals` marked "only you" and are
//! marked done with the same `goal done ID`.

use circle_crypto::{CircleId, MessageId};
use serde::{Deserialize, Serialize};

use super::{Circles, GoalItem, MIN_ID_PREFIX};
use crate::{
    error::{Error, Result},
    support::Goal,
    time::now_ms,
};

/// The private record that holds them (one list for all circles: keys say nothing).
const OWN_GOALS: &str = "goals";

/// Most goals kept to oneself on one node; when full, the oldest reached one makes room.
pub const MAX_OWN_GOALS: usize = 1000;

/// A goal kept on this node only.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct OwnGoal {
    /// Its circle.
    circle: CircleId,
    /// A random id in the form of a message id, so `goal done` takes it the same way.
    id: MessageId,
    /// When it was set, unix ms.
    at: u64,
    goal: Goal,
    /// When it was reached, unix ms.
    done_at: Option<u64>,
}

impl Circles {
    fn own_goals(&self) -> Result<Vec<OwnGoal>> {
        Ok(self.store().private(OWN_GOALS)?.unwrap_or_default())
    }

    fn save_own_goals(&self, goals: &[OwnGoal]) -> Result<()> {
        self.store().put_private(OWN_GOALS, &goals)?;
        self.store().flush()
    }

    /// Keeps a goal on this node only; returns its id.
    pub fn own_goal(&self, circle: &CircleId, goal: Goal) -> Result<MessageId> {
        goal.check()?;
        crate::support::check_note("goal", &goal.text)?;
        self.with_circle(circle, |c| c.check_member().map(|_| ()))?;
        let mut goals = self.own_goals()?;
        if goals.len() >= MAX_OWN_GOALS {
            let oldest_done = goals
                .iter()
                .position(|g| g.done_at.is_some())
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "you keep {MAX_OWN_GOALS} goals of your own already: mark one done \
                         with `circle goal done ID` first"
                    ))
                })?;
            goals.remove(oldest_done);
        }
        let id = MessageId::from_bytes(&rand::random::<[u8; 32]>())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        goals.push(OwnGoal {
            circle: *circle,
            id,
            at: now_ms(),
            goal,
            done_at: None,
        });
        self.save_own_goals(&goals)?;
        Ok(id)
    }

    /// Marks a goal kept to oneself reached, if `typed` (an id, or a start of one of at least
    /// [`MIN_ID_PREFIX`] characters) names one; returns its circle. `None`: not one of them.
    pub fn own_goal_done(&self, typed: &str) -> Result<Option<CircleId>> {
        let typed = typed.trim().trim_start_matches('#');
        if typed.chars().count() < MIN_ID_PREFIX {
            return Ok(None);
        }
        let mut goals = self.own_goals()?;
        let Some(goal) = goals
            .iter_mut()
            .find(|g| g.id.to_string().starts_with(typed))
        else {
            return Ok(None);
        };
        let circle = goal.circle;
        if goal.done_at.is_none() {
            goal.done_at = Some(now_ms());
            self.save_own_goals(&goals)?;
        }
        Ok(Some(circle))
    }

    /// The goals kept to oneself in `circle`, as `goals` lists them.
    pub(crate) fn own_goal_items(&self, circle: &CircleId) -> Result<Vec<GoalItem>> {
        let goals = self.own_goals()?;
        self.with_circle(circle, |c| {
            let me = c.me.public();
            Ok(goals
                .iter()
                .filter(|g| g.circle == *circle)
                .map(|g| GoalItem {
                    id: g.id.to_string(),
                    author: me.to_string(),
                    author_name: c.author_name(&me),
                    author_fingerprint: me.fingerprint(),
                    to: crate::support::Audience::Me,
                    text: g.goal.text.clone(),
                    by: g.goal.by.clone(),
                    done_at: g.done_at.map(crate::time::rfc3339),
                    sent_at: crate::time::rfc3339(g.at),
                })
                .collect())
        })
    }
}
