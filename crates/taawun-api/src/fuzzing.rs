//! The checks behind the `api` fuzz target (`fuzz/`), also replayed over the seed corpus
//! by the workspace's tests. Not part of the API crate's interface.
//!
//! The first byte of an input picks a request type (see [`REQUESTS`]); the rest is its
//! JSON body, read with [`crate::request::decode`] as the server reads it (or, for
//! listings, its query string, read with [`crate::request::decode_query`]). A body that
//! decodes is turned into its entry body with the same code the node runs; that body is
//! then written as the next entry of a member or requester of the synthetic cooperative
//! of [`taawun_core::fuzzing`], must read back byte for byte through the network's
//! decoder, and is validated and folded there. Invites (the join request) are decoded and
//! their charter verified. Every check panics on a broken invariant: that is how the
//! fuzzer reports it.

use crate::appeals::{AppealReq, ReplyReq, VerdictReq};
use crate::request::{
    decode, decode_or_default, decode_query, parse_key, BadRequest, Checked, Invite, MAX_OFFER_PAGE,
};
use crate::views::{
    AddDevice, AssignReq, CreateCoop, JoinReq, OfferQuery, PayReq, PaymentQuery, PostOffer,
    Propose, RejectReq, ReviewReq, SubmissionQuery, VoteReq,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::OnceLock;
use taawun_core::body::{Appeal, Assign, Body, Reply, RevokeDevice, Verdict, Vote};
use taawun_core::entry::MAX_ENVELOPE_BYTES;
use taawun_core::fold::{self, Coop, OfferState};
use taawun_core::fuzzing::{judge, world, write_as};
use taawun_core::lottery;
use taawun_core::writer::Writer;
use taawun_core::{Hash, Id, Kind, PublicKey, Unverified};

/// The request types, by the first byte of an input (modulo their count). All are JSON
/// bodies but `list-offers`, a query string.
pub const REQUESTS: [&str; 17] = [
    "create-coop",
    "propose",
    "vote",
    "post-offer",
    "assign",
    "reject",
    "pay",
    "review",
    "join",
    "list-offers",
    "list-submissions",
    "list-payments",
    "appeal",
    "reply",
    "jury-vote",
    "add-device",
    "revoke-device",
];

/// Who writes an entry of the request's kind.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Founds a new cooperative (a charter starts its own chain).
    Founder,
    /// The world's first member.
    Member,
    /// The world's first requester.
    Requester,
    /// This member or requester of the world.
    As(PublicKey),
}

/// The `api` fuzz target.
pub fn api(data: &[u8]) {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    use Role::{As, Founder, Member, Requester};
    match usize::from(which) % REQUESTS.len() {
        0 => {
            let founder = world().members[0];
            request(json, Founder, |r: &CreateCoop| {
                r.charter(founder).map(Body::Charter)
            })
        }
        1 => request(json, Member, |r: &Propose| r.proposal().map(Body::Proposal)),
        2 => request(json, Member, |r: &VoteReq| {
            Ok(Body::Vote(Vote {
                proposal: r.proposal_id()?,
                yes: r.yes,
            }))
        }),
        3 => request(json, Requester, |r: &PostOffer| {
            r.offer(world().now, lottery::commit(&Hash([7; 32])))
                .map(Body::Offer)
        }),
        4 => assign(json),
        5 => request(json, As(targets().submission_requester), |r: &RejectReq| {
            let t = targets();
            r.reject(t.submission, &[t.worker, t.submission_requester], [5; 32])
                .map(Body::Reject)
        }),
        6 => request(json, Requester, |r: &PayReq| {
            let p = r.payment()?;
            p.seal(&[p.member, world().requesters[0]], [6; 32])
                .map(Body::Settle)
        }),
        7 => request(json, Member, |r: &ReviewReq| {
            r.review(&[world().members[0]], [7; 32]).map(Body::Review)
        }),
        8 => join(json),
        9 => list_offers(json),
        10 => list_submissions(json),
        11 => list_payments(json),
        // Appeals (the node's checks: a blank answer or reply is refused before writing).
        12 => request(json, As(targets().worker), |r: &AppealReq| {
            if r.answer.trim().is_empty() {
                return Err(BadRequest("an appeal needs an answer".into()));
            }
            Ok(Body::Appeal(Appeal {
                rejection: targets().rejection,
                answer: r.answer.clone(),
            }))
        }),
        13 => request(json, As(targets().submission_requester), |r: &ReplyReq| {
            if r.text.trim().is_empty() {
                return Err(BadRequest("a reply needs a text".into()));
            }
            Ok(Body::Reply(Reply {
                appeal: targets().appeal,
                text: r.text.clone(),
            }))
        }),
        14 => request(json, Member, |r: &VerdictReq| {
            Ok(Body::Verdict(Verdict {
                appeal: targets().appeal,
                uphold: r.uphold,
            }))
        }),
        15 => request(json, Member, |r: &AddDevice| r.device().map(Body::Device)),
        // The revoke route has no body: the device key is the path's last segment.
        _ => {
            let Ok(path) = std::str::from_utf8(json) else {
                return;
            };
            if let Ok(key) = parse_key("device", path) {
                write(Member, Body::RevokeDevice(RevokeDevice { key }));
            }
        }
    }
}

/// A submissions listing's query string (see [`read_query`]), its filter applied to
/// every submission of the world.
fn list_submissions(query: &[u8]) {
    let Some(f) = read_query(query, SubmissionQuery::filter) else {
        return;
    };
    for s in world().state.submissions(world().now) {
        if f.keeps(&s) {
            assert!(
                f.member.is_none_or(|m| m == s.member),
                "kept another member's"
            );
            assert!(
                f.requester.is_none_or(|r| r == s.requester),
                "kept another requester's"
            );
        }
    }
}

/// A payments listing's query string (see [`read_query`]), its filter applied to a
/// payment between the people it asks for.
fn list_payments(query: &[u8]) {
    let Some(f) = read_query(query, PaymentQuery::filter) else {
        return;
    };
    // A payment between the people asked for is kept exactly when its id matches.
    let id = Id::of(b"payment");
    let member = f.member.unwrap_or(me());
    let requester = f.requester.unwrap_or(world().requesters[0]);
    let by_id = f
        .id_prefix
        .as_ref()
        .is_none_or(|p| id.to_hex().starts_with(p.as_str()));
    assert_eq!(
        f.keeps(&id, &requester, &member),
        by_id,
        "a matching payment is kept"
    );
}

/// An offers listing's query string (see [`read_query`]), its filter applied to every
/// offer of the world.
fn list_offers(query: &[u8]) {
    let Some(f) = read_query(query, OfferQuery::filter) else {
        return;
    };
    assert!(
        (1..=MAX_OFFER_PAGE).contains(&f.limit),
        "a page holds 1 to {MAX_OFFER_PAGE} offers"
    );
    for o in world().state.offers(world().now) {
        let kept = f.keeps(&o, || o.winners.contains(&me()));
        if let Some(p) = &f.id_prefix {
            assert!(
                !kept || o.id.to_hex().starts_with(p.as_str()),
                "kept outside the prefix"
            );
        }
    }
}

/// Whom `me` stands for in the listings' queries.
fn me() -> PublicKey {
    world().members[0]
}

/// A listing's query string read as the server reads it, into its filter; the same
/// query as the CLI sends it (encoded again) must read to the same filter, or the same
/// refusal. `None` when the query is refused.
fn read_query<Q, F>(query: &[u8], filter: fn(&Q, PublicKey) -> Checked<F>) -> Option<F>
where
    Q: DeserializeOwned + Serialize,
    F: PartialEq + std::fmt::Debug,
{
    // A query reaches the server as part of the request's URI: text.
    let text = std::str::from_utf8(query).ok()?;
    let q: Q = decode_query(Some(text)).ok()?;
    let read = filter(&q, me());
    let again = serde_urlencoded::to_string(&q).expect("a query encodes");
    let again: Q = decode_query(Some(&again)).expect("a query's own encoding decodes");
    assert_eq!(
        filter(&again, me()),
        read,
        "a query re-encoded reads the same"
    );
    read.ok()
}

/// The entries that requests naming one in their path (assign, reject) act on, with
/// their requesters: an offer (waiting for its lottery if the world has one) with its
/// claims, and a submission waiting for review, so that a valid rejection is accepted.
struct Targets {
    offer: Id,
    offer_requester: PublicKey,
    claims: Vec<Id>,
    submission: Id,
    submission_requester: PublicKey,
    /// The member whose work `submission` is.
    worker: PublicKey,
    /// What an appeal names: a rejection of the world's, or else the submission (judged
    /// and refused like any wrong name).
    rejection: Id,
    /// What a reply or a juror's vote names: an appeal of the world's, or else the
    /// rejection.
    appeal: Id,
}

fn targets() -> &'static Targets {
    static TARGETS: OnceLock<Targets> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let w = world();
        let offers = w.state.offers(w.now);
        let offer = offers
            .iter()
            .find(|o| o.state == OfferState::AwaitingAssignment && !o.claimants.is_empty())
            .or_else(|| offers.first())
            .expect("the synthetic cooperative has offers");
        let submissions = w.state.submissions(w.now);
        let submission = submissions
            .iter()
            .find(|s| matches!(s.review, fold::Review::Pending { .. }))
            .or_else(|| submissions.first())
            .expect("the synthetic cooperative has submissions");
        let rejection = w
            .state
            .ids(Kind::Reject)
            .next()
            .copied()
            .unwrap_or(submission.id);
        let appeal = w
            .state
            .ids(Kind::Appeal)
            .next()
            .copied()
            .unwrap_or(rejection);
        Targets {
            offer: offer.id,
            offer_requester: offer.requester,
            claims: w
                .state
                .claims_on(&offer.id, w.now)
                .into_iter()
                .map(|(_, id)| id)
                .collect(),
            submission: submission.id,
            submission_requester: submission.requester,
            worker: submission.member,
            rejection,
            appeal,
        }
    })
}

/// Decodes a request, builds its body, and checks the body both ways.
fn request<T, F>(json: &[u8], role: Role, build: F)
where
    T: DeserializeOwned + Serialize,
    F: Fn(&T) -> Checked<Body>,
{
    let Ok(req) = decode::<T>(json) else {
        return;
    };
    let built = build(&req);
    // What the client library sends for this request reads back as the same request.
    let again: T = decode(&serde_json::to_vec(&req).expect("a request encodes to JSON"))
        .expect("a request's own JSON decodes");
    assert_eq!(
        build(&again),
        built,
        "a request re-encoded builds the same body"
    );
    if let Ok(body) = built {
        write(role, body);
    }
}

/// The assign request: an empty body asks for the lottery.
fn assign(json: &[u8]) {
    let Ok(req) = decode_or_default::<AssignReq>(json) else {
        return;
    };
    let Ok(winners) = req.winners() else {
        return;
    };
    let w = world();
    let t = targets();
    // The synthetic requester's secret is not known here: the reveal is judged (and
    // refused) like any other.
    let secret = Hash([7; 32]);
    let winners = winners.unwrap_or_else(|| {
        let claims: Vec<(Id, PublicKey)> = t
            .claims
            .iter()
            .filter_map(|c| w.state.get(c))
            .map(|v| (v.id(), v.entry().author))
            .collect();
        lottery::draw(&secret, &t.offer, &claims, 1)
    });
    write(
        Role::As(t.offer_requester),
        Body::Assign(Assign {
            offer: t.offer,
            claims: t.claims.clone(),
            winners,
            secret,
        }),
    );
}

/// The join request: an invite, its charter verified.
fn join(json: &[u8]) {
    let Ok(req) = decode::<JoinReq>(json) else {
        return;
    };
    let Ok(invite) = Invite::parse(&req.invite) else {
        return;
    };
    assert_eq!(
        Invite::parse(&invite.to_text()).as_ref(),
        Ok(&invite),
        "an invite's own text reads back"
    );
    if let Ok(c) = invite.verified_charter() {
        assert_eq!(
            c.charter.envelope(),
            invite.charter,
            "the charter is kept as sent"
        );
    }
}

/// Writes `body` as the next entry of a member or requester of the fuzzing world, reads
/// it back as the network would, and judges it there.
fn write(role: Role, body: Body) {
    let w = world();
    let v = match role {
        Role::Founder => {
            let key = w.keys[&w.members[0]].clone();
            Writer::new(key, None, None).next(body, w.now, None)
        }
        Role::Member => write_as(&w.members[0], body).expect("the world holds members' keys"),
        Role::Requester => {
            write_as(&w.requesters[0], body).expect("the world holds requesters' keys")
        }
        Role::As(author) => write_as(&author, body).expect("the world holds its authors' keys"),
    };
    let envelope = v.envelope();
    match Unverified::decode(&envelope) {
        Ok(u) => {
            let back = u.verify().expect("a signed entry verifies");
            assert_eq!(back, v, "an entry built from a request reads back the same");
            match role {
                // Founding: the charter is the first entry of a new cooperative.
                Role::Founder => match Coop::new().ingest(v, None) {
                    Ok(_) => {}
                    Err(invalid) => {
                        let _ = invalid.to_string();
                    }
                },
                _ => judge(w, v),
            }
        }
        Err(e) => assert!(
            envelope.len() > MAX_ENVELOPE_BYTES,
            "an entry built from a request does not decode: {e}"
        ),
    }
}
