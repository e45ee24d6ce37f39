//! The node's side of appeals (docs/protocol.md 8.8): a member appeals a rejection of its
//! work, the requester replies, a juror votes, and anyone lists the appeals of a
//! cooperative or the ones it has to judge. The rules are the core's; this only finds
//! what an entry must name and writes it.

use crate::service::{Error, Known, Node, Res};
use taawun_api::appeals::AppealInfo;
use taawun_api::views::Written;
use taawun_core::appeal::AppealView;
use taawun_core::body::{Appeal, Body, Reply, Verdict};
use taawun_core::Id;

impl Node {
    /// The member appeals the rejection of its work `submission`.
    pub(crate) async fn appeal(&self, coop: Id, submission: Id, answer: String) -> Res<Written> {
        let c = self.state(coop).await?;
        let now = self.now();
        let s = c
            .submission(&submission, now)
            .ok_or_else(|| Error::NotFound(format!("no submission {submission} here")))?;
        // Submissions name the member's stable identity: the member may appeal from any
        // of its devices, and under a key that replaced its lost one.
        if s.member != self.identity(&c) {
            return Err(Error::Known(
                Known::NotOwnWork,
                format!(
                    "submission {} is another member's: only the member whose work was rejected may appeal",
                    submission.short()
                ),
            ));
        }
        let rejection = c.rejection(&submission, now).ok_or_else(|| {
            Error::Known(
                Known::NothingToAppeal,
                format!(
                    "submission {} has no rejection that counts: there is nothing to appeal",
                    submission.short()
                ),
            )
        })?;
        self.write(coop, Body::Appeal(Appeal { rejection, answer }))
            .await
    }

    /// The requester answers an appeal of its rejection.
    pub(crate) async fn reply(&self, coop: Id, appeal: Id, text: String) -> Res<Written> {
        self.write(coop, Body::Reply(Reply { appeal, text })).await
    }

    /// A juror votes on an appeal. Refused here when this node's key holds no open seat
    /// of its jury: such a vote would be valid but count for nothing.
    pub(crate) async fn verdict(&self, coop: Id, appeal: Id, uphold: bool) -> Res<Written> {
        let c = self.state(coop).await?;
        // Seats are held by stable identities: a juror votes from any of its devices, and
        // under a key that replaced its lost one.
        let me = self.identity(&c);
        let a = c
            .appeal(&appeal, self.now())
            .ok_or_else(|| Error::NotFound(format!("no appeal {appeal} that counts here")))?;
        if !AppealInfo::of(&a, &me).to_judge {
            return Err(Error::Known(
                Known::NoSeat,
                format!(
                    "this key holds no open seat on the jury of appeal {}",
                    appeal.short()
                ),
            ));
        }
        self.write(coop, Body::Verdict(Verdict { appeal, uphold }))
            .await
    }

    /// The appeals that count; with `mine`, only those this key has to judge now.
    pub(crate) async fn appeals(&self, coop: Id, mine: bool) -> Res<Vec<AppealInfo>> {
        let c = self.state(coop).await?;
        let me = self.identity(&c);
        Ok(c.appeals(self.now())
            .iter()
            .map(|a| {
                let mut info = AppealInfo::of(a, &me);
                if let Some(Body::Offer(o)) = c.get(&a.offer).map(|v| &v.entry().body) {
                    info.title.clone_from(&o.title);
                    info.description.clone_from(&o.description);
                }
                // Jurors receive the result privately once the jury sits (protocol.md 13.7).
                info.result_here = self.net().has_result(coop, a.submission);
                (info.reason, info.reason_flag) = self.reason(coop, a);
                info
            })
            .filter(|a| !mine || a.to_judge)
            .collect())
    }
}

impl Node {
    /// What this node reads of an appeal's rejection reason: with its own key when it is
    /// a party's (or a party's device), else with the key the member's node disclosed
    /// with the result if this node is a juror's and received it (protocol.md 13.7).
    /// Others read nothing: the reason stays sealed.
    fn reason(&self, coop: Id, a: &AppealView) -> (Option<String>, Option<String>) {
        let own = self.read(&a.reason);
        if own != (None, None) {
            return own;
        }
        let Some(key) = self.net().disclosed(coop, a.rejection) else {
            return own;
        };
        // Checked when it arrived, and again here: a key never reads another text.
        match a.reason.open_with(&key) {
            Ok(text) => match taawun_core::seal::text_rule(&text) {
                Ok(()) => (Some(text), None),
                Err(why) => (Some(text), Some(why)),
            },
            Err(e) => (None, Some(e.to_string())),
        }
    }
}

/// A juror's choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Choice {
    /// The rejection is void: the work is owed as accepted work.
    Uphold,
    /// The rejection stands.
    Dismiss,
}

impl Choice {
    pub(crate) fn uphold(self) -> bool {
        self == Choice::Uphold
    }
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.uphold() { "uphold" } else { "dismiss" })
    }
}

impl crate::client::Client {
    /// `POST /api/coops/{coop}/submissions/{id}/appeal`.
    pub(crate) async fn appeal(
        &self,
        coop: &str,
        submission: &str,
        answer: &str,
    ) -> crate::client::Result<Written> {
        let req = taawun_api::appeals::AppealReq {
            answer: answer.to_owned(),
        };
        self.post(
            &format!("/api/coops/{coop}/submissions/{submission}/appeal"),
            &req,
        )
        .await
    }

    /// `GET /api/coops/{coop}/appeals`.
    pub(crate) async fn appeals(&self, coop: &str) -> crate::client::Result<Vec<AppealInfo>> {
        self.get(&format!("/api/coops/{coop}/appeals")).await
    }

    /// `GET /api/coops/{coop}/jury`.
    pub(crate) async fn jury(&self, coop: &str) -> crate::client::Result<Vec<AppealInfo>> {
        self.get(&format!("/api/coops/{coop}/jury")).await
    }

    /// `POST /api/coops/{coop}/appeals/{id}/reply`.
    pub(crate) async fn reply(
        &self,
        coop: &str,
        appeal: &str,
        text: &str,
    ) -> crate::client::Result<Written> {
        let req = taawun_api::appeals::ReplyReq {
            text: text.to_owned(),
        };
        self.post(&format!("/api/coops/{coop}/appeals/{appeal}/reply"), &req)
            .await
    }

    /// `POST /api/coops/{coop}/appeals/{id}/vote`.
    pub(crate) async fn vote_appeal(
        &self,
        coop: &str,
        appeal: &str,
        uphold: bool,
    ) -> crate::client::Result<Written> {
        let req = taawun_api::appeals::VerdictReq { uphold };
        self.post(&format!("/api/coops/{coop}/appeals/{appeal}/vote"), &req)
            .await
    }
}

/// Appeals as the CLI prints them: one block each, with what the jury reads.
pub(crate) fn render(all: &[AppealInfo]) -> String {
    if all.is_empty() {
        return "no appeals\n".into();
    }
    let short = |h: &str| h.chars().take(8).collect::<String>();
    let mut out = String::new();
    for a in all {
        out.push_str(&format!(
            "appeal {} of submission {}: {} ({} uphold, {} dismiss, {} decide){}\n",
            short(&a.id),
            short(&a.submission),
            a.outcome,
            a.uphold,
            a.dismiss,
            a.majority,
            if a.to_judge {
                "; you are on its jury"
            } else {
                ""
            }
        ));
        if !a.title.is_empty() {
            out.push_str(&format!("  offer:  {}\n", a.title));
        }
        match &a.reason {
            Some(r) => out.push_str(&format!("  reason: {r}\n")),
            None => out.push_str(
                "  reason: sealed (the member's node sends it to the jury with the result)\n",
            ),
        }
        if let Some(why) = &a.reason_flag {
            out.push_str(&format!("  reason flagged: {why}\n"));
        }
        out.push_str(&format!("  answer: {}\n", a.answer));
        if let Some(r) = &a.reply {
            out.push_str(&format!("  reply:  {r}\n"));
        }
        if a.to_judge {
            out.push_str(&if a.result_here {
                format!(
                    "  result: here (taawun results get {})\n",
                    short(&a.submission)
                )
            } else {
                "  result: not received yet\n".to_owned()
            });
        }
    }
    out
}
