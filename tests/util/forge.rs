//! A member's modified program: seals and signs anything with a member's own secret, read
//! from that member's node's store. What hostile and fork tests send as "a member did this".

use std::{
    cell::{Cell, RefCell},
    collections::BTreeMap,
};

use circle::crypto::{
    CircleId, CircleKey, ENVELOPE_VERSION, Envelope, Header, MemberSecret, MessageId,
};
use circle::node::{Acked, Body, Circles, Content, Op, now_ms};

/// The member secret `node` holds in `circle`.
pub fn secret_of(node: &Circles, circle: &CircleId) -> MemberSecret {
    let circles = node.store().circles().expect("circles");
    let (_, record) = circles
        .iter()
        .find(|(id, _)| id == circle)
        .expect("the node is in the circle");
    MemberSecret::from_bytes(&record.me).expect("a member secret")
}

/// A member's (or an outsider's) modified program.
pub struct Forger {
    pub secret: MemberSecret,
    pub key: CircleKey,
    pub circle: CircleId,
    /// The number of the last message of its chain.
    pub seq: Cell<u64>,
    /// Ids of what it sealed (and of its node's last message), by number: what `prev` names.
    ids: RefCell<BTreeMap<u64, MessageId>>,
}

impl Forger {
    /// `node`'s member in `circle`, numbering after its node's last message and linking to
    /// it, sealing under the founding key.
    pub fn of(node: &Circles, circle: &CircleId) -> Forger {
        let secret = secret_of(node, circle);
        let store = node.store();
        let seq = store.max_seq(circle, &secret.public()).expect("max seq");
        let (_, key) = store
            .keys(circle)
            .expect("keys")
            .into_iter()
            .find(|(e, _)| *e == 0)
            .expect("the founding key");
        let mut ids = BTreeMap::new();
        if let Some(last) = store
            .envelope_at(circle, &secret.public(), seq)
            .expect("read")
        {
            ids.insert(seq, last.id());
        }
        Forger {
            secret,
            key,
            circle: *circle,
            seq: Cell::new(seq),
            ids: RefCell::new(ids),
        }
    }

    /// Someone outside the circle who holds a leaked circle key.
    pub fn outsider(circle: CircleId, leaked: CircleKey) -> Forger {
        Forger {
            secret: MemberSecret::generate(),
            key: leaked,
            circle,
            seq: Cell::new(0),
            ids: RefCell::new(BTreeMap::new()),
        }
    }

    /// The next message of its chain.
    pub fn next(&self, body: Body) -> Envelope {
        self.seq.set(self.seq.get() + 1);
        self.seal(self.seq.get(), body)
    }

    /// A message numbered `seq`, under the founding key, dated now, linked to the last
    /// message numbered `seq - 1` it sealed (or its node's).
    pub fn seal(&self, seq: u64, body: Body) -> Envelope {
        self.seal_with(&self.key, self.circle, 0, seq, now_ms(), body)
    }

    /// A message numbered `seq` that names `prev` as the one before it.
    pub fn seal_after(&self, seq: u64, prev: Option<MessageId>, body: Body) -> Envelope {
        let mut header = header(&self.secret, self.circle, 0, seq);
        header.prev = prev;
        self.finish(&self.key, header, now_ms(), body)
    }

    pub fn seal_with(
        &self,
        key: &CircleKey,
        circle: CircleId,
        epoch: u64,
        seq: u64,
        sent_at: u64,
        body: Body,
    ) -> Envelope {
        let mut header = header(&self.secret, circle, epoch, seq);
        header.prev = seq
            .checked_sub(1)
            .and_then(|before| self.ids.borrow().get(&before).copied());
        self.finish(key, header, sent_at, body)
    }

    fn finish(&self, key: &CircleKey, header: Header, sent_at: u64, body: Body) -> Envelope {
        let seq = header.seq;
        let content = Content { sent_at, body };
        let envelope = Envelope::seal(&self.secret, key, header, &content.to_bytes())
            .expect("sealing a forged message");
        self.ids.borrow_mut().insert(seq, envelope.id());
        envelope
    }
}

/// A header by `author`, with no `prev`.
pub fn header(author: &MemberSecret, circle: CircleId, epoch: u64, seq: u64) -> Header {
    Header {
        version: ENVELOPE_VERSION,
        circle,
        epoch,
        author: author.public(),
        seq,
        prev: None,
    }
}

pub fn share(text: &str) -> Body {
    Body::Share { text: text.into() }
}

pub fn op(op: Op) -> Body {
    Body::Op(op)
}

/// An operation as a current node writes it (content tag 15): acknowledging every author's
/// chain as far as `node` holds it without a gap.
pub fn acked(node: &Circles, circle: &CircleId, op: Op) -> Body {
    let mut seen: Vec<_> = node
        .store()
        .heads(circle)
        .expect("heads")
        .into_iter()
        .filter(|(_, seq)| *seq > 0)
        .collect();
    seen.sort();
    seen.dedup_by_key(|(author, _)| *author);
    Body::Acked(Acked { op, seen })
}
