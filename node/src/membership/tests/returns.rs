//! Coming back: someone who left or was removed rejoins under a new member key that the old
//! one vouches for ([`Op::Return`]).

use super::*;

impl Circle {
    /// What `now`'s join request through `invite` turns into when they had `before`'s key.
    fn comeback(&self, before: &Person, now: &Person, invite: &InviteSecret) -> Op {
        let Op::Admit {
            profile,
            invite,
            proof,
            epochs,
        } = self.admission(now, invite, self.derive().epochs().collect())
        else {
            unreachable!()
        };
        let vouched = return_vouch_bytes(&self.genesis.circle, &now.key());
        Op::Return {
            profile,
            invite,
            proof,
            epochs,
            former: before.key(),
            vouch: before.secret.sign(RETURN_DOMAIN, &vouched),
        }
    }
}

/// bob's new key in the circle, on the same node.
fn bob_again() -> Person {
    Person::new("bob", 12)
}

#[test]
fn a_member_who_left_comes_back_under_a_new_key_the_old_one_vouches_for() {
    let [alice, bob, ..] = people();
    let again = bob_again();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.post(&bob, 2 * SEC, Op::Leave);
    let invite = circle.invite(&alice, 3 * SEC);
    let op = circle.comeback(&bob, &again, &invite);
    circle.post(&alice, 4 * SEC, op);
    let m = circle.derive();
    let back = m.get(&again.key()).expect("bob is back");
    assert_eq!(back.returned_from, Some(bob.key()));
    assert!(!m.contains(&bob.key()), "the old key stays out");
    assert!(m.has_returned(&bob.key()));
}

#[test]
fn a_return_without_the_old_keys_vouch_or_for_a_member_still_in_has_no_effect() {
    let [alice, bob, carol, ..] = people();
    let again = bob_again();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);

    // carol is still in: nobody can come back as her.
    let invite = circle.invite(&alice, 2 * SEC);
    let op = circle.comeback(&carol, &again, &invite);
    circle.post(&alice, 3 * SEC, op);
    assert!(!circle.derive().contains(&again.key()));

    // bob left, but the vouch is carol's, not his.
    circle.post(&bob, 4 * SEC, Op::Leave);
    let invite = circle.invite(&alice, 5 * SEC);
    let Op::Return {
        profile,
        invite: id,
        proof,
        epochs,
        vouch,
        ..
    } = circle.comeback(&carol, &again, &invite)
    else {
        unreachable!()
    };
    let forged = Op::Return {
        profile,
        invite: id,
        proof,
        epochs,
        former: bob.key(),
        vouch,
    };
    circle.post(&alice, 6 * SEC, forged);
    assert!(!circle.derive().contains(&again.key()));

    // The real vouch works once; the old key cannot vouch for a second newcomer.
    let invite = circle.invite(&alice, 7 * SEC);
    let op = circle.comeback(&bob, &again, &invite);
    circle.post(&alice, 8 * SEC, op);
    assert!(circle.derive().contains(&again.key()));
    let third = Person::new("bob", 13);
    let invite = circle.invite(&alice, 9 * SEC);
    let op = circle.comeback(&bob, &third, &invite);
    circle.post(&alice, 10 * SEC, op);
    assert!(!circle.derive().contains(&third.key()));
}

#[test]
fn a_removed_member_comes_back_only_when_an_admin_admits_them_through_an_admins_invite() {
    let [alice, bob, carol, ..] = people();
    let again = bob_again();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, 2 * SEC, policy(InvitePolicy::Members));
    let upto = circle.held(&bob);
    circle.post(&alice, 3 * SEC, remove(&bob, upto));

    // carol may invite others, but not undo alice's removal: not with her own invite...
    let invite = circle.invite(&carol, 4 * SEC);
    let op = circle.comeback(&bob, &again, &invite);
    circle.post(&carol, 5 * SEC, op);
    assert!(!circle.derive().contains(&again.key()));
    // ...nor with alice's, admitted by her.
    let invite = circle.invite(&alice, 6 * SEC);
    let op = circle.comeback(&bob, &again, &invite);
    circle.post(&carol, 7 * SEC, op.clone());
    assert!(!circle.derive().contains(&again.key()));

    // alice admits him through her invite.
    circle.post(&alice, 8 * SEC, op);
    let m = circle.derive();
    assert_eq!(m.get(&again.key()).unwrap().returned_from, Some(bob.key()));
    assert_eq!(
        m.departed(&bob.key()).unwrap().by,
        alice.key(),
        "the cut stays"
    );
}

#[test]
fn a_return_of_a_removed_member_racing_another_admins_removal_of_them_is_dropped() {
    let [alice, bob, carol, ..] = people();
    let again = bob_again();
    let mut circle = Circle::found(&alice);
    circle.join(&alice, &bob, SEC);
    circle.join(&alice, &carol, SEC);
    circle.post(&alice, 2 * SEC, grant(&carol));
    let before = circle.everything();
    let upto = circle.held(&bob);
    // alice removes bob; carol, not having seen it, removes him too and lets him back in at
    // once through her own invite, under his new key.
    circle.post_seeing(&alice, 3 * SEC, remove(&bob, upto), before);
    let alices = circle.held(&alice);
    let carols_view = |c: &Circle| {
        let mut seen = c.everything();
        seen.retain(|(k, _)| *k != alice.key());
        seen.push((alice.key(), alices - 1));
        seen.sort();
        seen
    };
    let seen = carols_view(&circle);
    circle.post_seeing(&carol, 3 * SEC, remove(&bob, upto), seen);
    let invite = InviteSecret::generate();
    let registration = Op::Invite {
        id: invite.id(),
        key: invite.join_key().public(),
        expires_at: 3600,
        uses: 1,
        bound: None,
    };
    let seen = carols_view(&circle);
    circle.post_seeing(&carol, 4 * SEC, registration, seen);
    let op = circle.comeback(&bob, &again, &invite);
    let seen = carols_view(&circle);
    circle.post_seeing(&carol, 5 * SEC, op.clone(), seen);
    let m = circle.derive();
    assert!(
        !m.contains(&again.key()),
        "a re-add concurrent with a removal stood"
    );
    assert!(!m.contains(&bob.key()));
    // Once carol has seen alice's removal, she can let him back in.
    circle.post(&carol, 6 * SEC, op);
    assert!(circle.derive().contains(&again.key()));
}
