//! The longest text each field a member types takes, in characters (Unicode scalar
//! values): the very limits the core checks, named by field, so that the page's
//! `maxlength`, the API's checks and the rules of the protocol never differ.

use taawun_core::{body, seal};

/// An offer's title.
pub const TITLE: usize = body::MAX_TITLE_CHARS;
/// An offer's purpose.
pub const PURPOSE: usize = body::MAX_PURPOSE_CHARS;
/// An offer's description.
pub const DESCRIPTION: usize = body::MAX_DESCRIPTION_CHARS;
/// A payment's reference: a sealed text (docs/protocol.md 3.7).
pub const PAYMENT_REFERENCE: usize = seal::MAX_TEXT_CHARS;
/// A review's text: a sealed text too.
pub const REVIEW_TEXT: usize = seal::MAX_TEXT_CHARS;
/// A rejection's reason: sealed to the member and the requester, so the sealed text rule.
pub const REJECT_REASON: usize = seal::MAX_TEXT_CHARS;
/// A member's answer in an appeal, and the requester's reply.
pub const APPEAL_TEXT: usize = body::MAX_ANSWER_CHARS;
/// A device's name (docs/protocol.md 4.7).
pub const DEVICE_LABEL: usize = body::MAX_LABEL_CHARS;
