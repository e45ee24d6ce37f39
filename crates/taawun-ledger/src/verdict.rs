//! The one offline verdict on an export file, shared by [`crate::verify()`]
//! (`taawun ledger verify`) and the auditor (`taawun audit`, crate `taawun-audit`).
//!
//! Both read the same file and count its *rule breaks* under the names below; both then
//! decide with [`Verdict::decide`] and exit with [`Verdict::exit_code`]. So the two tools
//! cannot disagree about whether a ledger is clean:
//!
//! - **clean** (exit 0): the file is readable, holds at least one entry, and not one
//!   break was found;
//! - **broken** (exit 1): at least one break ([`BREAKS`]: an item that is not an entry, a
//!   bad signature, a validation error of protocol.md section 4, an equivocation, an
//!   entry before what it needs, a hole, an entry by an author without a role at its
//!   time);
//! - **empty** (exit 2): the file is a header and nothing else: nothing was verified
//!   (a cooperative's ledger starts with its charter, and importing such a file into a
//!   node that does not hold the cooperative fails for want of it);
//! - a file that cannot be read at all (missing, not an export, wrong format version,
//!   truncated, not CBOR) is an error before any verdict: exit [`EXIT_UNREADABLE`].
//!
//! Notices ([`NOTICES`]) break no rule and never change the verdict.

use serde::Serialize;
use taawun_core::body::Body;
use taawun_core::fold::Timeline;
use taawun_core::{Entry, Invalid, PublicKey};

/// Exit code of a clean ledger.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code of a ledger with at least one rule break.
pub const EXIT_BROKEN: u8 = 1;
/// Exit code of a file that cannot be read, or that holds no entry.
pub const EXIT_UNREADABLE: u8 = 2;

/// An item that is not a decodable envelope.
pub const UNDECODABLE: &str = "Undecodable";
/// An envelope whose signature does not verify under the key its entry names.
pub const BAD_SIGNATURE: &str = "BadSignature";
/// A second, different entry by one author at one seq.
pub const EQUIVOCATION: &str = "Equivocation";
/// A valid entry that comes in the file before an entry it needs.
pub const OUT_OF_ORDER: &str = "OutOfOrder";
/// An entry not judged because too many entries already waited.
pub const UNJUDGED: &str = "Unjudged";
/// A hole in an author's chain: entries after it wait for good.
pub const CHAIN_GAP: &str = "ChainGap";
/// An entry naming an entry that is not a valid entry of the file.
pub const MISSING_DEPENDENCY: &str = "MissingDependency";
/// An entry waiting for another that itself could not be judged.
pub const DEPENDS_ON_UNJUDGED: &str = "DependsOnUnjudged";
/// An entry valid under the governance it names, by an author who was neither member
/// nor requester at its time by the full governance history.
pub const NO_ROLE_AT_TIME: &str = "NoRoleAtTime";

/// The names of breaks found by reading the whole file rather than by validation; every
/// other break is named by its validation error ([`rule_name`]).
pub const BREAKS: &[&str] = &[
    UNDECODABLE,
    BAD_SIGNATURE,
    EQUIVOCATION,
    OUT_OF_ORDER,
    UNJUDGED,
    CHAIN_GAP,
    MISSING_DEPENDENCY,
    DEPENDS_ON_UNJUDGED,
    NO_ROLE_AT_TIME,
];

/// The same entry twice in the file.
pub const DUPLICATE: &str = "Duplicate";
/// An assignment that does not count (docs/protocol.md 8.2): it does not name exactly
/// the claims that count, or came before the claim window closed.
pub const VOID_ASSIGNMENT: &str = "VoidAssignment";
/// An offer valid under the governance it named but under the floor in force at its
/// time by the full history.
pub const OFFER_UNDER_FLOOR_IN_FORCE: &str = "OfferUnderFloorInForce";

/// Notices: worth a question, never a break.
pub const NOTICES: &[&str] = &[DUPLICATE, VOID_ASSIGNMENT, OFFER_UNDER_FLOOR_IN_FORCE];

/// The name of a validation error as docs/protocol.md uses it: its variant's name.
pub fn rule_name(e: &Invalid) -> String {
    format!("{e:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Whether `e` is a [`NO_ROLE_AT_TIME`] break: not the charter, not at or after its
/// author's fork (`frozen_from`), and by an author whose `speaker` (itself, or the member
/// of its device key) was, by the governance timeline `tl` built from every enactment held
/// (protocol.md 5.6), neither member nor requester at the entry's time.
pub fn without_role(
    tl: &Timeline,
    e: &Entry,
    speaker: &PublicKey,
    frozen_from: Option<u64>,
) -> bool {
    // A device's entries hold the role of the member it speaks for; a receipt may come
    // from any key paid. Its enrollment and revocations are its member's business.
    !matches!(
        e.body,
        Body::Charter(_) | Body::Enroll(_) | Body::RevokeDevice(_)
    ) && frozen_from.is_none_or(|f| e.seq < f)
        && !tl.at(e.ts).may_request(speaker)
}

/// The verdict on a readable export file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// At least one entry, and no break.
    Clean,
    /// At least one break.
    Broken,
    /// The header and no item: nothing was verified.
    #[default]
    Empty,
}

impl Verdict {
    /// The verdict on a file of `items` items (after the header) in which `breaks`
    /// breaks were found.
    pub fn decide(items: u64, breaks: u64) -> Self {
        if breaks > 0 {
            Verdict::Broken
        } else if items == 0 {
            Verdict::Empty
        } else {
            Verdict::Clean
        }
    }

    /// The process exit code: 0 clean, 1 broken, 2 empty (as for an unreadable file:
    /// no verdict could be reached).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Clean => EXIT_CLEAN,
            Verdict::Broken => EXIT_BROKEN,
            Verdict::Empty => EXIT_UNREADABLE,
        }
    }

    /// Whether the ledger is clean.
    pub fn is_clean(self) -> bool {
        self == Verdict::Clean
    }

    /// What the verdict says, for people (a break count is added by the caller).
    pub fn says(self) -> &'static str {
        match self {
            Verdict::Clean => "clean: every item valid and every rule held",
            Verdict::Broken => "rule breaks found",
            Verdict::Empty => "nothing was verified: the file holds no entries",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_decide_before_emptiness() {
        assert_eq!(Verdict::decide(0, 0), Verdict::Empty);
        assert_eq!(Verdict::decide(3, 0), Verdict::Clean);
        assert_eq!(Verdict::decide(3, 1), Verdict::Broken);
        assert_eq!(Verdict::decide(0, 1), Verdict::Broken);
        assert_eq!(
            [Verdict::Clean, Verdict::Broken, Verdict::Empty].map(Verdict::exit_code),
            [0, 1, 2]
        );
    }
}
