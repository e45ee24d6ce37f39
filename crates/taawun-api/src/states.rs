//! The names the API gives the states of offers and reviews, and the lists of them that
//! queries accept: shared by [`crate::views`] (what routes return) and [`crate::request`]
//! (what filters read), which both depend on this module and not on each other for it.

use taawun_core::fold::{self, OfferState};

/// The state's name in the API.
pub fn offer_state_name(s: &OfferState) -> &'static str {
    match s {
        OfferState::Open => "open",
        OfferState::AwaitingAssignment => "awaiting-assignment",
        OfferState::Assigned => "assigned",
        OfferState::Withdrawn => "withdrawn",
        OfferState::Expired => "expired",
    }
}

/// Every offer state, in the order they come.
pub const OFFER_STATES: [OfferState; 5] = [
    OfferState::Open,
    OfferState::AwaitingAssignment,
    OfferState::Assigned,
    OfferState::Withdrawn,
    OfferState::Expired,
];

/// A review state's name in the API.
pub fn review_name(r: &ReviewState) -> &'static str {
    match r {
        ReviewState::Pending => "pending",
        ReviewState::Accepted => "accepted",
        ReviewState::AcceptedByDefault => "accepted-by-default",
        ReviewState::Rejected => "rejected",
        ReviewState::UpheldOnAppeal => "upheld-on-appeal",
    }
}

/// Where a submission's review stands, without its times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    /// Waiting for the requester.
    Pending,
    /// Accepted by the requester.
    Accepted,
    /// Accepted because the review window passed.
    AcceptedByDefault,
    /// Rejected, with a reason.
    Rejected,
    /// Rejected, but the member's appeal was upheld: owed as accepted work.
    UpheldOnAppeal,
}

impl From<&fold::Review> for ReviewState {
    fn from(r: &fold::Review) -> Self {
        match r {
            fold::Review::Pending { .. } => Self::Pending,
            fold::Review::Accepted(_) => Self::Accepted,
            fold::Review::AcceptedByDefault(_) => Self::AcceptedByDefault,
            fold::Review::Rejected { .. } => Self::Rejected,
            fold::Review::Upheld { .. } => Self::UpheldOnAppeal,
        }
    }
}

/// Every review state.
pub const REVIEW_STATES: [ReviewState; 5] = [
    ReviewState::Pending,
    ReviewState::Accepted,
    ReviewState::AcceptedByDefault,
    ReviewState::Rejected,
    ReviewState::UpheldOnAppeal,
];
