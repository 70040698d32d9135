use super::*;
use circle_crypto::{ENVELOPE_VERSION, Header, MemberSecret};

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let store = Store::create(
        db,
        b"passphrase",
        b"node key",
        "peer",
        &KdfParams::TESTS_ONLY,
    )
    .unwrap();
    (dir, store)
}

/// An author writing in one circle: what every store test writes with.
struct Author {
    secret: MemberSecret,
    key: CircleKey,
    circle: CircleId,
}

fn one_author() -> Author {
    Author {
        secret: MemberSecret::generate(),
        key: CircleKey::generate(),
        circle: CircleId::random(),
    }
}

impl Author {
    fn public(&self) -> MemberKey {
        self.secret.public()
    }

    /// Message `seq` naming `prev` as the one before it.
    fn write(&self, seq: u64, prev: Option<MessageId>, text: &str) -> Envelope {
        let header = Header {
            version: ENVELOPE_VERSION,
            circle: self.circle,
            epoch: 0,
            author: self.public(),
            seq,
            prev,
        };
        Envelope::seal(&self.secret, &self.key, header, text.as_bytes()).unwrap()
    }

    /// A chain of `n` messages, each linked to the one before.
    fn chain(&self, n: u64) -> Vec<Envelope> {
        let mut out: Vec<Envelope> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map(Envelope::id);
            out.push(self.write(seq, prev, &format!("message {seq}")));
        }
        out
    }
}

fn put(store: &Store, env: &Envelope) -> Stored {
    store.put_envelope(env, None).unwrap()
}

/// (seq, versions known, ids held) of every forked number of the author.
fn forked(store: &Store, a: &Author) -> Vec<(u64, usize, Vec<MessageId>)> {
    store
        .forked(&a.circle)
        .unwrap()
        .into_iter()
        .map(|f| {
            assert_eq!(f.author, a.public());
            (f.seq, f.versions, f.held)
        })
        .collect()
}

#[test]
fn the_first_message_a_node_stores_shows_in_its_feed() {
    let (_dir, store) = temp_store();
    let a = one_author();
    put(&store, &a.write(1, None, "hello"));
    let arrivals: Vec<_> = store
        .arrivals_after(&a.circle, 0)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(arrivals.len(), 1);
    assert!(arrivals[0].cursor > 0);
    assert_eq!((arrivals[0].seq, arrivals[0].fork), (1, false));
}

#[test]
fn heads_advance_only_over_contiguous_messages() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let chain = a.chain(2);
    put(&store, &chain[1]);
    assert_eq!(store.head(&a.circle, &a.public()).unwrap(), 0);
    put(&store, &chain[0]);
    assert_eq!(store.head(&a.circle, &a.public()).unwrap(), 2);
    assert!(forked(&store, &a).is_empty());
}

#[test]
fn a_duplicate_is_stored_once() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let e = a.write(1, None, "once");
    assert_eq!(put(&store, &e), Stored::New);
    assert_eq!(put(&store, &e), Stored::Duplicate);
    assert_eq!(store.message_count(&a.circle), 1);
    assert_eq!(store.arrivals_after(&a.circle, 0).count(), 1);
}

#[test]
fn a_second_version_of_a_message_is_kept_flagged_and_a_duplicate_the_second_time() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let chain = a.chain(3);
    for e in &chain {
        put(&store, e);
    }
    let other = a.write(2, Some(chain[0].id()), "another second message");
    assert_eq!(put(&store, &other), Stored::Fork);
    assert_eq!(put(&store, &other), Stored::Duplicate);
    assert!(store.has_message(&other.id()).unwrap());

    // The chain keeps the first version; the other is beside it, flagged.
    assert_eq!(
        store.envelope_at(&a.circle, &a.public(), 2).unwrap(),
        Some(chain[1].clone())
    );
    assert_eq!(store.head(&a.circle, &a.public()).unwrap(), 3);
    assert_eq!(store.message_count(&a.circle), 3);
    assert_eq!(store.fork_count(&a.circle), 1);
    assert_eq!(
        forked(&store, &a),
        [(2, 2, vec![chain[1].id(), other.id()])]
    );
    assert_eq!(
        store.versions_at(&a.circle, &a.public(), 2).unwrap(),
        [chain[1].to_bytes().to_vec(), other.to_bytes().to_vec()]
    );
    // Sync ranges carry only the chain.
    let synced: Vec<_> = store
        .envelopes_between(&a.circle, &a.public(), 0, u64::MAX)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(synced.len(), 3);

    // It arrives in the feed's order, marked.
    let arrivals: Vec<Arrival> = store
        .arrivals_after(&a.circle, 0)
        .collect::<Result<_>>()
        .unwrap();
    let last = arrivals.last().unwrap();
    assert_eq!((last.id, last.seq, last.fork), (other.id(), 2, true));
    assert_eq!(arrivals.iter().filter(|a| a.fork).count(), 1);
}

#[test]
fn a_node_never_forks_its_own_chain() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let first = a.write(1, None, "mine");
    assert_eq!(
        store.put_own_envelope(&first, None, None).unwrap(),
        Stored::New
    );
    let again = a.write(1, None, "mine again, after a restore");
    assert_eq!(
        store.put_own_envelope(&again, None, None).unwrap(),
        Stored::Conflict
    );
    assert!(!store.has_message(&again.id()).unwrap());
    assert_eq!(store.fork_count(&a.circle), 0);
    assert!(forked(&store, &a).is_empty());
}

#[test]
fn at_most_four_versions_of_one_message_are_kept() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let versions: Vec<Envelope> = (0..10)
        .map(|i| a.write(1, None, &format!("version {i}")))
        .collect();
    assert_eq!(put(&store, &versions[0]), Stored::New);
    for v in &versions[1..MAX_FORK_VERSIONS] {
        assert_eq!(put(&store, v), Stored::Fork);
    }
    for v in &versions[MAX_FORK_VERSIONS..] {
        assert_eq!(put(&store, v), Stored::TooManyVersions);
        assert!(!store.has_message(&v.id()).unwrap());
    }
    assert_eq!(store.fork_count(&a.circle), MAX_FORK_VERSIONS - 1);
    assert_eq!(
        store.arrivals_after(&a.circle, 0).count(),
        MAX_FORK_VERSIONS
    );
    let [(seq, known, held)] = forked(&store, &a).try_into().unwrap();
    assert_eq!(
        (seq, known, held.len()),
        (1, MAX_FORK_VERSIONS, MAX_FORK_VERSIONS)
    );
}

#[test]
fn every_version_of_an_operation_is_recorded_and_kept_past_the_cap() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let record = |env: &Envelope, name: String| OpRecord {
        at: 5,
        id: env.id(),
        op: Op::Rename { name },
        seen: Vec::new(),
        legacy: false,
    };
    let versions: Vec<(Envelope, OpRecord)> = (0..MAX_FORK_VERSIONS + 2)
        .map(|i| {
            let env = a.write(1, None, &format!("version {i}"));
            let op = record(&env, format!("name {i}"));
            (env, op)
        })
        .collect();
    let next = a.write(2, Some(versions[0].0.id()), "after");
    let next_op = record(&next, "after".into());
    let mut stored = Vec::new();
    for (env, op) in &versions {
        stored.push(store.put_envelope(env, Some(op)).unwrap());
    }
    assert_eq!(
        store.put_envelope(&next, Some(&next_op)).unwrap(),
        Stored::New
    );
    assert_eq!(stored[0], Stored::New);
    assert!(stored[1..].iter().all(|s| *s == Stored::Fork));
    // Every version is an entry of the derivation, numbered 1, beside the chain's next.
    let mut entries: Vec<(u64, MessageId)> = store
        .ops(&a.circle)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id))
        .collect();
    entries.sort();
    let mut want: Vec<(u64, MessageId)> = versions.iter().map(|(e, _)| (1, e.id())).collect();
    want.push((2, next.id()));
    want.sort();
    assert_eq!(entries, want);
    // The welcome carries every version; a sync range the chain's only (other versions go
    // with the page's forks).
    assert_eq!(
        store.op_envelopes(&a.circle).unwrap().len(),
        MAX_FORK_VERSIONS + 3
    );
    let between = store
        .op_envelopes_between(&a.circle, &a.public(), 0, 2)
        .unwrap();
    assert_eq!(
        between,
        [
            (1, versions[0].0.to_bytes().to_vec()),
            (2, next.to_bytes().to_vec())
        ]
    );
}

#[test]
fn operations_in_other_versions_kept_before_they_counted_are_recorded_once_read_again() {
    use crate::content::{Body, Content};
    use crate::membership::Acked;
    let (_dir, store) = temp_store();
    let a = one_author();
    let rename = |name: &str| {
        let content = Content {
            sent_at: 5,
            body: Body::Acked(Acked {
                op: Op::Rename { name: name.into() },
                seen: Vec::new(),
            }),
        };
        let header = Header {
            version: ENVELOPE_VERSION,
            circle: a.circle,
            epoch: 0,
            author: a.public(),
            seq: 1,
            prev: None,
        };
        let env = Envelope::seal(&a.secret, &a.key, header, &content.to_bytes()).unwrap();
        let record = OpRecord::of(&content, env.id()).unwrap();
        (env, record)
    };
    let (chain, chain_op) = rename("one");
    let (other, _) = rename("two");
    assert_eq!(
        store.put_envelope(&chain, Some(&chain_op)).unwrap(),
        Stored::New
    );
    // As an older node kept it: the other version's operation not recorded.
    assert_eq!(store.put_envelope(&other, None).unwrap(), Stored::Fork);
    assert_eq!(store.ops(&a.circle).unwrap().len(), 1);
    let keys = std::collections::BTreeMap::from([(0, a.key.clone())]);
    assert_eq!(store.record_other_versions(&a.circle, &keys).unwrap(), 1);
    let mut ids: Vec<MessageId> = store.ops(&a.circle).unwrap().iter().map(|e| e.id).collect();
    ids.sort();
    let mut want = vec![chain.id(), other.id()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(store.record_other_versions(&a.circle, &keys).unwrap(), 0);
}

#[test]
fn a_prev_link_to_another_version_flags_the_number_before_in_either_order() {
    let a = one_author();
    let chain = a.chain(2);
    // The author wrote another message 2 on top of a message 1 this node never got.
    let unseen_first = a.write(1, None, "another first message");
    let second = a.write(2, Some(unseen_first.id()), "built on the other first");
    for order in [[&chain[0], &second], [&second, &chain[0]]] {
        let (_dir, store) = temp_store();
        for e in order {
            assert_eq!(put(&store, e), Stored::New);
        }
        assert_eq!(
            forked(&store, &a),
            [(1, 2, vec![chain[0].id()])],
            "{:?}",
            order.map(|e| e.header().seq)
        );
        // When that other version comes, it is held, and still two versions in all.
        assert_eq!(put(&store, &unseen_first), Stored::Fork);
        assert_eq!(
            forked(&store, &a),
            [(1, 2, vec![chain[0].id(), unseen_first.id()])]
        );
    }
}

#[test]
fn a_fork_version_whose_prev_does_not_match_flags_the_number_before() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let chain = a.chain(3);
    for e in &chain {
        put(&store, e);
    }
    // Another message 3 on a message 2 this node does not hold.
    let other = a.write(
        3,
        Some(MessageId::from_bytes(&[7; 32]).unwrap()),
        "elsewhere",
    );
    assert_eq!(put(&store, &other), Stored::Fork);
    let flagged: Vec<u64> = forked(&store, &a).into_iter().map(|f| f.0).collect();
    assert_eq!(flagged, [2, 3]);
    // A later message 4 linking to the other version of 3 adds nothing new.
    let fourth = a.write(4, Some(other.id()), "on the other branch");
    assert_eq!(put(&store, &fourth), Stored::New);
    let [_, (_, versions, held)] = forked(&store, &a).try_into().unwrap();
    assert_eq!((versions, held.len()), (2, 2));
}

#[test]
fn a_message_naming_no_previous_one_after_the_first_flags_the_number_before() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let first = a.write(1, None, "first");
    put(&store, &first);
    put(&store, &a.write(2, None, "second, unlinked"));
    assert_eq!(forked(&store, &a), [(1, 2, vec![first.id()])]);
}

#[test]
fn a_gap_shows_as_held_messages_beyond_the_head_until_it_is_filled() {
    let (_dir, store) = temp_store();
    let a = one_author();
    let chain = a.chain(6);
    for e in [&chain[0], &chain[3], &chain[5]] {
        put(&store, e);
    }
    let (c, k) = (&a.circle, &a.public());
    assert_eq!(store.head(c, k).unwrap(), 1);
    assert_eq!(store.max_seq(c, k).unwrap(), 6);
    // Numbers 2, 3 and 5 are missing: 5 after the head, 2 held.
    assert_eq!(store.held_between(c, k, 1, 6).unwrap(), 2);
    for e in [&chain[1], &chain[2], &chain[4]] {
        put(&store, e);
    }
    assert_eq!(store.head(c, k).unwrap(), 6);
    assert_eq!(store.held_between(c, k, 6, 6).unwrap(), 0);
    assert!(forked(&store, &a).is_empty(), "a linked chain has no fork");
}

#[test]
fn a_wrong_passphrase_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let kdf = KdfParams::TESTS_ONLY;
    Store::create(db.clone(), b"right passphrase", b"node key", "peer", &kdf).unwrap();
    assert!(matches!(
        Store::unlock(db.clone(), b"wrong passphrase", &kdf),
        Err(Error::WrongPassphrase)
    ));
    let Ok(Unlocked::Ready(store)) = Store::unlock(db, b"right passphrase", &kdf) else {
        panic!("the right passphrase opens the store");
    };
    assert_eq!(store.node_key().unwrap().as_slice(), b"node key");
}

#[test]
fn arrivals_before_a_cursor_are_only_the_older_ones_newest_last() {
    let (_dir, store) = temp_store();
    let a = one_author();
    for e in &a.chain(5) {
        put(&store, e);
    }
    let all: Vec<_> = store
        .arrivals_after(&a.circle, 0)
        .map(|r| r.unwrap().cursor)
        .collect();
    assert_eq!(all.len(), 5);
    let before: Vec<_> = store
        .arrivals_before(&a.circle, all[3])
        .map(|r| r.unwrap().cursor)
        .collect();
    assert_eq!(before, all[..3]);
    // Read from the back, a page costs only what it takes.
    let newest: Vec<_> = store
        .arrivals_before(&a.circle, u64::MAX)
        .rev()
        .take(2)
        .map(|r| r.unwrap().cursor)
        .collect();
    assert_eq!(newest, [all[4], all[3]]);
    assert_eq!(store.arrivals_before(&a.circle, all[0]).count(), 0);
}

#[test]
fn operation_records_of_every_layout_are_read_with_their_format() {
    use crate::content::{Body, Content};
    use crate::membership::Acked;
    let id = MessageId::from_bytes(&[9; 32]).unwrap();
    let member = MemberSecret::generate().public();
    let content = |body| Content { sent_at: 5, body };
    // Tag 15 with nothing seen (a founder's first operation) is not the old format.
    let acked = Acked {
        op: Op::Leave,
        seen: Vec::new(),
    };
    let record = OpRecord::of(&content(Body::Acked(acked)), id).unwrap();
    assert!(!record.legacy);
    let bytes = postcard::to_allocvec(&record).unwrap();
    assert!(!OpRecord::decode_any(&bytes).unwrap().legacy);
    let record = OpRecord::of(&content(Body::Op(Op::Leave)), id).unwrap();
    assert!(record.legacy);
    let bytes = postcard::to_allocvec(&record).unwrap();
    assert!(OpRecord::decode_any(&bytes).unwrap().legacy);
    // Kept before records said their format: an empty `seen` was taken as tag 1, and still is.
    let v4 = |seen: Vec<(MemberKey, u64)>| postcard::to_allocvec(&(5u64, id, Op::Leave, seen));
    let read = OpRecord::decode_any(&v4(vec![(member, 3)]).unwrap()).unwrap();
    assert!(!read.legacy);
    assert_eq!(read.seen, [(member, 3)]);
    assert!(
        OpRecord::decode_any(&v4(Vec::new()).unwrap())
            .unwrap()
            .legacy
    );
    // Kept before membership version 4.
    let v3 = postcard::to_allocvec(&(5u64, id, Op::Leave)).unwrap();
    let read = OpRecord::decode_any(&v3).unwrap();
    assert!(read.legacy && read.seen.is_empty());
}
