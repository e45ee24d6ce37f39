//! The command line as a client of the running daemon: one subcommand per thing a member,
//! a requester or anyone does, each a call (or a few) to the local API through
//! [`crate::client`].
//!
//! Every command prints readable, aligned tables by default and the API's JSON with
//! `--json`. A cooperative defaults to the only one the node holds. Ids may be given in
//! full or as a unique prefix of at least [`MIN_PREFIX`] hex digits, resolved against the
//! relevant list: people type them on phones. Amounts are parsed and printed with their
//! currency, never as floats.

mod args;
mod render;
mod resolve;

pub(crate) use args::*;
pub(crate) use render::*;
pub(crate) use resolve::*;
// Named here: `taawun_api::request` has functions of the same names.
use resolve::{parse_floor, parse_limit};

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
