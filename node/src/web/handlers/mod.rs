//! The page handlers: read the node's state, render a page; or take a form whose CSRF
//! token was checked ([`super::csrf::Checked`]), do the action and redirect (303) to the page that
//! shows its effect.
//!
//! One file per page: [`offers`] (the board, an offer, the posting form), [`work`],
//! [`earnings`], [`requests`] and [`coop`]; the devices and backup pages are in
//! `web/devices.rs`. What they share (the cooperative's frame, refusals in the page's
//! language, numbers as typed) is here.

// A handler's error is the page that says what went wrong, built once per request and
// returned at once: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use super::csrf::tokened;
use super::i18n::{self as t, typed_number, typed_whole, Lang};
use super::pages::{self, CoopInfo};
use super::{Ctx, Web};
use crate::service::{Error, Known};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use taawun_api::request::*;
use taawun_api::views::*;
use taawun_core::money::{decimals, parse_minor_in, parse_scaled, MAX_DECIMALS};
use taawun_core::{Id, Timestamp};

mod coop;
mod earnings;
mod offers;
mod requests;
mod work;

// The handlers by page, under the names the router uses.
pub(crate) use coop::{coop, vote};
pub(crate) use earnings::{confirm, earnings, review};
pub(crate) use offers::{board, claim, offer, post_form, post_offer, withdraw};
pub(crate) use requests::{accept, pay, reject, reply, requests, result, Overpay};
pub(crate) use work::{appeal, jury_vote, submit, work};

/// A page or the page that says what went wrong.
type Page = Result<Response, Response>;

fn now() -> Timestamp {
    taawun_net::config::system_now()
}

fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) | Error::WaitingForPeers { .. } => StatusCode::CONFLICT,
        Error::Refused(_) | Error::Rule(..) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Known(k, _) if k.is_refusal() => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Known(..) => StatusCode::CONFLICT,
        Error::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What the node refused, in the page's language when the page knows the refusal (a
/// rule of the protocol, a stopped network, something not held here); otherwise the
/// node's own words (English) after "The node refused it:".
pub(crate) fn node_says(l: Lang, e: &Error) -> Option<String> {
    use taawun_core::Invalid as I;
    let tr = match e {
        Error::Rule(i, _) => match &**i {
            I::DoubleClaim { .. } => &t::E_CLAIMED,
            I::OfferExpired { .. } => &t::E_EXPIRED,
            I::NotAllowed { .. } => &t::E_NOT_ALLOWED,
            I::AlreadyReviewed { .. } => &t::E_REVIEWED,
            I::BadScore { .. } => &t::E_SCORE,
            I::BadAmount(_) => &t::E_AMOUNT,
            I::DoubleVote { .. } => &t::E_VOTED,
            I::AlreadyAnswered { .. } => &t::E_ANSWERED,
            I::Oversize { .. } => &t::E_TOO_LONG,
            // The text rule (protocol.md 4.5): a direction control, or a text too long.
            I::BadOffer { why, .. } if why.contains("bidirectional control") => &t::E_BIDI,
            I::BadOffer { why, .. } if why.contains("characters; at most") => &t::E_TOO_LONG,
            I::OfferBelowFloor { .. } => &t::E_FLOOR,
            I::CurrencyNotAllowed(_) => &t::E_CURRENCY,
            I::DoubleSubmit { .. } => &t::E_SUBMITTED,
            I::ResultTooLarge { .. } => &t::E_RESULT_SIZE,
            I::FromTheFuture { .. } => &t::E_CLOCK,
            _ => &t::E_RULES,
        },
        Error::Stopped => &t::E_STOPPED,
        Error::NotFound(_) => &t::E_NOT_HERE,
        Error::Known(k, _) => match k {
            Known::NotOwnOffer => &t::E_NOT_OWN_OFFER,
            Known::NotOwnPayment => &t::E_NOT_OWN_PAYMENT,
            Known::AssignmentNotHeld => &t::E_ASSIGNMENT_NOT_HELD,
            Known::OutboxFull => &t::E_OUTBOX_FULL,
            Known::NotAllHeld => &t::E_NOT_ALL_HELD,
            Known::NotOwnSubmission => &t::E_NOT_OWN_SUBMISSION,
            Known::NotOpen => &t::E_NOT_OPEN,
            Known::NotAssignedHere => &t::E_NOT_ASSIGNED_HERE,
            Known::PaymentAnswered => &t::E_PAYMENT_ANSWERED,
            Known::NotOwnWork => &t::E_NOT_OWN_WORK,
            Known::NothingToAppeal => &t::E_NOTHING_TO_APPEAL,
            Known::NoSeat => &t::E_NO_SEAT,
            Known::DeviceRevoked => &t::E_DEVICE_REVOKED,
        },
        _ => return None,
    };
    Some(l.t(tr).to_owned())
}

pub(super) fn fail(ctx: &Ctx, c: Option<&CoopInfo>, e: &Error, back: &str) -> Response {
    match node_says(ctx.lang, e) {
        Some(m) => pages::refused(ctx, c, status_of(e), &m, &e.to_string(), back),
        None => pages::failed(ctx, c, status_of(e), &e.to_string(), back),
    }
}

fn coop_id(ctx: &Ctx, s: &str) -> Result<Id, Response> {
    parse_id("cooperative", s)
        .map_err(|m| pages::failed(ctx, None, StatusCode::BAD_REQUEST, &m.0, "/"))
}

fn entry_id(ctx: &Ctx, c: &CoopInfo, what: &str, s: &str) -> Result<Id, Response> {
    parse_id(what, s).map_err(|m| {
        pages::failed(
            ctx,
            Some(c),
            StatusCode::BAD_REQUEST,
            &m.0,
            &c.link("offers"),
        )
    })
}

/// The cooperative as the frame shows it.
pub(super) async fn info(web: &Web, ctx: &Ctx, coop: &str) -> Result<(Id, CoopInfo), Response> {
    let id = coop_id(ctx, coop)?;
    let v = web
        .st
        .node
        .coop(id)
        .await
        .map_err(|e| fail(ctx, None, &e, "/"))?;
    // "Me" is the member the node speaks for, also when it signs with a device key.
    let me = web
        .st
        .node
        .me_in(id)
        .await
        .map_err(|e| fail(ctx, None, &e, "/"))?
        .to_hex();
    let can_post = v.members.contains(&me) || v.requesters.contains(&me);
    let writing = web.st.node.writing(id).await;
    let min_claim_window_ms = v
        .limits
        .get("min_claim_window_ms")
        .copied()
        .unwrap_or(DEFAULT_CLAIM_WINDOW_MS);
    Ok((
        id,
        CoopInfo {
            id: v.id,
            name: v.name,
            me,
            can_post,
            floors: v.floors,
            min_claim_window_ms,
            waiting: writing.ok().filter(|w| w.waiting).map(|w| w.peers),
        },
    ))
}

/// Redirects to `path` saying the action was done; or, when no other node is connected,
/// that it is saved here and waits to reach the cooperative (`done=wait`): a member
/// offline in a camp must not read "Done" for a claim nobody has seen yet.
pub(super) async fn done(web: &Web, path: &str) -> Response {
    let alone = web
        .st
        .node
        .net()
        .peers()
        .await
        .map_or(true, |p| p.is_empty());
    let flag = if alone { "wait" } else { "1" };
    Redirect::to(&format!("{path}?done={flag}")).into_response()
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
    /// `1` from the page that asked "are you sure?" (or the script's dialog).
    #[serde(default)]
    confirm: String,
}

// The forms of the pages carry the session's token in `csrf`; handlers take them as
// `Checked<...>`, which checks it.
tokened!(CsrfOnly);

/// `GET /`: the one cooperative held, or the list.
pub(crate) async fn home(State(web): State<Web>, ctx: Ctx) -> Page {
    let s = web
        .st
        .node
        .status()
        .await
        .map_err(|e| fail(&ctx, None, &e, "/"))?;
    if let [one] = s.coops.as_slice() {
        return Ok(Redirect::to(&format!("/c/{}/offers", one.id)).into_response());
    }
    Ok(pages::home(&ctx, &s.coops))
}

/// `GET /c/{coop}`.
pub(crate) async fn coop_home(Path(coop): Path<String>) -> Response {
    Redirect::to(&format!(
        "/c/{}/offers",
        coop.chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
    ))
    .into_response()
}

/// Parses a number as typed in a form (`4.5`, `4,50`) in units of `10^-MAX_DECIMALS`, so
/// that it compares with amounts in any currency ([`scaled`]).
fn typed_scaled(s: &str) -> Option<u64> {
    parse_scaled(&typed_number(s)?, MAX_DECIMALS)
}

/// An amount of `currency` typed in a form ([`typed_number`]: `12,50`, `1 000,00`,
/// `١٢٫٥٠`), in minor units; or what is wrong with it, in the page's language.
fn typed_amount(l: Lang, field: &t::Tr, typed: &str, currency: &str) -> Result<u64, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(l.f(&t::REQUIRED, l.t(field)));
    }
    // The typed text in isolates, as all people's text: it cannot reorder the sentence.
    let shown = format!("\u{2068}{typed}\u{2069}");
    let not = || l.fa(&t::NOT_AMOUNT, &[l.t(field), &shown]);
    let n = typed_number(typed).ok_or_else(not)?;
    let places = decimals(currency);
    if n.split_once('.')
        .is_some_and(|(_, f)| f.len() > usize::from(places))
    {
        return Err(l.fa(&t::MAX_DECIMALS, &[currency, &places.to_string()]));
    }
    parse_minor_in(&n, currency).map_err(|_| not())
}

/// A whole number typed in a form, at least 1; or what is wrong with it, in the page's
/// language.
fn typed_count(l: Lang, field: &t::Tr, typed: &str) -> Result<u64, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(l.f(&t::REQUIRED, l.t(field)));
    }
    match typed_whole(typed) {
        None => Err(l.fa(
            &t::NOT_WHOLE,
            &[l.t(field), &format!("\u{2068}{typed}\u{2069}")],
        )),
        Some(0) => Err(l.f(&t::MUST_BE_POSITIVE, l.t(field))),
        Some(n) => Ok(n),
    }
}

/// A page saying, in the page's language, why the form was not sent on (400).
fn said(ctx: &Ctx, c: Option<&CoopInfo>, msg: &str, back: &str) -> Response {
    pages::invalid(ctx, c, msg, back)
}

/// `a` in units of `10^-MAX_DECIMALS`, whatever its currency's decimals.
fn scaled(a: &Amount) -> u128 {
    let shift = MAX_DECIMALS.saturating_sub(decimals(&a.currency));
    u128::from(a.minor) * 10u128.pow(u32::from(shift))
}

#[cfg(test)]
mod tests {
    use super::offers::offer_request;
    use super::requests::overpay;
    use super::*;
    use crate::web::pages::OfferForm;

    #[test]
    fn the_node_s_refusals_are_said_in_the_page_s_language() {
        let offer = Id::from_hex(&"ab".repeat(32)).expect("id");
        let twice = Error::rule(taawun_core::Invalid::DoubleClaim { offer });
        assert_eq!(
            node_says(Lang::Fr, &twice).as_deref(),
            Some("Vous avez déjà demandé cette offre.")
        );
        assert_eq!(
            node_says(
                Lang::Ar,
                &Error::rule(taawun_core::Invalid::BadScore {
                    field: "pay",
                    value: 9
                })
            )
            .as_deref(),
            Some(Lang::Ar.t(&t::E_SCORE))
        );
        assert_eq!(
            node_says(Lang::En, &Error::Stopped).as_deref(),
            Some("The node’s network has stopped: restart the node.")
        );
        // A title with a right-to-left override, in the node's words and the page's.
        let why =
            "contains the bidirectional control U+202E, which can make text read as something else";
        let bidi = Error::rule(taawun_core::Invalid::BadOffer {
            field: "title",
            why: why.into(),
        });
        assert_eq!(
            node_says(Lang::Fr, &bidi).as_deref(),
            Some("Le texte contient un caractère qui inverse ou cache ce qui l’entoure (une commande de sens, comme U+202E) : retirez-le.")
        );
        // A refusal the page does not know keeps the node's words.
        assert_eq!(node_says(Lang::Fr, &Error::Conflict("busy".into())), None);
        assert_eq!(status_of(&twice), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn refusals_of_ownership_delivery_and_sync_are_said_in_every_language() {
        let all = [
            (Known::NotOwnOffer, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::NotOwnPayment, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::AssignmentNotHeld, StatusCode::CONFLICT),
            (Known::OutboxFull, StatusCode::CONFLICT),
            (Known::NotAllHeld, StatusCode::CONFLICT),
            (Known::NotOwnSubmission, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::NotOpen, StatusCode::CONFLICT),
            (Known::NotAssignedHere, StatusCode::CONFLICT),
            (Known::PaymentAnswered, StatusCode::CONFLICT),
            (Known::NotOwnWork, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::NothingToAppeal, StatusCode::CONFLICT),
            (Known::NoSeat, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::DeviceRevoked, StatusCode::UNPROCESSABLE_ENTITY),
        ];
        let mut said = std::collections::BTreeSet::new();
        for (k, status) in all {
            let e = Error::Known(k, "the node's words".into());
            assert_eq!(status_of(&e), status, "{k:?}");
            assert_eq!(e.to_string(), "the node's words", "the API keeps them");
            for l in t::ALL {
                let m = node_says(l, &e).unwrap_or_else(|| panic!("{k:?} in {l:?}"));
                assert!(!m.is_empty() && said.insert(m.clone()), "{k:?} {l:?}: {m}");
            }
        }
        assert_eq!(
            node_says(
                Lang::Fr,
                &Error::Known(
                    Known::NotOwnPayment,
                    "payment ab is to another member".into()
                )
            )
            .as_deref(),
            Some("Ce paiement est destiné à un autre membre : lui seul peut dire s’il est arrivé.")
        );
        // Work sent to another requester: only they may accept or reject it.
        let other = Error::Known(
            Known::NotOwnSubmission,
            "submission ab is for another requester".into(),
        );
        assert_eq!(
            node_says(Lang::Ar, &other).as_deref(),
            Some("أُرسل هذا العمل إلى صاحب طلب آخر: لا يقبله أو يرفضه إلا هو.")
        );
        assert_eq!(status_of(&other), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn typed_amounts_take_a_comma_or_a_dot() {
        assert_eq!(typed_scaled("4,5"), Some(45_000));
        assert_eq!(typed_scaled(" 12.50 "), Some(125_000));
        assert_eq!(typed_scaled("abc"), None);
    }

    #[test]
    fn a_minimum_rate_reads_in_each_offers_currency() {
        let min = u128::from(typed_scaled("12,5").expect("typed"));
        assert!(scaled(&Amount::new("EUR", 1_250)) >= min);
        assert!(scaled(&Amount::new("EUR", 1_249)) < min);
        assert!(scaled(&Amount::new("JOD", 12_500)) >= min);
        assert!(scaled(&Amount::new("JOD", 12_499)) < min);
        assert!(scaled(&Amount::new("XOF", 13)) >= min);
        assert!(scaled(&Amount::new("XOF", 12)) < min);
        assert!(scaled(&Amount::new("XOF", u64::MAX)) > scaled(&Amount::new("JOD", u64::MAX)));
    }

    #[test]
    fn a_payment_over_what_is_left_to_pay_asks_first() {
        let me = "aa".repeat(32);
        // A real key: the request is read as the node reads it.
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let member_key = hex::encode(key.verifying_key().to_bytes());
        let pay = |amount: &str| PayReq {
            member: member_key.clone(),
            amount: amount.into(),
            reference: "transfer 1".into(),
        };
        let balance = |owed: u64, unconfirmed: u64| BalanceView {
            requester: me.clone(),
            requester_name: None,
            member: member_key.clone(),
            member_name: None,
            earned: Amount::new("EUR", owed),
            topup: Amount::new("EUR", 0),
            paid: Amount::new("EUR", unconfirmed),
            confirmed: Amount::new("EUR", 0),
            denied: Amount::new("EUR", 0),
            unconfirmed: Amount::new("EUR", unconfirmed),
            owed: Amount::new("EUR", owed),
        };
        // Nothing owed: any payment asks.
        let o = overpay(&pay("4.00EUR"), &me, &[]).expect("asks");
        assert_eq!((o.paying.minor, o.owed.minor), (400, 0));
        // Owed 5.00: 5.00 goes through, 5.01 asks, and so does 5.00 in another currency.
        assert!(overpay(&pay("5.00EUR"), &me, &[balance(500, 0)]).is_none());
        assert!(overpay(&pay("5.01EUR"), &me, &[balance(500, 0)]).is_some());
        assert!(overpay(&pay("5.000JOD"), &me, &[balance(500, 0)]).is_some());
        // Owed 5.00 of which 3.00 recorded and not answered: 2.00 is left to pay.
        assert!(overpay(&pay("2.00EUR"), &me, &[balance(500, 300)]).is_none());
        let o = overpay(&pay("2.50EUR"), &me, &[balance(500, 300)]).expect("asks");
        assert_eq!((o.owed.minor, o.pending.minor), (500, 300));
        // A request that does not read is left to the node's message.
        assert!(overpay(&pay("lots"), &me, &[]).is_none());
    }

    #[test]
    fn the_offer_form_becomes_the_api_request() {
        let c = CoopInfo {
            id: "00".repeat(32),
            name: "c".into(),
            me: "aa".repeat(32),
            can_post: true,
            floors: vec![Amount::new("EUR", 1_200)],
            min_claim_window_ms: 1_000,
            waiting: None,
        };
        let f = OfferForm {
            title: "t".into(),
            purpose: "p".into(),
            pay: "4,00".into(),
            currency: "EUR".into(),
            minutes: "15".into(),
            claim_window_s: "2".into(),
            ..OfferForm::default()
        };
        let r = offer_request(Lang::En, &c, &f).expect("valid");
        assert_eq!(r.pay, "4.00EUR");
        assert_eq!(r.claim_window_ms, Some(2_000));
        assert_eq!(r.review_window_ms, None);
        // Arabic-Indic digits, French thousands: the same request.
        let typed = |pay: &str, minutes: &str| OfferForm {
            pay: pay.into(),
            minutes: minutes.into(),
            ..f.clone()
        };
        let ar = offer_request(Lang::Ar, &c, &typed("١ ٠٠٠٫٥٠", "٤٥")).expect("valid");
        assert_eq!((ar.pay.as_str(), ar.minutes), ("1000.50EUR", 45));
        let fr = offer_request(Lang::Fr, &c, &typed("1\u{202f}000,50", "۴۵")).expect("valid");
        assert_eq!((fr.pay.as_str(), fr.minutes), ("1000.50EUR", 45));
        // What is wrong, in the page's language.
        let e = offer_request(Lang::Fr, &c, &typed("4,00", "une heure")).expect_err("minutes");
        assert_eq!(
            e,
            "Minutes estimées : « \u{2068}une heure\u{2069} » n’est pas un nombre entier."
        );
        let e = offer_request(Lang::Ar, &c, &typed("4,00", "0")).expect_err("zero");
        assert_eq!(e, "الدقائق المقدّرة: أدخل 1 على الأقل.");
        let e = offer_request(Lang::Fr, &c, &typed("4,005", "15")).expect_err("decimals");
        assert_eq!(e, "EUR s’écrit avec 2 décimales au plus");
        let e = offer_request(Lang::Fr, &c, &typed("2,00", "15")).expect_err("floor");
        assert!(
            e.starts_with("Offre refusée : 2,00\u{a0}€ pour 15 min font 8,00\u{a0}€/h"),
            "{e}"
        );
        assert!(e.contains("Payez au moins 3,00\u{a0}€ pour 15 min"), "{e}");
        let e = offer_request(Lang::Ar, &c, &typed("2,00", "15")).expect_err("floor");
        assert!(e.starts_with("رُفض العرض"), "{e}");
        let e = offer_request(Lang::En, &c, &typed("abc", "15")).expect_err("amount");
        assert!(
            e.starts_with("Pay per assignment: “\u{2068}abc\u{2069}” is not an amount"),
            "{e}"
        );
        let window = OfferForm {
            claim_window_s: "".into(),
            ..f.clone()
        };
        let c2 = CoopInfo {
            min_claim_window_ms: 7_200_000,
            ..c.clone()
        };
        let e = offer_request(Lang::En, &c2, &window).expect_err("window");
        assert!(e.starts_with("Offer refused: a claim window of"), "{e}");
    }
}
