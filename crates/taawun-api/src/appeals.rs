//! The API's JSON for appeals (docs/protocol.md 8.8): the bodies of the routes that
//! appeal, reply and vote, and the view of an appeal a member, a requester or a juror
//! reads. Pure, like the rest of the crate.

use serde::{Deserialize, Serialize};
use taawun_core::appeal::{AppealView, Outcome, Seat, SeatState};
use taawun_core::PublicKey;

/// `POST /api/coops/{coop}/submissions/{id}/appeal`: the member's answer to the reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealReq {
    /// The answer (required; several lines allowed).
    pub answer: String,
}

/// `POST /api/coops/{coop}/appeals/{id}/reply`: the requester's answer, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyReq {
    /// What the requester says to the jury (required).
    pub text: String,
}

/// `POST /api/coops/{coop}/appeals/{id}/vote`: a juror's vote.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictReq {
    /// True: uphold the appeal (the rejection is void). False: dismiss it.
    pub uphold: bool,
}

/// A seat of a jury.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatInfo {
    /// The juror's key, hex.
    pub member: String,
    /// When the seat began, ms.
    pub from: u64,
    /// The last moment a vote counts, ms.
    pub until: u64,
    /// `open`, `upheld`, `dismissed` (the juror's vote) or `lapsed`.
    pub state: String,
}

/// An appeal as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealInfo {
    /// The appeal entry's id, hex.
    pub id: String,
    /// The rejection appealed.
    pub rejection: String,
    /// The submission rejected.
    pub submission: String,
    /// The offer.
    pub offer: String,
    /// The member who appealed.
    pub appellant: String,
    /// The requester who rejected.
    pub requester: String,
    /// The rejection's reason: sealed to the member and the requester, so `null` for
    /// other readers, but for a juror whose node received its key with the result
    /// (docs/protocol.md 13.7).
    pub reason: Option<String>,
    /// Which text rule the opened reason breaks, or why it does not open though this
    /// node holds a key to it.
    #[serde(default)]
    pub reason_flag: Option<String>,
    /// The member's answer.
    pub answer: String,
    /// The requester's reply, if any.
    pub reply: Option<String>,
    /// When the appeal was made (witnessed time), ms.
    pub made_at: u64,
    /// `drawing`, `open`, `upheld`, `dismissed`, `no-jury` or `upheld-by-default`.
    pub outcome: String,
    /// When the outcome was reached (or, while drawing, when the jury is seated), ms.
    pub outcome_at: Option<u64>,
    /// Counted votes to uphold.
    pub uphold: usize,
    /// Counted votes to dismiss.
    pub dismiss: usize,
    /// Votes one side needs.
    pub majority: usize,
    /// Every seat, lapsed ones included.
    pub seats: Vec<SeatInfo>,
    /// Whether the key asking holds an open seat: it has this appeal to judge.
    pub to_judge: bool,
    /// The offer's title, as the jury reads it.
    #[serde(default)]
    pub title: String,
    /// The offer's description: the instructions the work followed.
    #[serde(default)]
    pub description: String,
    /// Whether the result file is on this node: the requester's node and each juror's
    /// receive it privately (docs/protocol.md 13.7); then
    /// `GET /api/coops/{coop}/submissions/{submission}/result` reads it.
    #[serde(default)]
    pub result_here: bool,
}

fn seat(s: &Seat) -> SeatInfo {
    SeatInfo {
        member: s.member.to_hex(),
        from: s.from,
        until: s.until,
        state: match s.state {
            SeatState::Open => "open",
            SeatState::Voted { uphold: true, .. } => "upheld",
            SeatState::Voted { uphold: false, .. } => "dismissed",
            SeatState::Lapsed => "lapsed",
        }
        .into(),
    }
}

/// The outcome's name and time.
pub fn outcome(o: &Outcome) -> (&'static str, Option<u64>) {
    match o {
        Outcome::Drawing { until } => ("drawing", Some(*until)),
        Outcome::Open => ("open", None),
        Outcome::Upheld { at } => ("upheld", Some(*at)),
        Outcome::Dismissed { at } => ("dismissed", Some(*at)),
        Outcome::NoJury => ("no-jury", None),
        Outcome::UpheldByDefault { at } => ("upheld-by-default", Some(*at)),
    }
}

impl AppealInfo {
    /// The view of `a` for the key `me` (the node fills in the offer's text, the reason
    /// when it can read it, and whether the result is here).
    pub fn of(a: &AppealView, me: &PublicKey) -> Self {
        let (name, at) = outcome(&a.outcome);
        AppealInfo {
            id: a.id.to_hex(),
            rejection: a.rejection.to_hex(),
            submission: a.submission.to_hex(),
            offer: a.offer.to_hex(),
            appellant: a.appellant.to_hex(),
            requester: a.requester.to_hex(),
            reason: None,
            reason_flag: None,
            answer: a.answer.clone(),
            reply: a.reply.clone(),
            made_at: a.made,
            outcome: name.into(),
            outcome_at: at,
            uphold: a.uphold,
            dismiss: a.dismiss,
            majority: a.majority,
            seats: a.seats.iter().map(seat).collect(),
            to_judge: a.open_seats().any(|s| s.member == *me),
            title: String::new(),
            description: String::new(),
            result_here: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::Id;

    #[test]
    fn an_open_seat_is_something_to_judge_and_a_vote_is_not() {
        let me = PublicKey([7; 32]);
        let mut a = AppealView {
            id: Id([1; 32]),
            rejection: Id([2; 32]),
            submission: Id([3; 32]),
            offer: Id([4; 32]),
            appellant: PublicKey([5; 32]),
            requester: PublicKey([6; 32]),
            reason: taawun_core::synth::sealed(
                "missing",
                &[PublicKey(
                    ed25519_dalek::SigningKey::from_bytes(&[5; 32])
                        .verifying_key()
                        .to_bytes(),
                )],
            ),
            answer: "all there".into(),
            reply: None,
            made: 10,
            seats: vec![Seat {
                member: me,
                from: 20,
                until: 30,
                state: SeatState::Open,
            }],
            uphold: 0,
            dismiss: 0,
            majority: 1,
            outcome: Outcome::Open,
        };
        let v = AppealInfo::of(&a, &me);
        assert!(v.to_judge);
        // The reason stays sealed here: only the node, with a key, opens it.
        assert_eq!(v.reason, None);
        assert_eq!(
            (v.outcome.as_str(), v.seats[0].state.as_str()),
            ("open", "open")
        );
        a.seats[0].state = SeatState::Voted {
            vote: Id([8; 32]),
            uphold: true,
        };
        a.outcome = Outcome::Upheld { at: 25 };
        let v = AppealInfo::of(&a, &me);
        assert!(!v.to_judge);
        assert_eq!((v.outcome.as_str(), v.outcome_at), ("upheld", Some(25)));
        assert!(!AppealInfo::of(&a, &PublicKey([9; 32])).to_judge);
    }
}
