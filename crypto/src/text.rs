//! The text form of keys, ids and tokens: lowercase base32 (RFC 4648 alphabet), no padding.
//!
//! Base32 survives being read aloud, typed, and pasted through chat apps that change case.
//! Decoding accepts upper and lower case; encoding always writes lower case.

use std::sync::LazyLock;

use data_encoding::{Encoding, Specification};

use crate::CryptoError;

static BASE32: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
    spec.translate.from.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.translate.to.push_str("abcdefghijklmnopqrstuvwxyz");
    // Unused trailing bits must be zero, so each byte string has exactly one text form.
    spec.check_trailing_bits = true;
    spec.encoding()
        .expect("the base32 specification is a valid constant")
});

/// Encodes bytes as lowercase base32 without padding.
///
/// 32 bytes become 52 characters.
pub fn encode(bytes: &[u8]) -> String {
    BASE32.encode(bytes)
}

/// Decodes base32 text (upper or lower case, no padding, no whitespace).
///
/// Fails with [`CryptoError::BadText`] on any other character, an impossible length, or
/// non-zero trailing bits.
pub fn decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    BASE32
        .decode(text.as_bytes())
        .map_err(|_| CryptoError::BadText)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_vectors_from_rfc4648_in_lower_case() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "my");
        assert_eq!(encode(b"foobar"), "mzxw6ytboi");
        assert_eq!(decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(decode("mZxW6yTbOi").unwrap(), b"foobar");
    }

    #[test]
    fn refuses_padding_whitespace_and_foreign_symbols() {
        assert_eq!(decode("my======"), Err(CryptoError::BadText));
        assert_eq!(decode("mzxw 6ytboi"), Err(CryptoError::BadText));
        assert_eq!(decode("mzxw1ytboi"), Err(CryptoError::BadText));
        // "mz" has non-zero trailing bits; "my" is the one text form of "f".
        assert_eq!(decode("mz"), Err(CryptoError::BadText));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = encode(&bytes);
            prop_assert_eq!(decode(&text).unwrap(), bytes.clone());
            prop_assert_eq!(decode(&text.to_uppercase()).unwrap(), bytes);
        }

        #[test]
        fn decoding_any_text_does_not_panic(text in ".{0,120}") {
            let _ = decode(&text);
        }

        #[test]
        fn decoding_any_bytes_does_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode(&String::from_utf8_lossy(&bytes));
        }
    }
}
