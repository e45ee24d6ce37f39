//! Which index an entry is filed under: the one place every store (the fold, the sled
//! ledger, the auditor's compact index) learns it from, so that they answer
//! [`crate::Context`]'s "already claimed / submitted / assigned / reviewed / voted /
//! answered" questions from the same keys.
//!
//! An entry is filed under at most one key, named by what it names and, for the
//! questions asked per member, by its author (the key that signed it, not whom a device
//! speaks for). What a store keeps for a key (the first stored, the lowest by (seq, id),
//! every one) is the store's own choice, documented where it is made.

use crate::body::Body;
use crate::id::{Id, PublicKey};

/// The index key an entry is filed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKey {
    /// A claim: by offer and claimant ([`crate::Context::claimed`]).
    Claim {
        /// The offer claimed.
        offer: Id,
        /// The claim's author.
        member: PublicKey,
    },
    /// A submission: by offer and worker ([`crate::Context::submitted`]).
    Submit {
        /// The offer worked on.
        offer: Id,
        /// The submission's author.
        member: PublicKey,
    },
    /// An assignment: by offer ([`crate::Context::assigned`]).
    Assign {
        /// The offer assigned.
        offer: Id,
    },
    /// A withdrawal: by offer (no rule asks; the stores keep it for their readers).
    Withdraw {
        /// The offer withdrawn.
        offer: Id,
    },
    /// An acceptance or a rejection: by submission ([`crate::Context::reviewed`]).
    Verdict {
        /// The submission reviewed.
        submission: Id,
    },
    /// A vote: by proposal and voter ([`crate::Context::voted`]).
    Vote {
        /// The proposal voted on.
        proposal: Id,
        /// The vote's author.
        member: PublicKey,
    },
    /// A receipt: by settlement ([`crate::Context::answered`]).
    Receipt {
        /// The settlement answered.
        settle: Id,
    },
}

impl IndexKey {
    /// The key an entry of `body` signed by `author` is filed under, if any.
    pub fn of(author: &PublicKey, body: &Body) -> Option<Self> {
        let member = *author;
        Some(match body {
            Body::Claim(c) => IndexKey::Claim {
                offer: c.offer,
                member,
            },
            Body::Submit(s) => IndexKey::Submit {
                offer: s.offer,
                member,
            },
            Body::Assign(a) => IndexKey::Assign { offer: a.offer },
            Body::Withdraw(w) => IndexKey::Withdraw { offer: w.offer },
            Body::Accept(a) => IndexKey::Verdict {
                submission: a.submission,
            },
            Body::Reject(r) => IndexKey::Verdict {
                submission: r.submission,
            },
            Body::Vote(v) => IndexKey::Vote {
                proposal: v.proposal,
                member,
            },
            Body::Receipt(r) => IndexKey::Receipt { settle: r.settle },
            _ => return None,
        })
    }

    /// The entry the key is under: the offer, submission, proposal or settlement named,
    /// always one of the entry's dependencies ([`Body::dependencies`]).
    pub fn named(&self) -> Id {
        match *self {
            IndexKey::Claim { offer, .. }
            | IndexKey::Submit { offer, .. }
            | IndexKey::Assign { offer }
            | IndexKey::Withdraw { offer } => offer,
            IndexKey::Verdict { submission } => submission,
            IndexKey::Vote { proposal, .. } => proposal,
            IndexKey::Receipt { settle } => settle,
        }
    }

    /// The author the key is also under, for the keys asked per member.
    pub fn member(&self) -> Option<PublicKey> {
        match *self {
            IndexKey::Claim { member, .. }
            | IndexKey::Submit { member, .. }
            | IndexKey::Vote { member, .. } => Some(member),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{Accept, Assign, Claim, Receipt, Reject, Submit, Tick, Vote, Withdraw};
    use crate::id::Hash;
    use proptest::prelude::*;

    /// A reason sealed to a real key (a seal needs a point on the curve).
    fn reason(text: &str) -> crate::seal::Sealed {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        crate::synth::sealed(text, &[PublicKey(key.to_bytes())])
    }

    /// A body of every kind that is filed somewhere, and one that is not, naming `named`.
    fn bodies(named: Id) -> Vec<Body> {
        vec![
            Body::Claim(Claim { offer: named }),
            Body::Submit(Submit {
                offer: named,
                assign: Id([9; 32]),
                result: Hash([1; 32]),
                size: 1,
                minutes: 1,
            }),
            Body::Assign(Assign {
                offer: named,
                claims: vec![Id([8; 32])],
                winners: vec![],
                secret: Hash([2; 32]),
            }),
            Body::Withdraw(Withdraw { offer: named }),
            Body::Accept(Accept { submission: named }),
            Body::Reject(Reject {
                submission: named,
                reason: reason("late"),
            }),
            Body::Vote(Vote {
                proposal: named,
                yes: true,
            }),
            Body::Receipt(Receipt {
                settle: named,
                received: true,
            }),
            Body::Tick(Tick { heads: vec![named] }),
        ]
    }

    #[test]
    fn an_acceptance_and_a_rejection_share_the_submissions_key() {
        let (a, s) = (PublicKey([1; 32]), Id([2; 32]));
        let accept = IndexKey::of(&a, &Body::Accept(Accept { submission: s }));
        let reject = IndexKey::of(
            &PublicKey([3; 32]),
            &Body::Reject(Reject {
                submission: s,
                reason: reason("x"),
            }),
        );
        assert_eq!(accept, Some(IndexKey::Verdict { submission: s }));
        assert_eq!(accept, reject);
    }

    proptest! {
        #[test]
        fn every_key_names_a_dependency_and_the_author_where_asked_per_member(
            author in any::<[u8; 32]>().prop_map(PublicKey),
            named in any::<[u8; 32]>().prop_map(Id),
        ) {
            for body in bodies(named) {
                let key = IndexKey::of(&author, &body);
                match &body {
                    Body::Tick(_) => prop_assert_eq!(key, None),
                    _ => {
                        let key = key.expect("filed");
                        prop_assert_eq!(key.named(), named);
                        prop_assert!(body.dependencies().any(|d| d == key.named()));
                        let per_member =
                            matches!(body, Body::Claim(_) | Body::Submit(_) | Body::Vote(_));
                        prop_assert_eq!(key.member(), per_member.then_some(author));
                    }
                }
            }
        }
    }
}
