//! Invite tokens as pasted by a person: any text.
//!
//! A token that reads must verify, print back to the same token (up to the case and the
//! whitespace that reading ignores), and read back to an equal invite.

#![no_main]

use circle_crypto::{Invite, InviteError, MAX_INVITE_TOKEN_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let invite = match Invite::from_token(&text) {
        Ok(invite) => invite,
        Err(e) => {
            if compact.chars().count() > MAX_INVITE_TOKEN_CHARS {
                assert_eq!(e, InviteError::TooLarge);
            }
            return;
        }
    };
    assert!(compact.chars().count() <= MAX_INVITE_TOKEN_CHARS);
    invite.verify().expect("an invite that reads verifies");

    let token = invite.to_token();
    // One invite, one token: base32 has no spare bits and the checksum covers every byte.
    assert!(
        token.eq_ignore_ascii_case(&compact),
        "a different text read as the same invite: {compact:?} prints as {token:?}"
    );
    let again = Invite::from_token(&token).expect("to_token reads back");
    assert_eq!(again, invite);
    assert_eq!(again.id(), invite.id());
    assert_eq!(again.to_token(), token);
});
