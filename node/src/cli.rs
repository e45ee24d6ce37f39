//! The command line as a client of the running daemon: one subcommand per thing a member,
//! a requester or anyone does, each a call (or a few) to the local API through
//! [`crate::client`].
//!
//! Every command prints readable, aligned tables by default and the API's JSON with
//! `--json`. A cooperative defaults to the only one the node holds. Ids may be given in
//! full or as a unique prefix of at least [`MIN_PREFIX`] hex digits, resolved against the
//! relevant list: people type them on phones. Amounts are parsed and printed with their
//! currency, never as floats.

use crate::client::Client;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use taawun_api::request::*;
use taawun_api::views::*;
use taawun_core::body::Limit;
use taawun_core::money::format_in;
use taawun_core::Money;

/// Fewest hex digits accepted as an id prefix: 8 digits (32 bits) make an accidental match
/// among a cooperative's offers or submissions unlikely, and are what tables print.
pub(crate) const MIN_PREFIX: usize = 8;

/// Length of a full id or key in hex.
const FULL_HEX: usize = 64;

/// `--json`: print the API's JSON instead of tables.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Out {
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `--coop` and `--json`, for commands about one cooperative.
#[derive(Args, Debug, Clone)]
pub(crate) struct Ctx {
    /// The cooperative (id or unique prefix); default: the only one this node holds.
    #[arg(long)]
    coop: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
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
    key: String,
    #[command(flatten)]
    why: Reason,
}

/// An admission: the key and the name members will see.
#[derive(Args, Debug)]
pub(crate) struct AdmitProposal {
    /// The key, in full.
    key: String,
    /// The display name: not blank, at most 64 characters, no bidirectional controls.
    #[arg(long)]
    name: String,
    #[command(flatten)]
    why: Reason,
}

/// `--reason` and the cooperative.
#[derive(Args, Debug)]
pub(crate) struct Reason {
    /// Why, for the members who vote.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    ctx: Ctx,
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

/// Runs a client command against the daemon of data folder `data_dir`.
pub(crate) fn run(data_dir: Option<PathBuf>, cmd: ClientCmd) -> Result<ExitCode> {
    let dir = crate::datadir::resolve(data_dir)?;
    let client = Client::open(&dir)?;
    let text = crate::runtime()?.block_on(exec(&client, cmd))?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}

/// What a command prints: its JSON, or the readable text.
fn either<T: serde::Serialize + ?Sized>(
    as_json: bool,
    v: &T,
    text: impl FnOnce() -> String,
) -> Result<String> {
    if as_json {
        json(v)
    } else {
        Ok(text())
    }
}

async fn exec(c: &Client, cmd: ClientCmd) -> Result<String> {
    match cmd {
        ClientCmd::Status(o) => {
            let st = c.status().await?;
            either(o.json, &st, || render_status(&st))
        }
        ClientCmd::Peers(o) => {
            let peers = c.peers().await?;
            either(o.json, &peers, || render_peers(&peers))
        }
        ClientCmd::Coop(cmd) => coop(c, cmd).await,
        ClientCmd::Offer(OfferCmd::Post {
            title,
            description,
            purpose,
            pay,
            minutes,
            assignments,
            expires,
            review_window,
            claim_window,
            ctx,
        }) => {
            let coop = coop_id(c, &ctx).await?;
            let req = PostOffer {
                title,
                description,
                purpose,
                pay: amount_text(&parse_amount(&pay)?),
                minutes,
                assignments,
                expires_in_ms: expires,
                review_window_ms: review_window,
                claim_window_ms: claim_window,
            };
            let w = c.post_offer(&coop, &req).await?;
            either(ctx.json, &w, || format!("posted offer {}\n", w.id))
        }
        ClientCmd::Offer(OfferCmd::Show { offer, ctx }) => {
            let coop = coop_id(c, &ctx).await?;
            let offer = offer_id(c, &coop, &offer).await?;
            let me = me_in(c, &coop).await?;
            let o = c.offer(&coop, &offer).await?;
            either(ctx.json, &o, || render_offer(&o, &me, now_ms()))
        }
        ClientCmd::Offer(OfferCmd::Withdraw { offer, ctx }) => {
            let coop = coop_id(c, &ctx).await?;
            let offer = offer_id(c, &coop, &offer).await?;
            let w = c.offer_action(&coop, &offer, "withdraw").await?;
            either(ctx.json, &w, || format!("withdrew offer {offer}\n"))
        }
        ClientCmd::Offers {
            all,
            mine,
            requester,
            limit,
            offset,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let me = me_in(c, &coop).await?;
            let q = OfferQuery {
                state: (!all).then(|| "open".to_owned()),
                requester,
                mine: Some(mine.to_string()),
                offset: Some(offset.to_string()),
                limit: Some(limit.to_string()),
                ..OfferQuery::default()
            };
            let (offers, total) = c.offers(&coop, &q).await?;
            either(ctx.json, &offers, || {
                let mut out = render_offers(&offers, &me, now_ms());
                let shown = offset.saturating_add(offers.len());
                if total > shown {
                    out.push_str(&format!(
                        "{} more; see them with --offset {shown}\n",
                        total - shown
                    ));
                }
                out
            })
        }
        ClientCmd::Claim { offer, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let offer = offer_id(c, &coop, &offer).await?;
            let w = c.offer_action(&coop, &offer, "claim").await?;
            if ctx.json {
                return json(&w);
            }
            let o = c.offer(&coop, &offer).await?;
            let mut s = format!(
                "claimed offer {offer}\nclaims close {}; {} claim(s) so far\n",
                when(o.claim_closes_at, now_ms()),
                o.claims
            );
            if o.my_claim_counts == Some(false) {
                s.push_str(LATE_CLAIM);
                s.push('\n');
            }
            Ok(s)
        }
        ClientCmd::Assign {
            offer,
            winners,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let offer = offer_id(c, &coop, &offer).await?;
            let winners = if winners.is_empty() {
                winners
            } else {
                let view = c.coop(&coop).await?;
                winners
                    .iter()
                    .map(|w| resolve_key("member", w, view.members.iter().map(String::as_str)))
                    .collect::<Result<Vec<_>>>()?
            };
            let lottery = winners.is_empty();
            let w = c.assign(&coop, &offer, &AssignReq { winners }).await?;
            if ctx.json {
                return json(&w);
            }
            let o = c.offer(&coop, &offer).await?;
            let mut s = format!(
                "assigned offer {offer} {}\n",
                if lottery { "by lottery" } else { "by hand" }
            );
            for k in &o.winners {
                let _ = writeln!(s, "  {k}");
            }
            Ok(s)
        }
        ClientCmd::Submit {
            offer,
            file,
            minutes,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let offer = offer_id(c, &coop, &offer).await?;
            let size = std::fs::metadata(&file)
                .with_context(|| format!("reading {}", file.display()))?
                .len();
            let view = c.coop(&coop).await?;
            if let Some(max) = view.limits.get("max_result_bytes") {
                if size > *max {
                    bail!(
                        "{} is {size} bytes; this cooperative takes results of at most {max} bytes",
                        file.display()
                    );
                }
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let w = c.submit(&coop, &offer, minutes, bytes).await?;
            either(ctx.json, &w, || {
                format!(
                    "submitted {} ({size} bytes, {minutes} min) for offer {offer}\nsubmission {}\n",
                    file.display(),
                    w.id
                )
            })
        }
        ClientCmd::Submissions { all, review, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let me = me_in(c, &coop).await?;
            let q = SubmissionQuery {
                involving: (!all).then(|| "me".to_owned()),
                review,
                ..SubmissionQuery::default()
            };
            let subs = c.submissions(&coop, &q).await?;
            either(ctx.json, &subs, || render_submissions(&subs, &me))
        }
        ClientCmd::Results(ResultsCmd::Get {
            submission,
            output,
            ctx,
        }) => {
            let coop = coop_id(c, &ctx).await?;
            let sub = submission_id(c, &coop, &submission).await?;
            let bytes = c.result(&coop, &sub).await?;
            let n = bytes.len();
            let path = match output {
                Some(p) if p.as_os_str() == "-" => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&bytes)
                        .and_then(|()| out.flush())
                        .context("writing to standard output")?;
                    return Ok(String::new());
                }
                Some(p) => {
                    std::fs::write(&p, &bytes)
                        .with_context(|| format!("writing {}", p.display()))?;
                    p
                }
                None => {
                    let p = PathBuf::from(default_result_name(&sub));
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&p)
                        .with_context(|| {
                            format!("creating {} (name another file with -o)", p.display())
                        })?;
                    f.write_all(&bytes)
                        .and_then(|()| f.sync_all())
                        .with_context(|| format!("writing {}", p.display()))?;
                    p
                }
            };
            let v = serde_json::json!({"submission": sub, "file": path, "bytes": n});
            either(ctx.json, &v, || {
                format!("wrote {n} bytes to {}\n", path.display())
            })
        }
        ClientCmd::Accept { submission, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let sub = submission_id(c, &coop, &submission).await?;
            let w = c.accept(&coop, &sub).await?;
            either(ctx.json, &w, || format!("accepted submission {sub}\n"))
        }
        ClientCmd::Reject {
            submission,
            reason,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let sub = submission_id(c, &coop, &submission).await?;
            let w = c.reject(&coop, &sub, &reason).await?;
            either(ctx.json, &w, || format!("rejected submission {sub}\n"))
        }
        ClientCmd::Pay {
            member,
            amount,
            reference,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let amount = parse_amount(&amount)?;
            let view = c.coop(&coop).await?;
            let member = resolve_key("member", &member, view.members.iter().map(String::as_str))?;
            let req = PayReq {
                member: member.clone(),
                amount: amount_text(&amount),
                reference,
            };
            let w = c.pay(&coop, &req).await?;
            either(ctx.json, &w, || {
                format!(
                    "recorded a payment of {amount} to {member}\npayment {}\n",
                    w.id
                )
            })
        }
        ClientCmd::Confirm {
            payment,
            not_received,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let pay = payment_id(c, &coop, &payment).await?;
            let w = c.confirm(&coop, &pay, !not_received).await?;
            either(ctx.json, &w, || {
                if not_received {
                    format!("answered payment {pay}: not received (it stays owed, and shows on the requester's record)\n")
                } else {
                    format!("confirmed payment {pay}\n")
                }
            })
        }
        ClientCmd::Review {
            requester,
            pay,
            fairness,
            promptness,
            communication,
            text,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let view = c.coop(&coop).await?;
            let requester = resolve_key(
                "requester",
                &requester,
                view.requesters.iter().map(String::as_str),
            )?;
            let req = ReviewReq {
                requester: requester.clone(),
                pay,
                fairness,
                promptness,
                communication,
                text,
            };
            let w = c.review(&coop, &req).await?;
            either(ctx.json, &w, || format!("reviewed requester {requester}\n"))
        }
        ClientCmd::Balance { all, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let me = me_in(c, &coop).await?;
            let mut rows = c.balances(&coop).await?;
            if !all {
                rows.retain(|b| b.member == me || b.requester == me);
            }
            either(ctx.json, &rows, || render_balances(&rows, &me))
        }
        ClientCmd::Requester(RequesterCmd::Show { key, ctx }) => {
            let st = c.status().await?;
            let coop = pick_coop(&st.coops, ctx.coop.as_deref())?;
            let key = match key {
                None => me_in(c, &coop).await?,
                Some(k) => {
                    let view = c.coop(&coop).await?;
                    resolve_key("requester", &k, view.requesters.iter().map(String::as_str))?
                }
            };
            let r = c.record(&coop, &key).await?;
            either(ctx.json, &r, || render_record(&r))
        }
        ClientCmd::Device(cmd) => device(c, cmd).await,
        ClientCmd::Appeal {
            submission,
            answer,
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let sub = submission_id(c, &coop, &submission).await?;
            let w = c.appeal(&coop, &sub, &answer).await?;
            either(ctx.json, &w, || {
                format!(
                    "appealed the rejection of submission {sub}: appeal {}\n",
                    w.id
                )
            })
        }
        ClientCmd::Reply { appeal, text, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let all = c.appeals(&coop).await?;
            let a = resolve_prefix("appeal", &appeal, all.iter().map(|a| a.id.as_str()))?;
            let w = c.reply(&coop, &a, &text).await?;
            either(ctx.json, &w, || format!("replied to appeal {a}\n"))
        }
        ClientCmd::Appeals(ctx) => {
            let coop = coop_id(c, &ctx).await?;
            let all = c.appeals(&coop).await?;
            either(ctx.json, &all, || crate::appeals::render(&all))
        }
        ClientCmd::Jury { cmd: None, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let mine = c.jury(&coop).await?;
            either(ctx.json, &mine, || crate::appeals::render(&mine))
        }
        ClientCmd::Jury {
            cmd: Some(JuryCmd::Vote { appeal, verdict }),
            ctx,
        } => {
            let coop = coop_id(c, &ctx).await?;
            let mine = c.jury(&coop).await?;
            let a = resolve_prefix("appeal", &appeal, mine.iter().map(|a| a.id.as_str()))?;
            let w = c.vote_appeal(&coop, &a, verdict.uphold()).await?;
            either(ctx.json, &w, || format!("voted to {verdict} appeal {a}\n"))
        }
    }
}

async fn coop(c: &Client, cmd: CoopCmd) -> Result<String> {
    match cmd {
        CoopCmd::Create {
            name,
            floor,
            quorum,
            members,
            requesters,
            named,
            limits,
            json: as_json,
        } => {
            let names = named
                .iter()
                .map(|kv| {
                    let (k, n) = kv
                        .split_once('=')
                        .ok_or_else(|| anyhow!("--named takes KEY=NAME, not `{kv}`"))?;
                    Ok((k.trim().to_lowercase(), n.to_owned()))
                })
                .collect::<Result<BTreeMap<_, _>>>()?;
            let floor = parse_floor(&floor)?;
            for k in members.iter().chain(&requesters) {
                parse_key("key", k).map_err(|e| anyhow!(e))?;
            }
            let limits = limits
                .iter()
                .map(|l| parse_limit(l).map_err(|e| anyhow!(e)))
                .collect::<Result<BTreeMap<_, _>>>()?;
            let req = CreateCoop {
                name,
                floor: amount_text(&floor),
                quorum_pct: Some(quorum),
                members: members.iter().map(|k| k.trim().to_lowercase()).collect(),
                requesters: requesters.iter().map(|k| k.trim().to_lowercase()).collect(),
                names,
                limits,
            };
            let view = c.create_coop(&req).await?;
            let me = me_in(c, &view.id).await?;
            either(as_json, &view, || {
                format!(
                    "founded cooperative {} ({})\n\n{}",
                    view.name,
                    view.id,
                    render_coop(&view, &me)
                )
            })
        }
        CoopCmd::Invite(ctx) => {
            let coop = coop_id(c, &ctx).await?;
            let inv = c.invite(&coop).await?;
            either(ctx.json, &inv, || format!("{}\n", inv.invite))
        }
        CoopCmd::Join {
            invite,
            json: as_json,
        } => {
            let s = c.join(invite.trim()).await?;
            either(as_json, &s, || {
                format!(
                    "following cooperative {} ({}) as {}\n",
                    s.name, s.id, s.role
                )
            })
        }
        CoopCmd::Show(ctx) => {
            let coop = coop_id(c, &ctx).await?;
            let view = c.coop(&coop).await?;
            let me = me_in(c, &coop).await?;
            either(ctx.json, &view, || render_coop(&view, &me))
        }
        CoopCmd::Propose { action } => propose(c, action).await,
        CoopCmd::Vote { proposal, no, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let view = c.coop(&coop).await?;
            let proposal = resolve_prefix(
                "proposal",
                &proposal,
                view.proposals.iter().map(|p| p.id.as_str()),
            )?;
            let w = c
                .vote(
                    &coop,
                    &VoteReq {
                        proposal: proposal.clone(),
                        yes: !no,
                    },
                )
                .await?;
            if ctx.json {
                return json(&w);
            }
            let mut s = format!(
                "voted {} on proposal {proposal}\n",
                if no { "no" } else { "yes" }
            );
            let after = c.coop(&coop).await?;
            if let Some(p) = after.proposals.iter().find(|p| p.id == proposal) {
                let _ = writeln!(
                    s,
                    "{}: {} yes, {} no ({} vote(s) needed); {}",
                    p.action,
                    p.yes.len(),
                    p.no.len(),
                    p.needed,
                    if p.enacted {
                        "enacted"
                    } else if p.passes {
                        "passes"
                    } else {
                        "does not pass yet"
                    }
                );
            }
            Ok(s)
        }
    }
}

/// `taawun device ...`.
async fn device(c: &Client, cmd: DeviceCmd) -> Result<String> {
    match cmd {
        DeviceCmd::Add { key, label, ctx } => {
            if parse_key("key", &key).is_err() {
                bail!("`{key}` is not a full public key: give all {FULL_HEX} hex digits of the device key");
            }
            let coop = coop_id(c, &ctx).await?;
            let req = AddDevice {
                key: key.trim().to_lowercase(),
                label,
            };
            let w = c.add_device(&coop, &req).await?;
            either(ctx.json, &w, || {
                format!(
                    "authorised device {}: start its node; it enrolls once it holds this\n",
                    req.key
                )
            })
        }
        DeviceCmd::List(ctx) => {
            let coop = coop_id(c, &ctx).await?;
            let list = c.devices(&coop).await?;
            either(ctx.json, &list, || {
                if list.is_empty() {
                    return "no devices\n".into();
                }
                list.iter()
                    .map(|d| {
                        let state = match (d.revoked_at, d.enrolled) {
                            (Some(t), _) => format!("revoked at {t}"),
                            (None, true) => "enrolled".into(),
                            (None, false) => "authorised, not enrolled yet".into(),
                        };
                        format!("{}  {}  {state}\n", d.key, d.label)
                    })
                    .collect()
            })
        }
        DeviceCmd::Revoke { key, ctx } => {
            let coop = coop_id(c, &ctx).await?;
            let list = c.devices(&coop).await?;
            let key = resolve_key("device", &key, list.iter().map(|d| d.key.as_str()))?;
            let w = c.revoke_device(&coop, &key).await?;
            either(ctx.json, &w, || format!("revoked device {key}\n"))
        }
    }
}

async fn propose(c: &Client, cmd: ProposeCmd) -> Result<String> {
    let blank = |action: &str, why: &Reason| Propose {
        action: action.to_owned(),
        key: None,
        new_key: None,
        name: None,
        floor: None,
        quorum_pct: None,
        limit: None,
        value: None,
        reason: why.reason.clone(),
    };
    let (req, ctx) = match cmd {
        ProposeCmd::AdmitMember(p) | ProposeCmd::AdmitRequester(p)
            if parse_key("key", &p.key).is_err() =>
        {
            bail!(
                "`{}` is not a full public key: give all {FULL_HEX} hex digits of the key to admit",
                p.key
            )
        }
        ProposeCmd::AdmitMember(p) => (
            Propose {
                key: Some(p.key.trim().to_lowercase()),
                name: Some(p.name),
                ..blank("admit-member", &p.why)
            },
            p.why.ctx,
        ),
        ProposeCmd::AdmitRequester(p) => (
            Propose {
                key: Some(p.key.trim().to_lowercase()),
                name: Some(p.name),
                ..blank("admit-requester", &p.why)
            },
            p.why.ctx,
        ),
        ProposeCmd::RemoveMember(p) => {
            let coop = coop_id(c, &p.why.ctx).await?;
            let view = c.coop(&coop).await?;
            let key = resolve_key("member", &p.key, view.members.iter().map(String::as_str))?;
            (
                Propose {
                    key: Some(key),
                    ..blank("remove-member", &p.why)
                },
                p.why.ctx,
            )
        }
        ProposeCmd::RemoveRequester(p) => {
            let coop = coop_id(c, &p.why.ctx).await?;
            let view = c.coop(&coop).await?;
            let key = resolve_key(
                "requester",
                &p.key,
                view.requesters.iter().map(String::as_str),
            )?;
            (
                Propose {
                    key: Some(key),
                    ..blank("remove-requester", &p.why)
                },
                p.why.ctx,
            )
        }
        ProposeCmd::SetFloor { floor, why } => {
            let floor = parse_floor(&floor)?;
            (
                Propose {
                    floor: Some(amount_text(&floor)),
                    ..blank("set-floor", &why)
                },
                why.ctx,
            )
        }
        ProposeCmd::SetQuorum { percent, why } => (
            Propose {
                quorum_pct: Some(percent),
                ..blank("set-quorum", &why)
            },
            why.ctx,
        ),
        ProposeCmd::RevokeDevice(p) => {
            if parse_key("key", &p.key).is_err() {
                bail!("`{}` is not a full public key: give all {FULL_HEX} hex digits of the device key", p.key);
            }
            (
                Propose {
                    key: Some(p.key.trim().to_lowercase()),
                    ..blank("revoke-device", &p.why)
                },
                p.why.ctx,
            )
        }
        ProposeCmd::ReplaceKey { old, new, why } => {
            if parse_key("new key", &new).is_err() {
                bail!("`{new}` is not a full public key: give all {FULL_HEX} hex digits of the new key");
            }
            let coop = coop_id(c, &why.ctx).await?;
            let view = c.coop(&coop).await?;
            let old = resolve_key(
                "member or requester",
                &old,
                view.members
                    .iter()
                    .chain(&view.requesters)
                    .map(String::as_str),
            )?;
            (
                Propose {
                    key: Some(old),
                    new_key: Some(new.trim().to_lowercase()),
                    ..blank("replace-key", &why)
                },
                why.ctx,
            )
        }
        ProposeCmd::SetLimit { limit, why } => {
            let (name, value) = parse_limit(&limit).map_err(|e| anyhow!(e))?;
            (
                Propose {
                    limit: Some(name),
                    value: Some(value),
                    ..blank("set-limit", &why)
                },
                why.ctx,
            )
        }
    };
    let coop = coop_id(c, &ctx).await?;
    let w = c.propose(&coop, &req).await?;
    either(ctx.json, &w, || {
        format!(
            "proposed {}: proposal {}\nvote with `taawun coop vote {}`\n",
            req.action,
            w.id,
            &w.id[..MIN_PREFIX.min(w.id.len())]
        )
    })
}

// Resolving what people type.

/// The cooperative a command is about: `--coop` (id or prefix), else the only one held.
async fn coop_id(c: &Client, ctx: &Ctx) -> Result<String> {
    if let Some(id) = ctx.coop.as_deref().filter(|s| is_full_hex(s)) {
        return Ok(id.trim().to_lowercase());
    }
    let st = c.status().await?;
    pick_coop(&st.coops, ctx.coop.as_deref())
}

/// The key this node speaks for in `coop`: its member's when it signs with a device key.
/// "Me" in listings and tables is that key, not the device's.
async fn me_in(c: &Client, coop: &str) -> Result<String> {
    let st = c.status().await?;
    Ok(st
        .coops
        .into_iter()
        .find(|s| s.id == coop && !s.identity.is_empty())
        .map_or(st.key, |s| s.identity))
}

/// Picks the cooperative named by `flag` (id or unique prefix) among `coops`, or the only one.
pub(crate) fn pick_coop(coops: &[CoopSummary], flag: Option<&str>) -> Result<String> {
    if let Some(f) = flag {
        return resolve_prefix("cooperative", f, coops.iter().map(|c| c.id.as_str()));
    }
    match coops {
        [one] => Ok(one.id.clone()),
        [] => bail!(
            "this node holds no cooperative yet: found one with `taawun coop create` or join one with `taawun coop join INVITE`"
        ),
        many => {
            let mut s = format!(
                "this node holds {} cooperatives; name one with --coop ID:",
                many.len()
            );
            for c in many {
                let _ = write!(s, "\n  {}  {} ({})", c.id, c.name, c.role);
            }
            Err(anyhow!(s))
        }
    }
}

async fn offer_id(c: &Client, coop: &str, input: &str) -> Result<String> {
    if is_full_hex(input) {
        return Ok(input.trim().to_lowercase());
    }
    let Some(p) = lookable(input) else {
        return resolve_prefix("offer", input, std::iter::empty());
    };
    let q = OfferQuery {
        id_prefix: Some(p),
        limit: Some(PREFIX_MATCHES.into()),
        ..OfferQuery::default()
    };
    let (found, _) = c.offers(coop, &q).await?;
    resolve_prefix("offer", input, found.iter().map(|o| o.id.as_str()))
}

async fn submission_id(c: &Client, coop: &str, input: &str) -> Result<String> {
    if is_full_hex(input) {
        return Ok(input.trim().to_lowercase());
    }
    let Some(p) = lookable(input) else {
        return resolve_prefix("submission", input, std::iter::empty());
    };
    let q = SubmissionQuery {
        id_prefix: Some(p),
        limit: Some(PREFIX_MATCHES.into()),
        ..SubmissionQuery::default()
    };
    let found = c.submissions(coop, &q).await?;
    resolve_prefix("submission", input, found.iter().map(|s| s.id.as_str()))
}

async fn payment_id(c: &Client, coop: &str, input: &str) -> Result<String> {
    if is_full_hex(input) {
        return Ok(input.trim().to_lowercase());
    }
    let Some(p) = lookable(input) else {
        return resolve_prefix("payment", input, std::iter::empty());
    };
    let q = PaymentQuery {
        id_prefix: Some(p),
        limit: Some(PREFIX_MATCHES.into()),
        ..PaymentQuery::default()
    };
    let found = c.payments(coop, &q).await?;
    resolve_prefix("payment", input, found.iter().map(|p| p.id.as_str()))
}

/// Matches asked of the node when resolving a prefix: two tell a unique prefix from an
/// ambiguous one.
const PREFIX_MATCHES: &str = "2";

/// `input` as a prefix worth asking the node about; `None` when [`resolve_prefix`]'s own
/// checks refuse it (and say why).
fn lookable(input: &str) -> Option<String> {
    let p = input.trim();
    (p.len() >= MIN_PREFIX && p.len() <= FULL_HEX && p.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| p.to_owned())
}

fn is_full_hex(s: &str) -> bool {
    let s = s.trim();
    s.len() == FULL_HEX && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves `input`, a full id or a unique prefix of at least [`MIN_PREFIX`] hex digits,
/// against `candidates` (the ids of the `what`s the node knows).
pub(crate) fn resolve_prefix<'a>(
    what: &str,
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<String> {
    let p = input.trim().to_lowercase();
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{input}` is not hex: {what} ids are hex digits (0-9, a-f)");
    }
    if p.len() > FULL_HEX {
        bail!("`{input}` is longer than a {what} id ({FULL_HEX} hex digits)");
    }
    if p.len() == FULL_HEX {
        return Ok(p);
    }
    if p.len() < MIN_PREFIX {
        bail!("`{input}` is too short: give at least {MIN_PREFIX} hex digits of the {what} id");
    }
    let mut found: Vec<&str> = candidates
        .into_iter()
        .filter(|c| c.starts_with(&p))
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("no {what} on this node starts with {p}"),
        many => {
            let mut s = format!("{p} matches {} {what}s; give more digits:", many.len());
            for m in many {
                let _ = write!(s, "\n  {m}");
            }
            Err(anyhow!(s))
        }
    }
}

/// A key: in full, or a unique prefix among the `what`s of the cooperative.
fn resolve_key<'a>(
    what: &str,
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<String> {
    resolve_prefix(what, input, candidates)
        .map_err(|e| anyhow!("{}", e.to_string().replace(" id", " key")))
}

// Parsing what people type.

/// Parses a duration such as `30s`, `10m`, `2h`, `7d`, `500ms` or `1h30m` into milliseconds.
pub(crate) fn parse_duration(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let bad = || {
        format!("`{s}` is not a duration: write a number and a unit (ms, s, m, h, d), such as 30s, 10m, 2h, 7d or 1h30m")
    };
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}` is too long a duration"))?;
    }
    Ok(total)
}

/// Formats milliseconds for people: `7d`, `1h30m`, `45s`, `250ms`.
pub(crate) fn fmt_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let mut s = String::new();
    let mut left = ms / 1_000;
    for (unit, secs) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= secs {
            let _ = write!(s, "{}{unit}", left / secs);
            left %= secs;
        }
    }
    s
}

/// Parses `name=value` for a cooperative's limit. Limits in ms take durations (`3d`) or
/// plain milliseconds; the others plain numbers.
pub(crate) fn parse_limit(s: &str) -> std::result::Result<(String, u64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE, such as max_review_window_ms=3d"))?;
    let name = name.trim();
    if serde_json::from_value::<Limit>(serde_json::Value::String(name.to_owned())).is_err() {
        return Err(format!(
            "`{name}` is not a limit; the limits are {}",
            LIMIT_NAMES.join(", ")
        ));
    }
    let value = value.trim();
    let v = match value.parse::<u64>() {
        Ok(v) => v,
        Err(_) if name.ends_with("_ms") => parse_duration(value)?,
        Err(_) => return Err(format!("`{value}` is not a whole number for {name}")),
    };
    Ok((name.to_owned(), v))
}

/// The names of the limits, for messages.
const LIMIT_NAMES: [&str; 7] = [
    "max_review_window_ms",
    "max_claim_window_ms",
    "max_offer_life_ms",
    "max_result_bytes",
    "max_entry_bytes",
    "topup_cap_pct",
    "amendment_delay_ms",
];

/// Parses an amount with the currency's decimals at most: `4.00EUR`, `4.000JOD`, `400XOF`.
pub(crate) fn parse_amount(s: &str) -> Result<Money> {
    Money::parse(s).map_err(|e| anyhow!("{e}"))
}

/// Parses an hourly floor: `12.50EUR/h`, `12.500JOD/h` or `12.50EUR`.
pub(crate) fn parse_floor(s: &str) -> Result<Money> {
    let t = s.trim();
    parse_amount(t.strip_suffix("/h").unwrap_or(t))
}

/// An amount as the API takes it, with the currency's decimals: `4.00EUR`, `4.000JOD`,
/// `400XOF`.
fn amount_text(m: &Money) -> String {
    format!("{}{}", format_in(m.minor, &m.currency), m.currency)
}

/// The default file name of a submission's result.
pub(crate) fn default_result_name(submission: &str) -> String {
    format!("result-{submission}")
}

// Printing for people.

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A time as people read it, in UTC: `7 Dec 2026, 16:32 UTC`.
fn at_utc(at: u64) -> String {
    crate::web::i18n::Lang::En.datetime(at)
}

/// `in 8m` or `5m ago`.
fn when(at: u64, now: u64) -> String {
    if at >= now {
        format!("in {}", fmt_duration(at - now))
    } else {
        format!("{} ago", fmt_duration(now - at))
    }
}

/// The first digits of an id or key, as tables print them.
fn short(id: &str) -> &str {
    id.get(..MIN_PREFIX).unwrap_or(id)
}

/// A person: the name the cooperative admitted them under, if any, then the key's first
/// digits, marked when it is this node's: `Amal Haddad · 3f9a0b12 (you)`.
fn named(key: &str, name: Option<&str>, me: &str) -> String {
    let mut s = match name {
        Some(n) => format!("{n} · {}", short(key)),
        None => short(key).to_owned(),
    };
    if key == me {
        s.push_str(" (you)");
    }
    s
}

/// A text table: columns aligned, numbers right-aligned, no trailing spaces.
#[derive(Debug, Default)]
pub(crate) struct Table {
    head: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers (empty strings for none).
    pub(crate) fn new(head: &[&'static str]) -> Self {
        Self {
            head: head.to_vec(),
            right: vec![false; head.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns these columns.
    pub(crate) fn right(mut self, cols: &[usize]) -> Self {
        for &c in cols {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    /// Adds a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, under a header line unless all headers are empty.
    pub(crate) fn render(&self) -> String {
        let cols = self.head.len();
        let mut width = vec![0usize; cols];
        let with_head = self.head.iter().any(|h| !h.is_empty());
        let head: Vec<String> = self.head.iter().map(|h| (*h).to_owned()).collect();
        let lines: Vec<&Vec<String>> = if with_head {
            std::iter::once(&head).chain(&self.rows).collect()
        } else {
            self.rows.iter().collect()
        };
        for l in &lines {
            for (i, cell) in l.iter().enumerate().take(cols) {
                width[i] = width[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for l in lines {
            let mut line = String::new();
            for (i, cell) in l.iter().enumerate().take(cols) {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = width[i].saturating_sub(cell.chars().count());
                if self.right[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Label-value lines, the labels aligned.
fn fields(pairs: &[(&'static str, String)]) -> String {
    let mut t = Table::new(&["", ""]);
    for (k, v) in pairs {
        let mut lines = v.lines();
        t.row(vec![(*k).to_owned(), lines.next().unwrap_or("").to_owned()]);
        for more in lines {
            t.row(vec![String::new(), more.to_owned()]);
        }
    }
    t.render()
}

fn amounts(list: &[Amount]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|a| a.text.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

fn limit_value(name: &str, v: u64) -> String {
    if name.ends_with("_ms") {
        fmt_duration(v)
    } else if name.ends_with("_pct") {
        format!("{v}%")
    } else if name.ends_with("_bytes") {
        format!("{v} bytes")
    } else {
        v.to_string()
    }
}

/// `status`.
pub(crate) fn render_status(st: &Status) -> String {
    let mut s = fields(&[
        ("key", st.key.clone()),
        ("peer id", st.peer_id.clone()),
        (
            "listening on",
            if st.listen.is_empty() {
                "-".into()
            } else {
                st.listen.join("\n")
            },
        ),
        ("peers", st.peers.to_string()),
    ]);
    s.push('\n');
    if st.coops.is_empty() {
        s.push_str("no cooperative yet: `taawun coop create` or `taawun coop join INVITE`\n");
        return s;
    }
    let mut t =
        Table::new(&["COOPERATIVE", "NAME", "ROLE", "ENTRIES", "CHAINS", "WRITES"]).right(&[3, 4]);
    for c in &st.coops {
        t.row(vec![
            short(&c.id).to_owned(),
            c.name.clone(),
            c.role.clone(),
            c.entries.to_string(),
            c.chains.to_string(),
            if c.writing.waiting {
                "waiting".into()
            } else {
                "yes".into()
            },
        ]);
    }
    s.push_str(&t.render());
    // Why a cooperative's writes wait, in full: the user must know the node is not stuck.
    for c in st.coops.iter().filter(|c| c.writing.waiting) {
        s.push_str(&format!(
            "{}: {}; this node writes there once one of them has synced with it\n",
            short(&c.id),
            c.writing.message
        ));
    }
    s
}

/// `peers`.
pub(crate) fn render_peers(peers: &[Peer]) -> String {
    if peers.is_empty() {
        return "no peer connected\n".into();
    }
    let mut t = Table::new(&["PEER", "SCORE"]).right(&[1]);
    for p in peers {
        t.row(vec![
            p.peer_id.clone(),
            p.score.map_or("-".into(), |s| format!("{s:.2}")),
        ]);
    }
    t.render()
}

/// `coop show`.
pub(crate) fn render_coop(v: &CoopView, me: &str) -> String {
    let floors = v
        .floors
        .iter()
        .map(|f| format!("{}/h", f.text))
        .collect::<Vec<_>>()
        .join(", ");
    let keys = |list: &[String]| {
        if list.is_empty() {
            return "-".to_owned();
        }
        list.iter()
            .map(|k| {
                let mut s = k.clone();
                if k == me {
                    s.push_str(" (you)");
                }
                if let Some(n) = v.names.get(k) {
                    let _ = write!(s, "  {n}");
                }
                s
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let limits = v
        .limits
        .iter()
        .map(|(k, val)| format!("{k} = {}", limit_value(k, *val)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut pairs = vec![
        ("cooperative", format!("{} ({})", v.name, v.id)),
        (
            "floor",
            if floors.is_empty() {
                "-".into()
            } else {
                floors
            },
        ),
        (
            "quorum",
            format!(
                "{}%: {} vote(s) cast (yes or no) of {} member(s)",
                v.quorum_pct,
                v.quorum_needed,
                v.members.len()
            ),
        ),
        ("members", keys(&v.members)),
        ("requesters", keys(&v.requesters)),
        (
            "limits",
            if limits.is_empty() {
                "-".into()
            } else {
                limits
            },
        ),
        ("entries", v.entries.to_string()),
    ];
    if !v.frozen.is_empty() {
        pairs.push(("frozen", keys(&v.frozen)));
    }
    let mut s = fields(&pairs);
    let open: Vec<&ProposalView> = v.proposals.iter().filter(|p| !p.enacted).collect();
    s.push('\n');
    if open.is_empty() {
        s.push_str("no open proposal");
    } else {
        s.push_str("open proposals:\n");
        let mut t = Table::new(&[
            "PROPOSAL", "YES", "NO", "NEEDED", "PASSES", "EXPIRES", "ACTION", "REASON",
        ])
        .right(&[1, 2, 3]);
        let now = now_ms();
        for p in open {
            t.row(vec![
                short(&p.id).to_owned(),
                p.yes.len().to_string(),
                p.no.len().to_string(),
                format!("{}{}", p.needed, if p.weighty { ", 2/3" } else { "" }),
                if p.passes { "yes" } else { "no" }.into(),
                if p.expires_at < now {
                    "expired".into()
                } else {
                    when(p.expires_at, now)
                },
                p.action.clone(),
                p.reason.clone(),
            ]);
        }
        s.push_str(&t.render());
    }
    let enacted = v.proposals.iter().filter(|p| p.enacted).count();
    if enacted > 0 {
        let _ = write!(s, "{enacted} enacted proposal(s) (--json lists them)");
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// A requester's record in a few words.
fn record_summary(r: &RecordView) -> String {
    let mut s = format!(
        "{}: {} accepted, {} rejected",
        named(&r.requester, r.requester_name.as_deref(), ""),
        r.accepted + r.accepted_by_default,
        r.rejected
    );
    if !r.unpaid.is_empty() && r.unpaid.iter().any(|a| a.minor > 0) {
        let _ = write!(s, ", {} unpaid", amounts(&r.unpaid));
    }
    if r.unconfirmed.iter().any(|a| a.minor > 0) {
        let _ = write!(
            s,
            ", {} claimed paid, not confirmed",
            amounts(&r.unconfirmed)
        );
    }
    if r.not_received > 0 {
        let _ = write!(s, ", {} not received", r.not_received);
    }
    if r.appeals > 0 {
        let _ = write!(
            s,
            ", {} appeal(s) of its rejections, {} upheld",
            r.appeals, r.appeals_upheld
        );
    }
    if r.void_assignments > 0 {
        let _ = write!(
            s,
            ", {} void assignment(s) that left out claims",
            r.void_assignments
        );
    }
    if let Some(sc) = r.scores {
        let _ = write!(s, ", pay {}/5", score(sc[0]));
    }
    s
}

fn score(x100: u32) -> String {
    format!("{}.{:02}", x100 / 100, x100 % 100)
}

/// The hourly rate as a share of the floor: `128%`.
fn vs_floor(hourly: &Amount, floor: Option<&Amount>) -> String {
    match floor {
        Some(f) if f.currency == hourly.currency && f.minor > 0 => {
            let pct = u128::from(hourly.minor) * 100 / u128::from(f.minor);
            format!("{pct}% of {}", f.text)
        }
        _ => "-".into(),
    }
}

/// What a member whose claim was made after the claim window reads.
const LATE_CLAIM: &str = "your claim came after the window and does not count";

/// The place of the draw `me` holds in `o`, if any.
fn my_place<'a>(o: &'a OfferView, me: &str) -> Option<&'a PlaceView> {
    o.places.iter().find(|p| p.member == me)
}

/// Where one place of a draw stands, in words.
fn place_text(p: &PlaceView, now: u64) -> String {
    match p.state.as_str() {
        "open" => format!("submit by {} ({})", at_utc(p.until), when(p.until, now)),
        "filled" => format!(
            "filled by submission {}",
            p.submission.as_deref().map_or("-", short)
        ),
        _ => format!(
            "lapsed: no work by {}; place passed to the next claimant",
            at_utc(p.until)
        ),
    }
}

/// What `me` must know of `o` beyond the table's row: by when to submit, a place that
/// lapsed, a claim that does not count.
fn offer_note(o: &OfferView, me: &str, now: u64) -> Option<String> {
    if let Some(until) = o.submit_by {
        return Some(format!(
            "submit by {} ({})",
            at_utc(until),
            when(until, now)
        ));
    }
    if let Some(p) = my_place(o, me).filter(|p| p.state == "lapsed") {
        return Some(format!(
            "your place lapsed (no work by {}): place passed to the next claimant",
            at_utc(p.until)
        ));
    }
    (o.my_claim_counts == Some(false)).then(|| LATE_CLAIM.to_owned())
}

/// `offers`: a row per offer, then a line for each that asks something of `me`.
pub(crate) fn render_offers(offers: &[OfferView], me: &str, now: u64) -> String {
    if offers.is_empty() {
        return "no open offer\n".into();
    }
    let mut t = Table::new(&[
        "OFFER",
        "PAY",
        "MIN",
        "PER HOUR",
        "VS FLOOR",
        "STATE",
        "CLOSES",
        "YOU",
        "REQUESTER",
        "TITLE / PURPOSE",
    ])
    .right(&[1, 2, 3]);
    let mut notes = String::new();
    for o in offers {
        let lapsed = my_place(o, me).is_some_and(|p| p.state == "lapsed");
        let you = if o.assigned_to_me {
            "won"
        } else if lapsed {
            "lapsed"
        } else if o.my_claim_counts == Some(false) {
            "late claim"
        } else if o.claimed_by_me {
            "claimed"
        } else {
            ""
        };
        if let Some(n) = offer_note(o, me, now) {
            let _ = writeln!(notes, "{}: {n}", short(&o.id));
        }
        let closes = if o.state == "open" {
            when(o.claim_closes_at, now)
        } else {
            "-".into()
        };
        t.row(vec![
            short(&o.id).to_owned(),
            o.pay.text.clone(),
            o.minutes.to_string(),
            o.hourly.text.clone(),
            vs_floor(&o.hourly, o.floor.as_ref()),
            o.state.clone(),
            closes,
            you.into(),
            record_summary(&o.record),
            format!("{}: {}", o.title, o.purpose),
        ]);
    }
    t.render() + &notes
}

/// `offer show`.
pub(crate) fn render_offer(o: &OfferView, me: &str, now: u64) -> String {
    let mut f = vec![
        ("offer", o.id.clone()),
        ("title", o.title.clone()),
        ("purpose", o.purpose.clone()),
    ];
    if !o.description.is_empty() {
        f.push(("description", o.description.clone()));
    }
    f.extend([
        (
            "pay",
            format!(
                "{} for {} min: {}/h, {}",
                o.pay.text,
                o.minutes,
                o.hourly.text,
                vs_floor(&o.hourly, o.floor.as_ref())
            ),
        ),
        ("state", o.state.clone()),
        (
            "claims",
            format!(
                "{} that count; the window closes {} ({})",
                o.claims,
                at_utc(o.claim_closes_at),
                when(o.claim_closes_at, now)
            ),
        ),
        ("places", o.assignments.to_string()),
        (
            "expires",
            format!("{} ({})", at_utc(o.expires_at), when(o.expires_at, now)),
        ),
    ]);
    match o.my_claim_counts {
        Some(true) => f.push(("your claim", "counts".into())),
        Some(false) => f.push(("your claim", LATE_CLAIM.into())),
        None => {}
    }
    if let Some(until) = o.submit_by {
        f.push((
            "your work",
            format!("submit by {} ({})", at_utc(until), when(until, now)),
        ));
    }
    if !o.places.is_empty() {
        let lines: Vec<String> = o
            .places
            .iter()
            .map(|p| {
                format!(
                    "{}  {}",
                    named(&p.member, p.member_name.as_deref(), me),
                    place_text(p, now)
                )
            })
            .collect();
        f.push(("draw", lines.join("\n")));
    }
    if o.void_assignments > 0 {
        f.push((
            "void assignments",
            format!(
                "{}: they left out claims made in the window (or came before it closed)",
                o.void_assignments
            ),
        ));
    }
    f.push(("requester", record_summary(&o.record)));
    fields(&f)
}

/// `submissions`.
pub(crate) fn render_submissions(subs: &[SubmissionView], me: &str) -> String {
    if subs.is_empty() {
        return "no submission\n".into();
    }
    let mut t = Table::new(&[
        "SUBMISSION",
        "OFFER",
        "MEMBER",
        "REQUESTER",
        "MIN",
        "PAY",
        "TOP-UP",
        "REVIEW",
        "RESULT",
    ])
    .right(&[4, 5, 6]);
    for s in subs {
        let review = match (&s.reason, s.review.as_str()) {
            (Some(r), _) => format!("{}: {r}", s.review),
            // Sealed to the member and the requester.
            (None, "rejected") => format!("{}: (reason sealed)", s.review),
            (None, _) => s.review.clone(),
        };
        t.row(vec![
            short(&s.id).to_owned(),
            s.title.clone(),
            named(&s.member, s.member_name.as_deref(), me),
            named(&s.requester, s.requester_name.as_deref(), me),
            s.minutes.to_string(),
            s.pay.text.clone(),
            s.topup.text.clone(),
            review,
            if s.result_here { "here" } else { "-" }.into(),
        ]);
    }
    t.render()
}

/// `balance`.
pub(crate) fn render_balances(rows: &[BalanceView], me: &str) -> String {
    if rows.is_empty() {
        return "nothing earned or owed yet\n".into();
    }
    let mut t = Table::new(&[
        "REQUESTER",
        "MEMBER",
        "EARNED",
        "TOP-UP",
        "PAID",
        "CONFIRMED",
        "NOT RECEIVED",
        "OWED",
        "CLAIMED PAID, NOT CONFIRMED",
    ])
    .right(&[2, 3, 4, 5, 6, 7, 8]);
    for b in rows {
        t.row(vec![
            named(&b.requester, b.requester_name.as_deref(), me),
            named(&b.member, b.member_name.as_deref(), me),
            b.earned.text.clone(),
            b.topup.text.clone(),
            b.paid.text.clone(),
            b.confirmed.text.clone(),
            b.denied.text.clone(),
            b.owed.text.clone(),
            b.unconfirmed.text.clone(),
        ]);
    }
    t.render()
}

/// `requester show`.
pub(crate) fn render_record(r: &RecordView) -> String {
    let ms = |v: Option<u64>| v.map_or("-".into(), fmt_duration);
    fields(&[
        (
            "requester",
            match &r.requester_name {
                Some(n) => format!("{n} · {}", r.requester),
                None => r.requester.clone(),
            },
        ),
        ("offers", r.offers.to_string()),
        (
            "submissions",
            format!(
                "{}: {} accepted, {} accepted by default, {} rejected, {} pending",
                r.submissions, r.accepted, r.accepted_by_default, r.rejected, r.pending
            ),
        ),
        ("median review", ms(r.median_review_ms)),
        ("median payment", ms(r.median_pay_ms)),
        ("hourly rate paid", amounts(&r.hourly_rate)),
        ("top-ups owed", amounts(&r.topups)),
        ("unpaid", amounts(&r.unpaid)),
        ("claimed paid, not confirmed", amounts(&r.unconfirmed)),
        ("payments not received", r.not_received.to_string()),
        (
            "appeals",
            format!(
                "{}: {} upheld, {} dismissed",
                r.appeals, r.appeals_upheld, r.appeals_dismissed
            ),
        ),
        (
            "void assignments",
            if r.void_assignments > 0 {
                format!("{}: assignments that left out claims", r.void_assignments)
            } else {
                "0".into()
            },
        ),
        (
            "reviews",
            match r.scores {
                Some([p, f, pr, c]) => format!(
                    "{}: pay {}, fairness {}, promptness {}, communication {}",
                    r.reviews,
                    score(p),
                    score(f),
                    score(pr),
                    score(c)
                ),
                None => r.reviews.to_string(),
            },
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaa11111111111111111111111111111111111111111111111111111111";
    const B: &str = "aaaaaaaa22222222222222222222222222222222222222222222222222222222";
    const C: &str = "bbbbbbbb33333333333333333333333333333333333333333333333333333333";

    #[test]
    fn durations_parse_to_milliseconds() {
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("10m"), Ok(600_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("7d"), Ok(604_800_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration(" 45s "), Ok(45_000));
        for bad in ["", "10", "m", "10x", "1.5h", "-3s", "10 m", "h1"] {
            let e = parse_duration(bad).expect_err(bad);
            assert!(e.contains("not a duration"), "{bad}: {e}");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("999999999999999d").is_err());
    }

    #[test]
    fn durations_print_in_the_largest_units() {
        assert_eq!(fmt_duration(0), "0s");
        assert_eq!(fmt_duration(250), "250ms");
        assert_eq!(fmt_duration(604_800_000), "7d");
        assert_eq!(fmt_duration(5_400_000), "1h30m");
        assert_eq!(fmt_duration(90_061_000), "1d1h1m1s");
        for s in ["7d", "2h", "10m", "30s", "1h30m"] {
            assert_eq!(fmt_duration(parse_duration(s).expect("parses")), s);
        }
    }

    #[test]
    fn prefixes_resolve_to_the_one_id_they_start() {
        let ids = [A, B, C];
        assert_eq!(resolve_prefix("offer", "bbbbbbbb", ids).expect("unique"), C);
        assert_eq!(
            resolve_prefix("offer", "AAAAAAAA1", ids).expect("unique"),
            A
        );
        // A full id passes as it is, known or not: the server says whether it exists.
        let full = "cc".repeat(32);
        assert_eq!(resolve_prefix("offer", &full, ids).expect("full"), full);

        let e = resolve_prefix("offer", "aaaaaaaa", ids).expect_err("ambiguous");
        let msg = e.to_string();
        assert!(msg.contains("matches 2 offers"), "{msg}");
        assert!(msg.contains(A) && msg.contains(B), "{msg}");

        let msg = resolve_prefix("offer", "aaaa", ids)
            .expect_err("short")
            .to_string();
        assert!(msg.contains("at least 8 hex digits"), "{msg}");
        let msg = resolve_prefix("offer", "cccccccc", ids)
            .expect_err("none")
            .to_string();
        assert!(
            msg.contains("no offer on this node starts with cccccccc"),
            "{msg}"
        );
        let msg = resolve_prefix("offer", "xyzxyzxyz", ids)
            .expect_err("hex")
            .to_string();
        assert!(
            msg.contains("is not hex: offer ids are hex digits"),
            "{msg}"
        );
        let msg = resolve_prefix("submission", &"a".repeat(65), ids)
            .expect_err("long")
            .to_string();
        assert!(msg.contains("longer than"), "{msg}");
        // The same id listed twice is still one id.
        assert_eq!(resolve_prefix("offer", "bbbbbbbb", [C, C]).expect("dup"), C);
    }

    #[test]
    fn keys_resolve_like_ids_and_say_key() {
        let msg = resolve_key("member", "dddddddd", [A])
            .expect_err("none")
            .to_string();
        assert!(msg.contains("no member on this node starts with"), "{msg}");
        let msg = resolve_key("member", "dd", [A])
            .expect_err("short")
            .to_string();
        assert!(msg.contains("member key"), "{msg}");
    }

    fn summary(id: &str, name: &str) -> CoopSummary {
        CoopSummary {
            id: id.into(),
            name: name.into(),
            entries: 3,
            chains: 1,
            role: "member".into(),
            identity: String::new(),
            writing: WritingView {
                waiting: false,
                reason: "confirmed".into(),
                peers: 0,
                message: String::new(),
            },
        }
    }

    #[test]
    fn status_says_which_cooperatives_wait_and_why() {
        let mut waiting = summary(C, "Atlas Coders");
        waiting.writing = WritingView {
            waiting: true,
            reason: "waiting".into(),
            peers: 2,
            message: "waiting for peers to confirm your latest entry (2 peers connected)".into(),
        };
        let st = Status {
            key: A.into(),
            peer_id: "12D3KooW".into(),
            listen: Vec::new(),
            peers: 2,
            coops: vec![summary(A, "Rif Transcribers"), waiting],
        };
        let out = render_status(&st);
        let rows: Vec<&str> = out.lines().filter(|l| l.contains(" member ")).collect();
        assert!(rows[0].ends_with("yes"), "{out}");
        assert!(rows[1].ends_with("waiting"), "{out}");
        assert!(
            out.contains("bbbbbbbb: waiting for peers to confirm your latest entry (2 peers connected); this node writes there once one of them has synced with it"),
            "{out}"
        );
        assert!(!out.contains("aaaaaaaa: waiting"), "{out}");
    }

    #[test]
    fn the_only_cooperative_is_the_default_and_several_are_listed() {
        let one = [summary(A, "Rif Transcribers")];
        assert_eq!(pick_coop(&one, None).expect("one"), A);
        let msg = pick_coop(&[], None).expect_err("none").to_string();
        assert!(msg.contains("no cooperative yet"), "{msg}");
        let two = [summary(A, "Rif Transcribers"), summary(C, "Atlas Coders")];
        let msg = pick_coop(&two, None).expect_err("several").to_string();
        assert!(msg.contains("2 cooperatives"), "{msg}");
        assert!(msg.contains("Atlas Coders") && msg.contains(C), "{msg}");
        assert_eq!(pick_coop(&two, Some("bbbbbbbb")).expect("prefix"), C);
    }

    #[test]
    fn limits_take_names_and_durations() {
        assert_eq!(
            parse_limit("max_review_window_ms=3d"),
            Ok(("max_review_window_ms".into(), 259_200_000))
        );
        assert_eq!(
            parse_limit("amendment_delay_ms=60000"),
            Ok(("amendment_delay_ms".into(), 60_000))
        );
        assert_eq!(
            parse_limit("topup_cap_pct=150"),
            Ok(("topup_cap_pct".into(), 150))
        );
        let e = parse_limit("max_review_window=3d").expect_err("unknown");
        assert!(
            e.contains("not a limit") && e.contains("max_review_window_ms"),
            "{e}"
        );
        let e = parse_limit("topup_cap_pct=2d").expect_err("not a number");
        assert!(e.contains("not a whole number"), "{e}");
        assert!(parse_limit("topup_cap_pct").is_err());
        // Every name listed for people is a limit the protocol knows.
        for n in LIMIT_NAMES {
            assert!(parse_limit(&format!("{n}=1")).is_ok(), "{n}");
        }
    }

    #[test]
    fn floors_and_amounts_keep_their_currency() {
        let f = parse_floor("12.50EUR/h").expect("floor");
        assert_eq!((f.minor, f.currency.as_str()), (1250, "EUR"));
        assert_eq!(amount_text(&f), "12.50EUR");
        assert_eq!(
            amount_text(&parse_amount("4 EUR").expect("amount")),
            "4.00EUR"
        );
        let msg = parse_amount("4.00").expect_err("no currency").to_string();
        assert!(msg.contains("no currency"), "{msg}");
        assert!(parse_amount("4.001EUR").is_err());
        let f = parse_floor("12.500JOD/h").expect("a JOD floor");
        assert_eq!((f.minor, amount_text(&f)), (12_500, "12.500JOD".to_owned()));
        assert_eq!(
            amount_text(&parse_amount("400 XOF").expect("xof")),
            "400XOF"
        );
        let msg = parse_amount("1.2345JOD")
            .expect_err("four decimals")
            .to_string();
        assert_eq!(msg, "JOD has 3 decimals: 1.2345JOD has 4");
    }

    #[test]
    fn tables_align_columns_without_trailing_spaces() {
        let mut t = Table::new(&["ID", "PAY", "TITLE"]).right(&[1]);
        t.row(vec!["ab".into(), "4.00 EUR".into(), "Transcribe".into()]);
        t.row(vec!["abcdef".into(), "12.50 EUR".into(), "Tag".into()]);
        assert_eq!(
            t.render(),
            "ID            PAY  TITLE\n\
             ab       4.00 EUR  Transcribe\n\
             abcdef  12.50 EUR  Tag\n"
        );
        let f = fields(&[("key", "k".into()), ("listening on", "a\nb".into())]);
        assert_eq!(f, "key           k\nlistening on  a\n              b\n");
    }

    fn eur(minor: u64) -> Amount {
        Amount::new("EUR", minor)
    }

    fn offer(id: &str, pay: u64, minutes: u32) -> OfferView {
        OfferView {
            id: id.into(),
            requester: C.into(),
            requester_name: None,
            at: 1_000,
            title: "Transcribe an interview".into(),
            description: String::new(),
            purpose: "oral history archive".into(),
            pay: eur(pay),
            minutes,
            hourly: eur(pay * 60 / u64::from(minutes)),
            floor: Some(eur(1250)),
            assignments: 1,
            state: "open".into(),
            claim_closes_at: 601_000,
            expires_at: 10_000_000,
            review_window_ms: 1,
            claims: 0,
            winners: vec![],
            claimed_by_me: true,
            assigned_to_me: false,
            record: RecordView {
                requester: C.into(),
                accepted: 3,
                rejected: 1,
                unpaid: vec![eur(400)],
                scores: Some([425, 400, 500, 300]),
                ..RecordView::default()
            },
            places: vec![],
            void_assignments: 0,
            my_claim_counts: Some(true),
            submit_by: None,
        }
    }

    #[test]
    fn offers_show_rate_against_floor_and_the_record() {
        let out = render_offers(&[offer(A, 400, 15), offer(B, 1000, 30)], B, 1_000);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[0].starts_with("OFFER           PAY  MIN   PER HOUR  VS FLOOR"),
            "{out}"
        );
        assert!(
            lines[1].starts_with("aaaaaaaa   4.00 EUR   15  16.00 EUR  128% of 12.50 EUR  open"),
            "{out}"
        );
        assert!(lines[2].contains("20.00 EUR  160% of 12.50 EUR"), "{out}");
        assert!(lines[1].contains("in 10m"), "{out}");
        assert!(lines[1].contains("claimed"), "{out}");
        assert!(
            lines[1].contains("bbbbbbbb: 3 accepted, 1 rejected, 4.00 EUR unpaid, pay 4.25/5"),
            "{out}"
        );
        assert!(
            lines[1].ends_with("Transcribe an interview: oral history archive"),
            "{out}"
        );
        assert_eq!(render_offers(&[], B, 0), "no open offer\n");
    }

    fn place(member: &str, from: u64, state: &str) -> PlaceView {
        PlaceView {
            member: member.into(),
            member_name: None,
            from,
            until: from + 2 * 86_400_000,
            state: state.into(),
            submission: (state == "filled").then(|| C.to_owned()),
        }
    }

    /// A member whose key begins unlike the others'.
    const D: &str = "dddddddd44444444444444444444444444444444444444444444444444444444";

    /// 2 Jan 2026, 00:00 UTC.
    const JAN_2: u64 = 1_767_312_000_000;

    #[test]
    fn a_place_to_fill_a_lapsed_place_and_a_late_claim_are_spelt_out() {
        // A's place lapsed; it passed to D, who must submit within two days.
        let mut won = offer(A, 400, 15);
        won.state = "assigned".into();
        won.places = vec![
            place(A, JAN_2 - 2 * 86_400_000, "lapsed"),
            place(D, JAN_2, "open"),
        ];
        won.winners = vec![D.into()];
        won.assigned_to_me = true;
        won.submit_by = Some(won.places[1].until);
        let mut late = offer(C, 400, 15);
        late.my_claim_counts = Some(false);
        let out = render_offers(&[won.clone(), late.clone()], D, JAN_2);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert!(lines[1].contains("  won  "), "{out}");
        assert!(lines[2].contains("  late claim  "), "{out}");
        assert_eq!(
            lines[3], "aaaaaaaa: submit by 4 Jan 2026, 00:00 UTC (in 2d)",
            "{out}"
        );
        assert_eq!(
            lines[4], "bbbbbbbb: your claim came after the window and does not count",
            "{out}"
        );
        // Seen by A, whose place it was.
        won.assigned_to_me = false;
        won.submit_by = None;
        let out = render_offers(&[won.clone()], A, JAN_2);
        assert!(out.contains("  lapsed  "), "{out}");
        assert!(
            out.ends_with("aaaaaaaa: your place lapsed (no work by 2 Jan 2026, 00:00 UTC): place passed to the next claimant\n"),
            "{out}"
        );
        let detail = render_offer(&won, A, JAN_2);
        assert!(
            detail.contains("draw        aaaaaaaa (you)  lapsed: no work by 2 Jan 2026, 00:00 UTC; place passed to the next claimant\n"),
            "{detail}"
        );
        assert!(
            detail.contains("            dddddddd  submit by 4 Jan 2026, 00:00 UTC (in 2d)\n"),
            "{detail}"
        );
        assert!(detail.contains("your claim  counts\n"), "{detail}");
        assert!(!detail.contains("void"), "{detail}");
        let detail = render_offer(&late, A, JAN_2);
        assert!(
            detail.contains("your claim  your claim came after the window and does not count"),
            "{detail}"
        );
    }

    #[test]
    fn assignments_that_left_out_claims_show_on_the_record() {
        let mut o = offer(A, 400, 15);
        assert!(!render_offers(&[o.clone()], B, 0).contains("void"));
        o.record.void_assignments = 2;
        o.void_assignments = 1;
        let out = render_offers(&[o.clone()], B, 0);
        assert!(
            out.contains("4.00 EUR unpaid, 2 void assignment(s) that left out claims, pay"),
            "{out}"
        );
        let detail = render_offer(&o, B, 0);
        assert!(
            detail.contains("void assignments  1: they left out claims made in the window"),
            "{detail}"
        );
        let r = render_record(&o.record);
        assert!(
            r.contains("void assignments             2: assignments that left out claims\n"),
            "{r}"
        );
    }

    #[test]
    fn balances_mark_this_node_and_align_amounts() {
        let row = BalanceView {
            requester: C.into(),
            requester_name: None,
            member: A.into(),
            member_name: None,
            earned: eur(400),
            topup: eur(100),
            paid: eur(500),
            confirmed: eur(0),
            denied: eur(0),
            unconfirmed: eur(500),
            owed: eur(500),
        };
        let out = render_balances(&[row], A);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("REQUESTER  MEMBER            EARNED    TOP-UP      PAID  CONFIRMED  NOT RECEIVED      OWED  CLAIMED PAID, NOT CONFIRMED"),
            "{out}"
        );
        assert!(
            lines[1].starts_with("bbbbbbbb   aaaaaaaa (you)  4.00 EUR  1.00 EUR  5.00 EUR   0.00 EUR      0.00 EUR  5.00 EUR"),
            "{out}"
        );
        assert!(lines[1].ends_with("5.00 EUR"), "{out}");
    }

    #[test]
    fn people_show_by_their_admitted_name_beside_the_short_key() {
        let row = BalanceView {
            requester: C.into(),
            requester_name: Some("Lumen Lab".into()),
            member: A.into(),
            member_name: Some("أمل حداد".into()),
            earned: eur(400),
            topup: eur(0),
            paid: eur(0),
            confirmed: eur(0),
            denied: eur(0),
            unconfirmed: eur(0),
            owed: eur(400),
        };
        let out = render_balances(&[row], A);
        assert!(
            out.contains("Lumen Lab · bbbbbbbb  أمل حداد · aaaaaaaa (you)"),
            "{out}"
        );
        let v = CoopView {
            id: A.into(),
            name: "Rif Transcribers".into(),
            members: vec![A.into()],
            requesters: vec![C.into()],
            names: [(A.to_owned(), "أمل حداد".to_owned())].into(),
            floors: vec![eur(1250)],
            quorum_pct: 50,
            quorum_needed: 1,
            limits: BTreeMap::new(),
            proposals: vec![],
            frozen: vec![],
            entries: 1,
        };
        let out = render_coop(&v, A);
        assert!(out.contains(&format!("{A} (you)  أمل حداد\n")), "{out}");
        assert!(out.contains(&format!("requesters   {C}\n")), "{out}");
    }

    #[test]
    fn a_cooperative_shows_its_rules_and_open_proposals() {
        let v = CoopView {
            id: A.into(),
            name: "Rif Transcribers".into(),
            members: vec![A.into(), B.into()],
            requesters: vec![],
            names: BTreeMap::new(),
            floors: vec![eur(1250)],
            quorum_pct: 50,
            quorum_needed: 1,
            limits: [("max_review_window_ms".to_owned(), 604_800_000u64)].into(),
            proposals: vec![ProposalView {
                id: C.into(),
                author: A.into(),
                at: 0,
                action: format!("admit requester {C}"),
                reason: "a lab we trust".into(),
                yes: vec![A.into()],
                no: vec![],
                needed: 2,
                enacted: false,
                expires_at: u64::MAX,
                passes: false,
                weighty: false,
            }],
            frozen: vec![],
            entries: 4,
        };
        let out = render_coop(&v, A);
        assert!(out.contains("floor        12.50 EUR/h"), "{out}");
        assert!(
            out.contains(&format!("members      {A} (you)\n             {B}\n")),
            "{out}"
        );
        assert!(out.contains("max_review_window_ms = 7d"), "{out}");
        assert!(out.contains("bbbbbbbb    1   0       2  no"), "{out}");
        assert!(out.contains("a lab we trust"), "{out}");
    }

    #[test]
    fn result_files_are_named_after_the_submission() {
        assert_eq!(default_result_name(A), format!("result-{A}"));
    }
}
