//! Who is in a circle, derived from signed records.
//!
//! A circle starts with a [`Genesis`] signed by its founder; the circle id is derived from the
//! founder's key and a random nonce, so a genesis cannot be swapped for another. Every later
//! member enters through an [`Admission`] signed by a member who was already in. A member's own
//! [`Profile`] (name, key for sealed delivery) is signed by that member.
//!
//! [`MemberSet::derive`] computes the members from a genesis and any set of admissions, in any
//! order: it admits whoever was let in by someone already admitted, until nothing changes.
//! The result does not depend on the order in which records arrived.

use std::collections::BTreeMap;

use circle_crypto::{CircleId, ExchangeKey, InviteId, MemberKey, MemberSecret, Signature};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Longest member nickname, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest circle name, in characters.
pub const MAX_CIRCLE_NAME_CHARS: usize = 100;
/// Largest signed membership record, in bytes.
pub const MAX_RECORD_BYTES: usize = 4096;

const PROFILE_DOMAIN: &str = "circle/profile/v1";
const GENESIS_DOMAIN: &str = "circle/genesis/v1";
const ADMISSION_DOMAIN: &str = "circle/admission/v1";

/// Checks a nickname or circle name typed by a person.
pub fn check_name(what: &str, name: &str, max: usize) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(format!("the {what} cannot be empty")));
    }
    if name.chars().count() > max {
        return Err(Error::Invalid(format!(
            "the {what} is too long (at most {max} characters)"
        )));
    }
    if name == "." || name == ".." {
        // They would turn into path steps in the local API's URLs.
        return Err(Error::Invalid(format!("the {what} cannot be '.' or '..'")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "the {what} cannot contain control characters"
        )));
    }
    Ok(name.to_string())
}

/// Bytes and the signature over them: how every membership record travels.
#[derive(Serialize, Deserialize)]
struct Signed {
    bytes: Vec<u8>,
    signature: Signature,
}

fn sign<T: Serialize>(secret: &MemberSecret, domain: &str, value: &T) -> Vec<u8> {
    let bytes = postcard::to_allocvec(value).expect("membership records always encode");
    let signature = secret.sign(domain, &bytes);
    postcard::to_allocvec(&Signed { bytes, signature }).expect("signed records always encode")
}

/// Decodes postcard bytes that hold exactly one value in its one canonical form: trailing bytes
/// and over-long length prefixes (which postcard would accept) are refused, so a record has
/// exactly one wire form.
pub(crate) fn decode_exact<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) if postcard::to_allocvec(&value).ok()? == bytes => Some(value),
        _ => None,
    }
}

/// Decodes a signed record, then verifies it with the key `signer` names in it.
fn open<T: DeserializeOwned + Serialize>(
    what: &str,
    domain: &str,
    wire: &[u8],
    signer: impl Fn(&T) -> Result<MemberKey>,
) -> Result<T> {
    if wire.len() > MAX_RECORD_BYTES {
        return Err(Error::Refused(format!("{what} is too large")));
    }
    let undecodable = || Error::Refused(format!("{what} does not decode"));
    let signed: Signed = decode_exact(wire).ok_or_else(undecodable)?;
    let value: T = decode_exact(&signed.bytes).ok_or_else(undecodable)?;
    signer(&value)?
        .verify(domain, &signed.bytes, &signed.signature)
        .map_err(|_| Error::Refused(format!("{what} has a bad signature")))?;
    Ok(value)
}

/// A member's self-description inside one circle, signed by the member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The circle this profile belongs to.
    pub circle: CircleId,
    /// The member's signing key in this circle.
    pub member: MemberKey,
    /// The key circle keys are sealed to for this member.
    pub exchange: ExchangeKey,
    /// The member's nickname in this circle.
    pub name: String,
}

impl Profile {
    /// Signs a profile for `secret` in `circle`.
    pub fn sign(secret: &MemberSecret, circle: CircleId, name: &str) -> Result<Vec<u8>> {
        let name = check_name("nickname", name, MAX_NAME_CHARS)?;
        let profile = Profile {
            circle,
            member: secret.public(),
            exchange: secret.exchange_key(),
            name,
        };
        Ok(sign(secret, PROFILE_DOMAIN, &profile))
    }

    /// Decodes and verifies a signed profile.
    pub fn open(wire: &[u8]) -> Result<Profile> {
        let mut p: Profile = open("member profile", PROFILE_DOMAIN, wire, |p: &Profile| {
            Ok(p.member)
        })?;
        p.name = check_name("nickname", &p.name, MAX_NAME_CHARS)?;
        Ok(p)
    }
}

/// The record that starts a circle.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GenesisBody {
    version: u8,
    nonce: [u8; 32],
    name: String,
    created_at: u64,
    founder: Vec<u8>,
}

/// A verified genesis record.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The circle's id, derived from the founder's key and a nonce.
    pub circle: CircleId,
    /// The circle's name.
    pub name: String,
    /// When the circle was created (unix ms).
    pub created_at: u64,
    /// The founder's profile.
    pub founder: Profile,
}

fn derive_circle_id(founder: &MemberKey, nonce: &[u8; 32]) -> CircleId {
    let mut input = founder.to_bytes().to_vec();
    input.extend_from_slice(nonce);
    let id = blake3::derive_key("circle/id/v1", &input);
    CircleId::from_bytes(&id).expect("32 bytes make a circle id")
}

impl Genesis {
    /// Creates a new circle founded by `founder`; returns the wire bytes.
    pub fn create(founder: &MemberSecret, name: &str, nick: &str, now_ms: u64) -> Result<Vec<u8>> {
        let name = check_name("circle name", name, MAX_CIRCLE_NAME_CHARS)?;
        let nonce: [u8; 32] = rand::random();
        let circle = derive_circle_id(&founder.public(), &nonce);
        let body = GenesisBody {
            version: 1,
            nonce,
            name,
            created_at: now_ms,
            founder: Profile::sign(founder, circle, nick)?,
        };
        Ok(sign(founder, GENESIS_DOMAIN, &body))
    }

    /// Decodes and verifies a genesis record, including the binding of id to founder.
    pub fn open(wire: &[u8]) -> Result<Genesis> {
        // The signer is the founder named in the embedded (self-signed) profile.
        let body: GenesisBody = open("circle record", GENESIS_DOMAIN, wire, |b: &GenesisBody| {
            Profile::open(&b.founder).map(|p| p.member)
        })?;
        if body.version != 1 {
            return Err(Error::Refused(format!(
                "circle record version {} is not supported",
                body.version
            )));
        }
        let founder = Profile::open(&body.founder)?;
        let circle = derive_circle_id(&founder.member, &body.nonce);
        if founder.circle != circle {
            return Err(Error::Refused(
                "circle record does not match its founder".into(),
            ));
        }
        let name = check_name("circle name", &body.name, MAX_CIRCLE_NAME_CHARS)?;
        Ok(Genesis {
            circle,
            name,
            created_at: body.created_at,
            founder,
        })
    }
}

/// An admission: an existing member lets a new one in, through an invite.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct AdmissionBody {
    circle: CircleId,
    profile: Vec<u8>,
    admitted_by: MemberKey,
    invite: InviteId,
    at: u64,
}

/// A verified admission record.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The new member's verified profile.
    pub profile: Profile,
    /// The member who admitted them.
    pub admitted_by: MemberKey,
    /// The invite they used.
    pub invite: InviteId,
    /// When (unix ms).
    pub at: u64,
}

impl Admission {
    /// Signs an admission of the member whose signed profile is `profile`.
    pub fn sign(
        admitter: &MemberSecret,
        circle: CircleId,
        profile: Vec<u8>,
        invite: InviteId,
        now_ms: u64,
    ) -> Vec<u8> {
        let body = AdmissionBody {
            circle,
            profile,
            admitted_by: admitter.public(),
            invite,
            at: now_ms,
        };
        sign(admitter, ADMISSION_DOMAIN, &body)
    }

    /// Decodes and verifies an admission for `circle`. Whether the admitter was a member is
    /// decided by [`MemberSet::derive`].
    pub fn open(circle: &CircleId, wire: &[u8]) -> Result<Admission> {
        let body: AdmissionBody =
            open("admission", ADMISSION_DOMAIN, wire, |b: &AdmissionBody| {
                Ok(b.admitted_by)
            })?;
        let profile = Profile::open(&body.profile)?;
        if body.circle != *circle || profile.circle != *circle {
            return Err(Error::Refused("admission is for another circle".into()));
        }
        Ok(Admission {
            profile,
            admitted_by: body.admitted_by,
            invite: body.invite,
            at: body.at,
        })
    }
}

impl Admission {
    /// Whether this admission takes precedence over `other` for the same member: the earliest
    /// wins, ties broken by the admitter's key. Every node applies the same rule.
    pub fn precedes(&self, other: &Admission) -> bool {
        (self.at, self.admitted_by) < (other.at, other.admitted_by)
    }
}

/// Adds `a` to a circle's admissions under the rule every node applies: it must come from an
/// admin, and a member keeps one admission, the one that [`Admission::precedes`] the others.
/// Returns whether the admissions changed.
pub fn merge_admission(members: &MemberSet, admissions: &mut Vec<Admission>, a: Admission) -> bool {
    if !members.may_admit(&a.admitted_by) {
        return false;
    }
    match admissions
        .iter()
        .position(|x| x.profile.member == a.profile.member)
    {
        Some(i) if a.precedes(&admissions[i]) => admissions[i] = a,
        Some(_) => return false,
        None => admissions.push(a),
    }
    true
}

/// A member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Founded the circle; may invite.
    Admin,
    /// A member.
    Member,
}

impl Role {
    /// The word shown to people.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// One member as every node derives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The member's key.
    pub key: MemberKey,
    /// Nickname in this circle.
    pub name: String,
    /// Where circle keys are sealed to.
    pub exchange: ExchangeKey,
    /// Role.
    pub role: Role,
    /// Who let them in (none for the founder).
    pub admitted_by: Option<MemberKey>,
}

/// The members of one circle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberSet {
    members: BTreeMap<MemberKey, Member>,
}

impl MemberSet {
    /// Derives the members from the genesis and admissions, whatever their order.
    pub fn derive<'a>(
        genesis: &Genesis,
        admissions: impl IntoIterator<Item = &'a Admission>,
    ) -> MemberSet {
        let mut set = MemberSet::default();
        let f = &genesis.founder;
        set.members.insert(
            f.member,
            Member {
                key: f.member,
                name: f.name.clone(),
                exchange: f.exchange,
                role: Role::Admin,
                admitted_by: None,
            },
        );
        let mut pending: Vec<&Admission> = admissions.into_iter().collect();
        // Deterministic: the earliest admission of a key wins, ties broken by admitter key.
        pending.sort_by_key(|a| (a.at, a.admitted_by, a.profile.member));
        loop {
            let before = pending.len();
            pending.retain(|a| {
                if set.members.contains_key(&a.profile.member) {
                    return false;
                }
                if !set.may_admit(&a.admitted_by) {
                    return true;
                }
                set.insert_admitted(a);
                false
            });
            if pending.len() == before {
                break;
            }
        }
        set
    }

    fn insert_admitted(&mut self, a: &Admission) {
        self.members.insert(
            a.profile.member,
            Member {
                key: a.profile.member,
                name: a.profile.name.clone(),
                exchange: a.profile.exchange,
                role: Role::Member,
                admitted_by: Some(a.admitted_by),
            },
        );
    }

    /// Adds one admission if its admitter is a member; returns whether the set changed.
    pub fn admit(&mut self, a: &Admission) -> bool {
        if self.members.contains_key(&a.profile.member) || !self.may_admit(&a.admitted_by) {
            return false;
        }
        self.insert_admitted(a);
        true
    }

    /// Whether `admitter` may let people in: admins only (in this version, the founder).
    pub fn may_admit(&self, admitter: &MemberKey) -> bool {
        self.get(admitter).is_some_and(|m| m.role == Role::Admin)
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: &MemberKey) -> bool {
        self.members.contains_key(key)
    }

    /// One member.
    pub fn get(&self, key: &MemberKey) -> Option<&Member> {
        self.members.get(key)
    }

    /// All members, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set is empty (never, for a derived set).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(
        by: &MemberSecret,
        circle: CircleId,
        who: &MemberSecret,
        name: &str,
        at: u64,
    ) -> Admission {
        let profile = Profile::sign(who, circle, name).unwrap();
        let invite = circle_crypto::InviteSecret::generate().id();
        let wire = Admission::sign(by, circle, profile, invite, at);
        Admission::open(&circle, &wire).unwrap()
    }

    #[test]
    fn members_do_not_depend_on_arrival_order() {
        let (alice, bob, carol) = (
            MemberSecret::generate(),
            MemberSecret::generate(),
            MemberSecret::generate(),
        );
        let g =
            Genesis::open(&Genesis::create(&alice, "Tuesday circle", "alice", 1).unwrap()).unwrap();
        let a1 = admit(&alice, g.circle, &bob, "bob", 2);
        let a2 = admit(&alice, g.circle, &carol, "carol", 3);
        let forward = MemberSet::derive(&g, [&a1, &a2]);
        let backward = MemberSet::derive(&g, [&a2, &a1]);
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), 3);
        assert_eq!(forward.get(&alice.public()).unwrap().role, Role::Admin);
    }

    #[test]
    fn only_an_admin_can_admit() {
        let (alice, bob, carol) = (
            MemberSecret::generate(),
            MemberSecret::generate(),
            MemberSecret::generate(),
        );
        let g = Genesis::open(&Genesis::create(&alice, "c", "alice", 1).unwrap()).unwrap();
        let bob_in = admit(&alice, g.circle, &bob, "bob", 2);
        let carol_by_bob = admit(&bob, g.circle, &carol, "carol", 3);
        let set = MemberSet::derive(&g, [&bob_in, &carol_by_bob]);
        assert!(set.contains(&bob.public()));
        assert!(!set.contains(&carol.public()), "bob is not an admin");
        let mut list = vec![bob_in.clone()];
        assert!(!merge_admission(&set, &mut list, carol_by_bob));
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn the_earliest_admission_of_a_member_wins_whatever_the_order() {
        let (alice, bob) = (MemberSecret::generate(), MemberSecret::generate());
        let g = Genesis::open(&Genesis::create(&alice, "c", "alice", 1).unwrap()).unwrap();
        let early = admit(&alice, g.circle, &bob, "bob", 5);
        let late = admit(&alice, g.circle, &bob, "bobby", 9);
        let set = MemberSet::derive(&g, []);
        let (mut one, mut two) = (Vec::new(), Vec::new());
        for a in [&early, &late] {
            merge_admission(&set, &mut one, a.clone());
        }
        for a in [&late, &early] {
            merge_admission(&set, &mut two, a.clone());
        }
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].profile.name, "bob");
        assert_eq!(two[0].profile.name, "bob");
    }

    #[test]
    fn admission_by_outsider_is_ignored() {
        let (alice, mallory, bob) = (
            MemberSecret::generate(),
            MemberSecret::generate(),
            MemberSecret::generate(),
        );
        let g = Genesis::open(&Genesis::create(&alice, "c", "alice", 1).unwrap()).unwrap();
        let forged = admit(&mallory, g.circle, &bob, "bob", 2);
        let set = MemberSet::derive(&g, [&forged]);
        assert!(!set.contains(&bob.public()));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn tampered_records_are_refused() {
        let alice = MemberSecret::generate();
        let mut wire = Genesis::create(&alice, "c", "alice", 1).unwrap();
        assert!(Genesis::open(&wire).is_ok());
        for i in 0..wire.len() {
            wire[i] ^= 0x40;
            assert!(
                Genesis::open(&wire).is_err(),
                "byte {i} flipped still opened"
            );
            wire[i] ^= 0x40;
        }
        assert!(Genesis::open(&[]).is_err());
        assert!(Genesis::open(&vec![0u8; MAX_RECORD_BYTES + 1]).is_err());
    }

    #[test]
    fn admission_for_other_circle_is_refused() {
        let (alice, bob) = (MemberSecret::generate(), MemberSecret::generate());
        let g = Genesis::open(&Genesis::create(&alice, "c", "alice", 1).unwrap()).unwrap();
        let other = CircleId::random();
        let profile = Profile::sign(&bob, g.circle, "bob").unwrap();
        let wire = Admission::sign(
            &alice,
            g.circle,
            profile,
            circle_crypto::InviteSecret::generate().id(),
            2,
        );
        assert!(Admission::open(&other, &wire).is_err());
    }

    #[test]
    fn a_record_has_one_wire_form() {
        let sam = MemberSecret::generate();
        let wire = Profile::sign(&sam, CircleId::random(), "sam").unwrap();
        assert!(Profile::open(&wire).is_ok());
        // The same record with its length written as an over-long varint (postcard accepts it).
        let len = wire[0];
        assert!(len < 0x80, "the profile body fits a one-byte length");
        let mut stretched = vec![len | 0x80, 0x00];
        stretched.extend_from_slice(&wire[1..]);
        assert!(Profile::open(&stretched).is_err());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("nickname", "  ", 10).is_err());
        assert!(check_name("nickname", "a\u{7}b", 10).is_err());
        assert!(check_name("nickname", &"x".repeat(11), 10).is_err());
        assert_eq!(check_name("nickname", " sam ", 10).unwrap(), "sam");
    }
}
