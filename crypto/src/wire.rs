//! Shared plumbing for fixed-size byte types: serde as raw bytes (or text in human-readable
//! formats), and one macro for their `Display`/`FromStr`/`Debug`/serde impls.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};

use crate::text;

/// Serializes a fixed array: in compact formats (postcard) as exactly `N` raw bytes with no
/// length prefix; in human-readable formats (JSON) as its base32 text.
pub(crate) fn serialize_array<S: Serializer, const N: usize>(
    bytes: &[u8; N],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        return serializer.serialize_str(&text::encode(bytes));
    }
    let mut tuple = serializer.serialize_tuple(N)?;
    for byte in bytes {
        tuple.serialize_element(byte)?;
    }
    tuple.end()
}

/// Reads what [`serialize_array`] writes.
pub(crate) fn deserialize_array<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    if deserializer.is_human_readable() {
        deserializer.deserialize_str(TextVisitor::<N>)
    } else {
        deserializer.deserialize_tuple(N, ArrayVisitor::<N>(PhantomData))
    }
}

struct ArrayVisitor<const N: usize>(PhantomData<[u8; N]>);

impl<'de, const N: usize> Visitor<'de> for ArrayVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{N} bytes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
        let mut out = [0u8; N];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        Ok(out)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<[u8; N], E> {
        bytes
            .try_into()
            .map_err(|_| E::invalid_length(bytes.len(), &self))
    }
}

struct TextVisitor<const N: usize>;

impl<const N: usize> Visitor<'_> for TextVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "base32 text of {N} bytes")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<[u8; N], E> {
        let bytes = text::decode(value.trim()).map_err(E::custom)?;
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| E::invalid_length(bytes.len(), &self))
    }
}

/// Postcard bytes of a value of this crate's own types.
///
/// Serializing into a growable buffer fails only for formats postcard cannot express
/// (sequences of unknown length), which none of these types use.
pub(crate) fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("postcard can encode this crate's own types")
}

/// The byte accessors of a plain 32-byte identifier: `from_bytes` (another length is
/// [`crate::CryptoError::Malformed`], naming `$what`), `as_bytes` and `to_bytes`.
macro_rules! impl_id {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// Reads 32 bytes; another length is [`CryptoError::Malformed`](crate::CryptoError::Malformed).
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, $crate::CryptoError> {
                bytes.try_into().map(Self).map_err(|_| {
                    $crate::CryptoError::Malformed(format!(
                        "{} is 32 bytes, not {}",
                        $what,
                        bytes.len()
                    ))
                })
            }

            /// The 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The 32 bytes, by value.
            pub fn to_bytes(&self) -> [u8; 32] {
                self.0
            }
        }
    };
}
pub(crate) use impl_id;

/// Implements `Display`/`FromStr` (base32 text), `Debug` (`Name(<short>)`), a `short()`
/// method, and serde (raw bytes, or text in human-readable formats) for a fixed-size byte
/// type that has `to_bytes(&self) -> [u8; N]` and `from_bytes(&[u8]) -> Result<Self, _>`.
macro_rules! impl_byte_text {
    ($ty:ident, $len:literal) => {
        impl $ty {
            /// The first 8 characters of the text form: enough to tell values apart in logs
            /// and on screen, not to identify one securely.
            pub fn short(&self) -> String {
                let mut text = self.to_string();
                text.truncate(8);
                text
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&$crate::text::encode(&self.to_bytes()))
            }
        }

        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self.short())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::CryptoError;

            /// Parses the text form; surrounding whitespace is ignored.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let bytes = $crate::text::decode(text.trim())?;
                Self::from_bytes(&bytes)
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::wire::serialize_array(&self.to_bytes(), serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let bytes: [u8; $len] = $crate::wire::deserialize_array(deserializer)?;
                Self::from_bytes(&bytes).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use impl_byte_text;
