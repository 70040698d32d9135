//! Fingerprints: a few words that tell two members apart when they chose the same nickname.
//!
//! A member key is 52 characters, too long to read aloud or compare by eye. Its fingerprint is
//! three words from a fixed list of 256 (24 bits of a domain-separated blake3 hash of the key),
//! such as `amber-fox-lake`: the same on every node, in the CLI and the API. Two of a circle's
//! 50 members share one with a chance of about 1 in 13 000; a name lookup that finds two says
//! so and asks for more of the key. A fingerprint is for telling people apart, not for
//! authentication: it is short enough that someone could make a key that has a given one.
//!
//! Member keys differ in each circle, so fingerprints do too: nothing links one person's
//! fingerprints across circles.

use crate::MemberKey;

/// The blake3 `derive_key` context of member fingerprints.
const CONTEXT: &str = "circle member fingerprint v1";

/// Words in a fingerprint.
pub const FINGERPRINT_WORDS: usize = 3;

/// The word list: 256 short, plain words that are easy to say and to tell apart.
const WORDS: [&str; 256] = [
    "acorn", "amber", "anchor", "apple", "apricot", "arch", "arrow", "aspen", "atlas", "badger",
    "bamboo", "banjo", "basil", "bay", "beach", "beacon", "bear", "beaver", "bee", "bell", "berry",
    "birch", "bison", "blossom", "blue", "boat", "bobcat", "bonsai", "breeze", "brook", "bubble",
    "bud", "bunny", "butter", "cabin", "cactus", "camel", "canoe", "canyon", "cape", "cardinal",
    "carrot", "castle", "cedar", "cello", "chalk", "cherry", "chestnut", "cinnamon", "clay",
    "cliff", "cloud", "clover", "coast", "cobalt", "cocoa", "comet", "compass", "copper", "coral",
    "cotton", "cove", "coyote", "crane", "creek", "crest", "cricket", "crow", "cub", "cypress",
    "daisy", "dawn", "deer", "delta", "denim", "dolphin", "dove", "dragon", "drum", "duck", "dune",
    "eagle", "echo", "egret", "elm", "ember", "emerald", "falcon", "feather", "fern", "ferry",
    "fiddle", "field", "fig", "finch", "firefly", "fjord", "flag", "flute", "forest", "fox",
    "garden", "garnet", "gecko", "glade", "glow", "goose", "granite", "grape", "grove", "guava",
    "gull", "harbor", "hare", "harp", "hawk", "hazel", "heron", "hickory", "hill", "honey", "hoop",
    "iris", "island", "ivory", "ivy", "jade", "jasmine", "jasper", "jay", "kayak", "kelp",
    "kettle", "kite", "kiwi", "koala", "ladder", "lake", "lamb", "lantern", "lark", "laurel",
    "leaf", "lemon", "lily", "lime", "linen", "lion", "lotus", "lynx", "magnet", "mango", "maple",
    "marble", "marsh", "meadow", "melon", "mesa", "mint", "mirror", "moon", "moose", "moss",
    "moth", "mountain", "mouse", "mulberry", "nest", "nutmeg", "oak", "oasis", "ocean", "olive",
    "onyx", "opal", "orange", "orbit", "orchid", "otter", "owl", "oyster", "paddle", "palm",
    "panda", "papaya", "parrot", "path", "peach", "pear", "pearl", "pebble", "pelican", "penguin",
    "pepper", "piano", "pine", "planet", "plum", "pond", "poppy", "prairie", "puffin", "quail",
    "quartz", "quill", "rabbit", "rain", "raven", "reed", "ribbon", "ridge", "river", "robin",
    "rocket", "rose", "ruby", "saddle", "saffron", "sage", "sail", "salmon", "sand", "seal",
    "shell", "shore", "sky", "slate", "sparrow", "spruce", "squirrel", "star", "stone", "stream",
    "summit", "sun", "swan", "thistle", "thrush", "tide", "tiger", "topaz", "trail", "tulip",
    "tundra", "turtle", "valley", "velvet", "violet", "walnut", "wave", "whale", "willow", "wind",
    "wren", "yarrow", "zebra",
];

impl MemberKey {
    /// Three words that name this key for people, such as `amber-fox-lake` (lowercase,
    /// joined with `-`). The same key always gives the same words.
    pub fn fingerprint(&self) -> String {
        let hash = blake3::derive_key(CONTEXT, &self.to_bytes());
        hash[..FINGERPRINT_WORDS]
            .iter()
            .map(|b| WORDS[usize::from(*b)])
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// Whether `typed` is the fingerprint `fingerprint`, however the person wrote it: any case,
/// words joined with `-`, spaces or `_`.
pub fn is_fingerprint(typed: &str, fingerprint: &str) -> bool {
    let words = typed
        .split(|c: char| c == '-' || c == '_' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase);
    words.eq(fingerprint.split('-').map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemberSecret;

    #[test]
    fn the_word_list_has_no_twins() {
        let mut words = WORDS.to_vec();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), 256);
        assert!(
            WORDS
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        );
    }

    #[test]
    fn a_key_always_has_the_same_three_words() {
        let key = MemberSecret::generate().public();
        let fingerprint = key.fingerprint();
        assert_eq!(fingerprint, key.fingerprint());
        assert_eq!(fingerprint.split('-').count(), FINGERPRINT_WORDS);
        assert!(is_fingerprint(
            &fingerprint.to_uppercase().replace('-', " "),
            &fingerprint
        ));
        assert!(!is_fingerprint("amber", &fingerprint));
    }

    #[test]
    fn the_fingerprint_of_a_known_key_does_not_change() {
        // Pinned: a change of context, list or order would rename everyone.
        let key = MemberSecret::from_bytes(&[7; 64])
            .expect("64 bytes")
            .public();
        assert_eq!(key.fingerprint(), "planet-sparrow-heron");
    }

    #[test]
    fn different_keys_mostly_have_different_words() {
        let fingerprints: std::collections::BTreeSet<_> = (0..50)
            .map(|_| MemberSecret::generate().public().fingerprint())
            .collect();
        // 50 keys in 2^24 fingerprints: a twin has a chance of about 1 in 13 000.
        assert!(fingerprints.len() >= 49);
    }
}
