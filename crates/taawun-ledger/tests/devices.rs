//! Device keys through the sled ledger (its `Context` in `view.rs`): a device's entries
//! are judged as its member's, one claim per device chain is enforced by the ledger's
//! index, and a device that enrolls for two members on two branches of a fork is judged
//! on each branch by what that branch names, as the in-memory fold does.

use taawun_core::body::{Body, Claim, Device, Enroll, Offer};
use taawun_core::writer::Writer;
use taawun_core::{Hash, Invalid, Money, Verified};
use taawun_ledger::Ingest;

mod common;
use common::{founded, pk, reference, scenario};

const MIN: u64 = 60_000;

fn offer(ts: u64) -> Body {
    Body::Offer(Offer {
        title: "Translate".into(),
        description: "A leaflet, two pages.".into(),
        purpose: "Clinic opening hours for new arrivals".into(),
        pay: Money::new("EUR", 2_000),
        minutes: 60,
        assignments: 1,
        expires_at: ts + 24 * 60 * MIN,
        review_window_ms: 24 * 60 * MIN,
        claim_window_ms: 60 * MIN,
        commit: taawun_core::lottery::commit(&Hash([7; 32])),
    })
}

fn device(key: &ed25519_dalek::SigningKey) -> Body {
    Body::Device(Device {
        key: pk(key),
        label: "phone".into(),
    })
}

#[test]
fn a_devices_entries_are_judged_as_its_members_in_the_ledger() {
    let s = scenario(5, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    for v in &s.entries[1..] {
        c.ingest(v.clone(), None).expect("ingests");
    }
    let writer = |k: &ed25519_dalek::SigningKey| {
        let last = s
            .entries
            .iter()
            .rev()
            .find(|v| v.entry().author == pk(k))
            .map(|v| taawun_core::validate::Head {
                seq: v.entry().seq,
                id: v.id(),
                ts: v.entry().ts,
                gov: v.entry().gov,
            });
        Writer::new(k.clone(), Some(s.coop), last)
    };
    let (a, b) = (&s.members[0], &s.members[1]);
    let (mut wa, mut wb) = (writer(a), writer(b));
    let phone = ed25519_dalek::SigningKey::from_bytes(&[77; 32]);
    let mut t = s.end + MIN;
    let mut all: Vec<Verified> = s.entries.clone();
    let mut put = |c: &mut taawun_ledger::CoopLedger, v: Verified| -> Ingest {
        let out = c.ingest(v.clone(), None).expect("ingests");
        if !matches!(out, Ingest::Rejected(_)) {
            all.push(v);
        }
        out
    };
    let stored = |out: &Ingest| matches!(out, Ingest::Stored { .. });

    // Both members "authorise" the phone; member a posts an offer.
    let da = wa.next(device(&phone), t, None);
    assert!(stored(&put(&mut c, da.clone())));
    let db = wb.next(device(&phone), t, None);
    assert!(stored(&put(&mut c, db.clone())));
    t += MIN;
    let o = wa.next(offer(t), t, None);
    assert!(stored(&put(&mut c, o.clone())));
    t += MIN;

    // The phone enrolls with member a: claiming a's own offer is refused (it is a's).
    let mut w1 = Writer::new(phone.clone(), Some(s.coop), None);
    let e1 = w1.next(Body::Enroll(Enroll { device: da.id() }), t, None);
    assert!(stored(&put(&mut c, e1.clone())));
    let claim = Body::Claim(Claim { offer: o.id() });
    let mut w1b = w1.clone();
    let own = w1b.next(claim.clone(), t + MIN, None);
    assert!(
        matches!(
            put(&mut c, own),
            Ingest::Rejected(Invalid::NotAllowed { .. })
        ),
        "a device of the requester claims its own member's offer"
    );

    // On another branch, the phone enrolls with member b (a fork at seq 1); its claim on
    // that branch speaks for b, and is valid.
    let mut w2 = Writer::new(phone.clone(), Some(s.coop), None);
    let e2 = w2.next(Body::Enroll(Enroll { device: db.id() }), t, None);
    assert!(matches!(
        put(&mut c, e2),
        Ingest::Equivocation { existing, .. } if existing == e1.id()
    ));
    let c2 = w2.next(claim.clone(), t + 2 * MIN, None);
    let out = put(&mut c, c2.clone());
    assert!(
        !matches!(out, Ingest::Rejected(_)),
        "the branch speaks for b: {out:?}"
    );
    // The same claim again on that branch is a double claim.
    let again = w2.next(claim, t + 3 * MIN, None);
    assert!(matches!(
        put(&mut c, again),
        Ingest::Rejected(Invalid::DoubleClaim { .. })
    ));

    // The ledger's state is the reference fold's; the phone enrolled for two members
    // counts for nobody.
    let r = reference(&all);
    let state = c.state().expect("state");
    assert_eq!(state, r);
    assert!(state.claims_on(&o.id(), t + 10 * MIN).is_empty());
}
