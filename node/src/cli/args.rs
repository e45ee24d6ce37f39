//! The command line's arguments and subcommands (clap derive).

use super::*;

/// `--json`: print the API's JSON instead of tables.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Out {
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--coop` and `--json`, for commands about one cooperative.
#[derive(Args, Debug, Clone)]
pub(crate) struct Ctx {
    /// The cooperative (id or unique prefix); default: the only one this node holds.
    #[arg(long)]
    pub(crate) coop: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The commands that talk to a running node (`taawun run`).
#[derive(Subcommand, Debug)]
pub(crate) enum ClientCmd {
    /// This node: key, peer id, addresses, peers, and its cooperatives with its role.
    Status(Out),
    /// Connected peers and their gossip scores.
    Peers(Out),
    /// Cooperatives: found, invite, join, show, propose amendments and vote.
    #[command(subcommand)]
    Coop(CoopCmd),
    /// Post or withdraw an offer (requesters).
    #[command(subcommand)]
    Offer(OfferCmd),
    /// Open offers: pay, hourly rate against the floor, minutes, purpose, the requester's record.
    Offers {
        /// Every offer, not only open ones.
        #[arg(long)]
        all: bool,
        /// Also the offers you claimed or won, whatever their state.
        #[arg(long)]
        mine: bool,
        /// Only this requester's offers (hex key, or `me`).
        #[arg(long)]
        requester: Option<String>,
        /// Most offers shown, newest first.
        #[arg(long, default_value_t = taawun_api::request::DEFAULT_OFFER_PAGE)]
        limit: usize,
        /// Offers skipped first (the next page).
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Claim an offer (members); the lottery or the requester picks among the claims.
    Claim {
        /// The offer (id or unique prefix).
        offer: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Assign an offer (requesters): to the given members, or by lottery among the claims.
    Assign {
        /// The offer (id or unique prefix).
        offer: String,
        /// A member to assign it to (repeatable); none: the lottery picks.
        #[arg(long = "winner", value_name = "KEY")]
        winners: Vec<String>,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Submit a result file for an offer assigned to you (members).
    Submit {
        /// The offer (id or unique prefix).
        offer: String,
        /// The result file; its bytes go privately to the requester's node.
        #[arg(long)]
        file: PathBuf,
        /// Minutes actually worked.
        #[arg(long)]
        minutes: u32,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Submissions you made as a member or received as a requester.
    Submissions {
        /// Every submission of the cooperative.
        #[arg(long)]
        all: bool,
        /// Only these review states, comma-separated: pending, accepted,
        /// accepted-by-default, rejected.
        #[arg(long)]
        review: Option<String>,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Fetch result files (requesters).
    #[command(subcommand)]
    Results(ResultsCmd),
    /// Accept a submission (requesters).
    Accept {
        /// The submission (id or unique prefix).
        submission: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Reject a submission, with a reason (requesters).
    Reject {
        /// The submission (id or unique prefix).
        submission: String,
        /// Why: the member and the cooperative read it.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Record a payment made outside the system (requesters).
    Pay {
        /// The member paid (key or unique prefix).
        member: String,
        /// How much, with the currency's decimals at most: 4.00EUR, 4.000JOD, 400XOF.
        amount: String,
        /// The payment's reference (a transfer number...).
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Confirm that a payment reached you, or answer that it did not (members). Only a
    /// confirmed payment lowers what you are owed.
    Confirm {
        /// The payment (id or unique prefix).
        payment: String,
        /// The money did not reach you: recorded on the requester's record as "not
        /// received"; what it owes you stays owed. An answer cannot be changed.
        #[arg(long)]
        not_received: bool,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Review a requester, scores 1 to 5 (members).
    Review {
        /// The requester (key or unique prefix).
        requester: String,
        /// Pay.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        pay: u8,
        /// Fairness of reviews.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        fairness: u8,
        /// Promptness.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        promptness: u8,
        /// Communication.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        communication: u8,
        /// Free text.
        #[arg(long, default_value = "")]
        text: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Earned, top-ups owed, paid, confirmed and owed, per requester and member.
    Balance {
        /// Every row of the cooperative, not only those involving this node's key.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Requesters' records.
    #[command(subcommand)]
    Requester(RequesterCmd),
    /// Devices that write for you: authorise a laptop or a phone, list them, revoke one.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Appeal the rejection of your work to a jury of members drawn by lottery (members).
    Appeal {
        /// The rejected submission (id or unique prefix).
        submission: String,
        /// Your answer to the rejection's reason: the jury reads it. One appeal per
        /// rejection.
        #[arg(long)]
        answer: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Answer an appeal of your rejection, once (requesters).
    Reply {
        /// The appeal (id or unique prefix).
        appeal: String,
        /// What you say to the jury.
        #[arg(long)]
        text: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// The appeals of the cooperative and how they stand.
    Appeals(Ctx),
    /// The appeals you have to judge as a juror; `taawun jury vote` votes.
    Jury {
        #[command(subcommand)]
        cmd: Option<JuryCmd>,
        #[command(flatten)]
        ctx: Ctx,
    },
}

/// `taawun device ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum DeviceCmd {
    /// Authorise a device key (printed by `taawun init --device-of`) to write for you.
    Add {
        /// The device's public key, in full.
        key: String,
        /// A short name for it: "camp laptop".
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Your devices: enrolled or not, revoked or not.
    List(Ctx),
    /// Revoke a device (lost, broken, confiscated): nothing it signs from now on counts.
    Revoke {
        /// The device key (or a unique prefix of one of your devices).
        key: String,
        #[command(flatten)]
        ctx: Ctx,
    },
}

/// `taawun jury vote ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum JuryCmd {
    /// Vote on an appeal whose jury you sit on: uphold (the rejection is void, the work
    /// is owed as accepted) or dismiss (the rejection stands).
    Vote {
        /// The appeal (id or unique prefix).
        appeal: String,
        /// `uphold` or `dismiss`.
        verdict: crate::appeals::Choice,
    },
}

/// `taawun coop ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum CoopCmd {
    /// Found a cooperative; this node's key is its first member.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// The minimum hourly rate, with the currency's decimals at most: 12.50EUR/h,
        /// 12.500JOD/h, 1500XOF/h.
        #[arg(long)]
        floor: String,
        /// Share of members whose yes votes pass a proposal, in percent.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=100))]
        quorum: u8,
        /// Another founding member's key (repeatable).
        #[arg(long = "member", value_name = "KEY")]
        members: Vec<String>,
        /// A requester admitted from the start (repeatable).
        #[arg(long = "requester", value_name = "KEY")]
        requesters: Vec<String>,
        /// A founder's display name, vouched for by the charter: KEY=NAME, KEY `me` for
        /// this node's key (repeatable; a founder left out is named by its short key).
        #[arg(long = "named", value_name = "KEY=NAME")]
        named: Vec<String>,
        /// A limit instead of its default: max_review_window_ms=3d (repeatable).
        #[arg(long = "limit", value_name = "NAME=VALUE")]
        limits: Vec<String>,
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print an invite to a cooperative through this node.
    Invite(Ctx),
    /// Follow a cooperative from an invite.
    Join {
        /// The invite printed by `taawun coop invite`.
        invite: String,
        /// Print the API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Members, requesters, floor, quorum, limits and open proposals.
    Show(Ctx),
    /// Propose an amendment; it takes effect once a quorum of members votes yes.
    Propose {
        #[command(subcommand)]
        action: ProposeCmd,
    },
    /// Vote on a proposal (yes unless --no).
    Vote {
        /// The proposal (id or unique prefix).
        proposal: String,
        /// Vote no.
        #[arg(long)]
        no: bool,
        #[command(flatten)]
        ctx: Ctx,
    },
}

/// What a proposal would do.
#[derive(Subcommand, Debug)]
pub(crate) enum ProposeCmd {
    /// Admit a member under the name the cooperative vouches for.
    AdmitMember(AdmitProposal),
    /// Remove a member.
    RemoveMember(KeyProposal),
    /// Admit a requester under the name the cooperative vouches for (a requester
    /// cannot name itself).
    AdmitRequester(AdmitProposal),
    /// Remove a requester.
    RemoveRequester(KeyProposal),
    /// Set the floor for a currency: 13.00EUR/h, 13.000JOD/h.
    SetFloor {
        /// The new floor.
        floor: String,
        #[command(flatten)]
        why: Reason,
    },
    /// Set the quorum, in percent.
    SetQuorum {
        /// The new quorum.
        #[arg(value_parser = clap::value_parser!(u8).range(1..=100))]
        percent: u8,
        #[command(flatten)]
        why: Reason,
    },
    /// Set a limit: max_review_window_ms=3d.
    SetLimit {
        /// NAME=VALUE.
        limit: String,
        #[command(flatten)]
        why: Reason,
    },
    /// Revoke a member's device key (a confiscated phone), by vote.
    RevokeDevice(KeyProposal),
    /// Replace a member's lost key with a new one: its history, wages and reviews stay
    /// its own (needs two thirds of the votes cast).
    ReplaceKey {
        /// The lost key (or a unique prefix of a member's or requester's key).
        old: String,
        /// The new key, in full (`taawun id` on the new node).
        new: String,
        #[command(flatten)]
        why: Reason,
    },
}

/// A proposal about a key.
#[derive(Args, Debug)]
pub(crate) struct KeyProposal {
    /// The key (a new key in full; a present one may be a unique prefix).
    pub(crate) key: String,
    #[command(flatten)]
    pub(crate) why: Reason,
}

/// An admission: the key and the name members will see.
#[derive(Args, Debug)]
pub(crate) struct AdmitProposal {
    /// The key, in full.
    pub(crate) key: String,
    /// The display name: not blank, at most 64 characters, no bidirectional controls.
    #[arg(long)]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) why: Reason,
}

/// `--reason` and the cooperative.
#[derive(Args, Debug)]
pub(crate) struct Reason {
    /// Why, for the members who vote.
    #[arg(long)]
    pub(crate) reason: String,
    #[command(flatten)]
    pub(crate) ctx: Ctx,
}

/// `taawun offer ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum OfferCmd {
    /// Post an offer; one paying under the cooperative's floor is refused.
    Post {
        /// Short title.
        #[arg(long)]
        title: String,
        /// What to do.
        #[arg(long, default_value = "")]
        description: String,
        /// What the work is for: members choose with it.
        #[arg(long)]
        purpose: String,
        /// Pay per assignment, with the currency's decimals at most: 4.00EUR, 4.000JOD.
        #[arg(long)]
        pay: String,
        /// Estimated minutes of work.
        #[arg(long)]
        minutes: u32,
        /// How many members may do it.
        #[arg(long)]
        assignments: Option<u32>,
        /// Time to expiry: 7d.
        #[arg(long, value_parser = parse_duration)]
        expires: Option<u64>,
        /// Review window: 2d.
        #[arg(long, value_parser = parse_duration)]
        review_window: Option<u64>,
        /// Claim window: 10m.
        #[arg(long, value_parser = parse_duration)]
        claim_window: Option<u64>,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// One offer: its draw's places (who must submit by when, which lapsed), whether
    /// your claim counts, and the requester's record.
    Show {
        /// The offer (id or unique prefix).
        offer: String,
        #[command(flatten)]
        ctx: Ctx,
    },
    /// Withdraw one of your offers.
    Withdraw {
        /// The offer (id or unique prefix).
        offer: String,
        #[command(flatten)]
        ctx: Ctx,
    },
}

/// `taawun results ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ResultsCmd {
    /// Write a submission's result file.
    Get {
        /// The submission (id or unique prefix).
        submission: String,
        /// Where to write (`-`: standard output); default `result-<submission id>`, never
        /// overwritten.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        #[command(flatten)]
        ctx: Ctx,
    },
}

/// `taawun requester ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum RequesterCmd {
    /// A requester's record as members see it.
    Show {
        /// The requester (key or unique prefix); default: this node's key.
        key: Option<String>,
        #[command(flatten)]
        ctx: Ctx,
    },
}
