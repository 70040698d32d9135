//! Finding a circle by what a person typed, and keeping the names of their circles apart.
//!
//! A circle someone left or was removed from stays on their node (what was said stays
//! readable), so its name would otherwise block that name forever: the circles the node
//! still takes part in come first, and a left or removed one matches by name only when
//! nothing else does. An exact name beats one that differs only in case.

use circle_crypto::CircleId;

use super::{CircleState, Circles, Standing};
use crate::error::{Error, Result};

/// How many of the person's circles an unknown name lists.
const LISTED_NAMES: usize = 8;

impl CircleState {
    /// Whether this node's member is in the circle (or on its way in): not left, not removed.
    fn is_current(&self) -> bool {
        matches!(
            self.standing(),
            Standing::Admin | Standing::Member | Standing::Joining
        )
    }

    fn is_called(&self, name: &str, exact: bool) -> bool {
        [&self.members.name, &self.genesis.name]
            .into_iter()
            .any(|n| {
                if exact {
                    n == name
                } else {
                    n.to_lowercase() == name.to_lowercase()
                }
            })
    }
}

impl Circles {
    /// Finds a circle by id, or by name: among the circles this node's member is still in
    /// first, an exact name before one that differs only in case; a circle it left or was
    /// removed from matches by name only when no other does.
    pub fn resolve(&self, text: &str) -> Result<CircleId> {
        let text = text.trim();
        self.read(|state| {
            if let Ok(id) = text.parse::<CircleId>() {
                return match state.contains_key(&id) {
                    true => Ok(id),
                    false => Err(Error::UnknownCircle(text.to_string())),
                };
            }
            for (current, exact) in [(true, true), (true, false), (false, true), (false, false)] {
                let named: Vec<CircleId> = state
                    .iter()
                    .filter(|(_, c)| c.is_current() == current && c.is_called(text, exact))
                    .map(|(id, _)| *id)
                    .collect();
                match named.as_slice() {
                    [] => continue,
                    [one] => return Ok(*one),
                    _ => return Err(Error::AmbiguousCircle(text.to_string())),
                }
            }
            Err(Error::NoCircleNamed {
                name: text.to_string(),
                hint: hint(state.values(), text),
            })
        })?
    }

    /// Refuses `name` for a new circle when a circle this node's member is still in goes by
    /// it (in any case): two circles with one name could only be told apart by id.
    pub fn check_new_name(&self, name: &str) -> Result<()> {
        let name = name.trim();
        self.read(|state| {
            match state
                .values()
                .find(|c| c.is_current() && c.is_called(name, false))
            {
                Some(c) => Err(Error::Invalid(format!(
                    "you are already in a circle called '{}': choose another name, so the two \
                     are not confused (or create it anyway with --force)",
                    c.members.name
                ))),
                None => Ok(()),
            }
        })?
    }
}

/// What to tell someone who typed a name no circle has: the one they probably meant, or the
/// names of their circles.
fn hint<'a>(circles: impl Iterator<Item = &'a CircleState>, typed: &str) -> String {
    let mut current = Vec::new();
    let mut others = Vec::new();
    for c in circles {
        let list = if c.is_current() {
            &mut current
        } else {
            &mut others
        };
        if !list.contains(&c.members.name) {
            list.push(c.members.name.clone());
        }
    }
    current.sort();
    let near: Vec<&String> = current
        .iter()
        .chain(&others)
        .filter(|n| is_near(n, typed))
        .collect();
    if let [one] = near.as_slice() {
        return format!(": did you mean '{one}'?");
    }
    if current.is_empty() {
        return ": you are in no circle now (see `circle circles`)".to_string();
    }
    let mut listed = current
        .iter()
        .take(LISTED_NAMES)
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if current.len() > LISTED_NAMES {
        listed.push_str(&format!(" and {} more", current.len() - LISTED_NAMES));
    }
    match current.len() {
        1 => format!(": your circle is {listed}"),
        _ => format!(": your circles are {listed}"),
    }
}

/// Whether `typed` looks like a slip for `name`: a letter or two off, or a part of it.
fn is_near(name: &str, typed: &str) -> bool {
    let (name, typed) = (name.to_lowercase(), typed.to_lowercase());
    if typed.chars().count() >= 3 && (name.contains(&typed) || typed.contains(&name)) {
        return true;
    }
    let allowed = if name.chars().count() >= 6 { 2 } else { 1 };
    edit_distance(&name, &typed) <= allowed
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slip_of_a_letter_or_a_part_of_the_name_is_near() {
        assert_eq!(edit_distance("tuesday", "tuesdya"), 2);
        assert!(is_near("Tuesday circle", "tuesday"));
        assert!(is_near("Tuesday", "Tusday"));
        assert!(is_near("Tuesday", "Tuesday circle"));
        assert!(!is_near("Tuesday", "Friday"));
        assert!(!is_near("AA", "NA circle"));
    }
}
