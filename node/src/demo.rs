//! `taawun demo`: a cooperative doing real work end to end, on an embedded default.
//!
//! Five nodes (four members and a requester) start on loopback, each with its own data
//! folder (key, configuration, API token, sled ledger) and its own libp2p stack (TCP,
//! noise, yamux, gossipsub, sync, result transfer). They act through the same code as the
//! daemon's API ([`crate::service`]), so what the demo shows is what a node does: the
//! charter, a requester admitted by vote, an offer under the floor refused by every node,
//! claims and the lottery, result files sent privately to the requester, an acceptance, a
//! rejection with its reason, an acceptance by default when the review window passes, a
//! top-up for time worked beyond the estimate (at least the median of the minutes reported
//! on the offer); the rejected member's appeal with its answer, the requester's reply, a
//! jury drawn by lottery once a member who is not a party witnessed the appeal, the
//! result sent privately to the juror, who upholds it (the work counts as accepted, its
//! pay and top-up are owed, the requester's record shows the appeal upheld); payments
//! recorded and confirmed (one first answered "not received"), a review; a second phone
//! authorised by a member, writing for her, then revoked (what it signs afterwards counts
//! for nobody); then the ledger exported from every node (identical), verified offline,
//! and a summary.

use crate::datadir;
use crate::service::{Error, Node};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use taawun_api::request::{OfferFilter, SubmissionFilter};
use taawun_api::views::*;
use taawun_core::fold::WITNESS_SLACK_MS;
use taawun_core::money::format_in;
use taawun_core::{Hash, Id, PublicKey, Unverified};
use taawun_ledger::{Ingest, Ledger};
use taawun_net::{NetConfig, Network};
use tokio::task::JoinHandle;

/// How long the demo waits for any one step to reach every node before giving up.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often it looks again while waiting.
const POLL: Duration = Duration::from_millis(50);
/// Demo-sized windows: claims close after a minute (the least a charter may allow; the
/// demo's charter lowers its `min_claim_window_ms` to it and the demo skips ahead over
/// it, see [`demo_clock`]), the short review window passes after 5 s.
const CLAIM_WINDOW_MS: u64 = 60_000;
const SHORT_REVIEW_MS: u64 = 5_000;
/// The least amendment delay the protocol allows (a real cooperative waits an hour).
/// The demo skips ahead over it: see [`demo_clock`].
const AMENDMENT_DELAY_MS: u64 = 60_000;

/// A jury sits once the witness slack after the appeal has passed (docs/protocol.md
/// 8.8): the demo skips ahead over it, and a little more.
const JURY_SKIP_MS: u64 = WITNESS_SLACK_MS + 5_000;
/// How far behind the wall clock the demo's clock starts: more than the demo skips in all
/// (see [`demo_clock`]).
const START_BEHIND_MS: u64 = 20 * 60 * 1000;
/// Everything the demo skips: the amendment delay, the claim window with the requester's
/// grace before its draw, the witness slack before a jury sits.
const SKIPS_MS: u64 = (AMENDMENT_DELAY_MS + 2_000)
    + (CLAIM_WINDOW_MS + crate::service::ASSIGN_GRACE_MS + 1_000)
    + JURY_SKIP_MS;
const _: () = assert!(
    SKIPS_MS < START_BEHIND_MS,
    "the demo would date entries ahead of the wall clock"
);

/// How far the demo's clock has skipped ahead since it started.
static SKIPPED_MS: AtomicU64 = AtomicU64::new(0);

/// The clock every demo node judges and stamps entries by: the wall clock less
/// [`START_BEHIND_MS`], plus the time the demo skipped (one amendment delay, one claim
/// window and one witness slack, about 17 minutes). Every node of the demo shares it, so
/// they agree on time; starting 20 minutes behind keeps every entry dated before the wall
/// clock, so the kept ledgers stay valid for nodes on the real clock (a node refuses
/// entries dated more than 5 minutes ahead of its own clock).
fn demo_clock() -> taawun_core::Timestamp {
    taawun_net::config::system_now() - START_BEHIND_MS + SKIPPED_MS.load(Ordering::SeqCst)
}

/// The configuration of a demo node: loopback only, any free ports, no mDNS.
const DEMO_CONFIG: &str = r#"# A demo node: loopback only, any free port.
[network]
listen = ["/ip4/127.0.0.1/tcp/0"]
bootstrap = []
mdns = false

[api]
listen = "127.0.0.1:0"
"#;

struct Member {
    name: &'static str,
    dir: PathBuf,
    node: Node,
    task: JoinHandle<()>,
}

fn say(s: impl AsRef<str>) {
    println!("{}", s.as_ref());
}

/// Waits until `check` returns `Some`, polling; fails with `what` after [`STEP_TIMEOUT`].
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until every node holds the same chain heads of `coop`.
async fn converge(ms: &[Member], coop: Id, what: &str) -> Result<()> {
    wait_for(what, || async {
        let mut first = None;
        for m in ms {
            let h = match m.node.net().heads(coop).await {
                Ok(h) => h,
                Err(taawun_net::NetError::UnknownCoop(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            match &first {
                None => first = Some(h),
                Some(f) if *f != h => return Ok(None),
                Some(_) => {}
            }
        }
        Ok(Some(()))
    })
    .await
}

fn api_err(e: Error) -> anyhow::Error {
    anyhow!("{e}")
}

fn id(s: &str) -> Result<Id> {
    Id::from_hex(s).map_err(|e| anyhow!("bad id {s}: {e}"))
}

/// Runs the demo in `dir` (a fresh temporary folder by default); `keep` leaves the data
/// folders behind.
pub(crate) fn run(dir: Option<PathBuf>, keep: bool) -> Result<()> {
    let (dir, _guard) = match dir {
        Some(d) => {
            if d.exists() {
                std::fs::remove_dir_all(&d)
                    .with_context(|| format!("clearing the demo folder {}", d.display()))?;
            }
            std::fs::create_dir_all(&d)?;
            (d, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("taawun-demo-")
                .tempdir()
                .context("creating a temporary folder")?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let rt = crate::runtime()?;
    let out = rt.block_on(story(&dir));
    if keep {
        if let Some(t) = _guard {
            // Keep the folder: the caller asked to inspect it.
            let _ = t.keep();
        }
        let names = keep_configs(&dir)?;
        let d = dir.display();
        say(format!(
            "\nThe nodes' data folders are kept in {d}. During the demo they listened on any free \
             port with no bootstrap peers; their config.toml files now give each a fixed port \
             ({}..{}, API {}..{}, on 127.0.0.1) and the others as bootstrap peers, so restarted \
             nodes find each other (edit the ports if one is taken). Start them, then use the CLI:",
            KEEP_P2P_PORT,
            KEEP_P2P_PORT + names.len() as u16 - 1,
            KEEP_API_PORT,
            KEEP_API_PORT + names.len() as u16 - 1,
        ));
        for n in &names {
            say(format!("  taawun run --data-dir {d}/{n} &"));
        }
        say(format!(
            "  taawun status --data-dir {d}/amal\n  taawun offers --all --data-dir {d}/amal\n  \
             taawun balance --all --data-dir {d}/amal\nor audit the exported ledger: taawun ledger verify {d}/coop.taawun"
        ));
    }
    out
}

/// First port of the kept nodes' libp2p listeners (see [`keep_configs`]): below Linux's
/// range of ports handed out to port 0 (32768 and up), so another program's any-port
/// listener does not take it.
const KEEP_P2P_PORT: u16 = 27_400;
/// First port of the kept nodes' API and page.
const KEEP_API_PORT: u16 = 27_500;

/// Rewrites the config.toml of every node kept in `dir` (folders in name order) so that,
/// restarted, they find each other: node `i` listens on `KEEP_P2P_PORT + i` and serves its
/// API on `KEEP_API_PORT + i`, on 127.0.0.1, with every other node as a bootstrap peer.
/// Returns the folders' names.
fn keep_configs(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(crate::config::CONFIG_FILE).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let addr = |i: usize| format!("/ip4/127.0.0.1/tcp/{}", KEEP_P2P_PORT as usize + i);
    for (i, n) in names.iter().enumerate() {
        let peers: Vec<String> = (0..names.len())
            .filter(|j| *j != i)
            .map(|j| format!("\"{}\"", addr(j)))
            .collect();
        let text = format!(
            "# A node kept from the demo: loopback only, fixed ports, the other demo nodes as\n\
             # bootstrap peers.\n[network]\nlisten = [\"{}\"]\nbootstrap = [{}]\nmdns = false\n\n\
             [api]\nlisten = \"127.0.0.1:{}\"\n",
            addr(i),
            peers.join(", "),
            KEEP_API_PORT as usize + i
        );
        let path = dir.join(n).join(crate::config::CONFIG_FILE);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(names)
}

async fn start(
    dir: &Path,
    name: &'static str,
    bootstrap: Vec<taawun_net::libp2p::Multiaddr>,
) -> Result<Member> {
    let dir = dir.join(name.to_lowercase().replace(' ', "-"));
    // Demo identities derived from the names, so every run tells the same story.
    let seed = *Hash::of(name.as_bytes()).as_bytes();
    let made = datadir::init(&dir, Some(seed), Some(DEMO_CONFIG))?;
    let ledger = Ledger::open(&dir.join(datadir::LEDGER_DIR))
        .with_context(|| format!("opening {name}'s ledger"))?;
    let cfg = NetConfig {
        bootstrap,
        results_dir: Some(dir.join(datadir::RESULTS_DIR)),
        // Demo-sized: repair anything gossip missed within two seconds.
        sync_interval: Duration::from_secs(2),
        clock: demo_clock,
        // As the daemon does: each member writes once a peer confirmed its latest entry.
        confirm_own_chain: true,
        ..NetConfig::loopback()
    };
    let transport = datadir::net_key(&dir)?;
    let (net, mut events, task) = Network::spawn_member(cfg, transport, made.key.clone(), ledger)
        .with_context(|| format!("starting {name}'s network"))?;
    // On loopback every node is reachable at its listen address: say so, so that each
    // serves the DHT and the others can find it (AutoNAT confirms this on a real network).
    let listening = wait_for("a node to listen", || async {
        let l = net.listeners().await?;
        Ok((!l.is_empty()).then_some(l))
    })
    .await?;
    for a in listening {
        net.add_external_address(a).await?;
    }
    // Nothing here reads events one by one (the demo reads state); drain them.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let node = Node::new(net, made.key, demo_clock, dir.clone());
    Ok(Member {
        name,
        dir,
        node,
        task,
    })
}

async fn story(dir: &Path) -> Result<()> {
    let t0 = std::time::Instant::now();
    SKIPPED_MS.store(0, Ordering::SeqCst);
    say("taawun demo: a cooperative of five nodes on this machine, each with its own key,");
    say("ledger on disk and libp2p stack (TCP, noise, yamux, gossipsub) on 127.0.0.1\n");
    let names = ["Amal", "Karim", "Sara", "Nour", "Lumen Lab"];
    let mut ms = vec![start(dir, names[0], vec![]).await?];
    let first = wait_for("the first node to listen", || async {
        Ok(ms[0].node.net().listeners().await?.into_iter().next())
    })
    .await?;
    let boot = first.with(taawun_net::libp2p::multiaddr::Protocol::P2p(
        ms[0].node.net().peer_id(),
    ));
    for n in &names[1..] {
        ms.push(start(dir, n, vec![boot.clone()]).await?);
    }
    for m in &ms {
        say(format!(
            "  {:<10} key {}  data {}",
            m.name,
            m.node.me().short(),
            m.dir.display()
        ));
    }
    let keys: Vec<PublicKey> = ms.iter().map(|m| m.node.me()).collect();
    let name_of = |k: &str| -> &'static str {
        keys.iter()
            .position(|p| p.to_hex() == k)
            .map_or("someone", |i| names[i])
    };
    const LUMEN: usize = 4;

    // 1. The charter.
    let mut limits = BTreeMap::new();
    limits.insert("amendment_delay_ms".to_string(), AMENDMENT_DELAY_MS);
    limits.insert("min_claim_window_ms".to_string(), CLAIM_WINDOW_MS);
    // Juries of one: of four members, an appeal's party and the others who claimed the
    // same offer cannot judge it, which leaves too few for the default of three.
    limits.insert("jury_size".to_string(), 1);
    let coop = ms[0]
        .node
        .create_coop(CreateCoop {
            name: "Sumud Transcribers' Cooperative".into(),
            floor: "12.50EUR/h".into(),
            quorum_pct: Some(50),
            members: keys[1..4].iter().map(PublicKey::to_hex).collect(),
            requesters: vec![],
            names: keys[..4]
                .iter()
                .zip(names)
                .map(|(k, n)| (k.to_hex(), n.to_string()))
                .collect(),
            limits,
        })
        .await
        .map_err(api_err)?;
    let cid = id(&coop.id)?;
    say(format!(
        "\n1. Amal founds \"{}\" (id {}): members Amal, Karim, Sara, Nour; floor {}/h; quorum {} %;\n   juries of {} for appeals",
        coop.name,
        cid.short(),
        coop.floors
            .first()
            .map_or(String::new(), |f| f.text.clone()),
        coop.quorum_pct,
        coop.limits.get("jury_size").copied().unwrap_or(3)
    ));
    let invite = ms[0].node.invite(cid).await.map_err(api_err)?;
    for m in &ms[1..] {
        m.node.join(&invite.invite).await.map_err(api_err)?;
    }
    converge(&ms, cid, "every node to hold the charter").await?;
    say(format!(
        "   the others join with Amal's invite ({} characters: the signed charter and her addresses)",
        invite.invite.len()
    ));

    // 2. A requester admitted by vote.
    let p = ms[0]
        .node
        .propose(
            cid,
            Propose {
                action: "admit-requester".into(),
                key: Some(keys[LUMEN].to_hex()),
                new_key: None,
                name: Some(names[LUMEN].into()),
                floor: None,
                quorum_pct: None,
                limit: None,
                value: None,
                reason: "Lumen Lab subtitles documentaries and says what each task is for".into(),
            },
        )
        .await
        .map_err(api_err)?;
    // Lumen Lab's node gets no entry until its admission takes effect: only the members'
    // nodes serve the ledger to one another.
    converge(
        &ms[..LUMEN],
        cid,
        "the proposal to reach every member's node",
    )
    .await?;
    for m in &ms[1..3] {
        m.node
            .vote(
                cid,
                VoteReq {
                    proposal: p.id.clone(),
                    yes: true,
                },
            )
            .await
            .map_err(api_err)?;
        converge(&ms[..LUMEN], cid, "the vote to reach every member's node").await?;
    }
    let view = ms[0].node.coop(cid).await.map_err(api_err)?;
    let enacted = view.proposals.iter().any(|x| x.id == p.id && x.enacted);
    if !enacted {
        bail!("the proposal was not enacted after a quorum of votes");
    }
    say(format!(
        "\n2. Amal proposes to admit Lumen Lab as a requester; Karim and Sara vote yes (2 votes cast, {} needed;\n   yes must be over {} % of the votes cast):",
        view.quorum_needed,
        view.limits.get("majority_pct").copied().unwrap_or(50)
    ));
    say(format!(
        "   enacted; it takes effect {} s later (the demo skips ahead; a real cooperative waits an hour",
        AMENDMENT_DELAY_MS / 1000
    ));
    say("   so that every node has heard of an amendment before it bites)");
    SKIPPED_MS.store(AMENDMENT_DELAY_MS + 2_000, Ordering::SeqCst);
    wait_for("Lumen Lab's admission to take effect", || async {
        let v = ms[LUMEN].node.coop(cid).await.map_err(api_err)?;
        Ok(v.requesters.contains(&keys[LUMEN].to_hex()).then_some(()))
    })
    .await?;

    // 3. Under the floor: refused by the requester's own node, and by every other node.
    let cheap = PostOffer {
        title: "Transcribe 20 voice notes".into(),
        description: String::new(),
        purpose: "Subtitles".into(),
        pay: "2.00EUR".into(),
        minutes: 15,
        assignments: None,
        expires_in_ms: None,
        review_window_ms: None,
        claim_window_ms: None,
    };
    match ms[LUMEN].node.post_offer(cid, cheap).await {
        Err(Error::Rule(i, msg)) if matches!(*i, taawun_core::Invalid::OfferBelowFloor { .. }) => {
            say("\n3. Lumen Lab tries to post 2.00 EUR for 15 minutes; its own node refuses:");
            say(format!("   {msg}"));
        }
        other => bail!("an offer under the floor was not refused: {other:?}"),
    }
    let forged = forge_cheap_offer(&ms[LUMEN], cid).await?;
    let mut refused = 0;
    for m in &ms[..LUMEN] {
        let v = Unverified::decode(&forged)?.verify()?;
        let out = m.node.net().ingest(cid, vec![v], false).await?;
        if matches!(out.first(), Some(Ingest::Rejected(_))) {
            refused += 1;
        }
    }
    say(format!(
        "   the same offer, signed and sent straight to the members' nodes: rejected by {refused} of {LUMEN} (never stored, never relayed)"
    ));
    if refused != LUMEN {
        bail!("an offer under the floor was accepted by a node");
    }

    // 4. Fair offers.
    let o1 = ms[LUMEN]
        .node
        .post_offer(
            cid,
            PostOffer {
                title: "Transcribe 20 voice notes in Levantine Arabic".into(),
                description: "Short voice notes from fishermen; write what is said, word for word."
                    .into(),
                purpose:
                    "Subtitles for a documentary about Gaza's fishermen, by an independent studio"
                        .into(),
                pay: "4.00EUR".into(),
                minutes: 15,
                assignments: Some(2),
                expires_in_ms: None,
                review_window_ms: Some(60 * 60 * 1000),
                claim_window_ms: Some(CLAIM_WINDOW_MS),
            },
        )
        .await
        .map_err(api_err)?;
    let o2 = ms[LUMEN]
        .node
        .post_offer(
            cid,
            PostOffer {
                title: "Check 30 subtitle timings".into(),
                description: "Mark the lines that appear too early or too late.".into(),
                purpose: "The same documentary's French version".into(),
                pay: "2.60EUR".into(),
                minutes: 12,
                assignments: Some(1),
                expires_in_ms: None,
                review_window_ms: Some(SHORT_REVIEW_MS),
                claim_window_ms: Some(CLAIM_WINDOW_MS),
            },
        )
        .await
        .map_err(api_err)?;
    converge(&ms, cid, "the offers to reach every node").await?;
    let offers = ms[1]
        .node
        .offers(cid, &OfferFilter::default())
        .await
        .map_err(api_err)?
        .0;
    say("\n4. Lumen Lab posts two fair offers; every member's node shows them with their purpose:");
    for o in offers.iter().rev() {
        say(format!(
            "   \"{}\": {} for {} min ({}/h, floor {}/h), {} place(s)\n     purpose: {}",
            o.title,
            o.pay.text,
            o.minutes,
            o.hourly.text,
            o.floor.as_ref().map_or("?".into(), |f| f.text.clone()),
            o.assignments,
            o.purpose
        ));
    }

    // 5. Claims and the lottery.
    let (o1, o2) = (id(&o1.id)?, id(&o2.id)?);
    for m in &ms[..3] {
        m.node.claim(cid, o1).await.map_err(api_err)?;
    }
    for i in [1, 3] {
        ms[i].node.claim(cid, o2).await.map_err(api_err)?;
    }
    say(format!(
        "\n5. Amal, Karim and Sara claim the first; Karim and Nour the second. Claims close after {} s,",
        CLAIM_WINDOW_MS / 1000
    ));
    say("   then Lumen Lab's node draws the lottery: each offer committed to a secret kept on Lumen Lab's node,");
    say("   the Assign reveals it, and the secret with every claim's id seeds the draw (claiming first gains");
    say("   nothing, and neither the requester nor a member could know the ranking in advance)");
    say(format!(
        "   (the demo skips ahead {} s over the claim window)",
        CLAIM_WINDOW_MS / 1000
    ));
    // The draw is over the claims the requester's node holds when the window closes: let
    // every claim reach it before the demo's clock skips past the close.
    wait_for("every claim to reach Lumen Lab's node", || async {
        let (os, _) = ms[LUMEN]
            .node
            .offers(cid, &OfferFilter::default())
            .await
            .map_err(api_err)?;
        let held = |o: Id| os.iter().find(|x| x.id == o.to_hex()).map(|x| x.claims);
        Ok((held(o1) == Some(3) && held(o2) == Some(2)).then_some(()))
    })
    .await?;
    SKIPPED_MS.fetch_add(
        CLAIM_WINDOW_MS + crate::service::ASSIGN_GRACE_MS + 1_000,
        Ordering::SeqCst,
    );
    let policy = tokio::spawn(crate::daemon::policy(ms[LUMEN].node.clone()));
    let assigned = wait_for("the lottery to be drawn on every node", || async {
        for m in &ms {
            let (os, _) = m
                .node
                .offers(cid, &OfferFilter::default())
                .await
                .map_err(api_err)?;
            if os.iter().any(|o| o.state != "assigned") {
                return Ok(None);
            }
        }
        Ok(Some(
            ms[0]
                .node
                .offers(cid, &OfferFilter::default())
                .await
                .map_err(api_err)?
                .0,
        ))
    })
    .await?;
    policy.abort();
    let winners_of = |o: Id| -> Vec<String> {
        assigned
            .iter()
            .find(|x| x.id == o.to_hex())
            .map(|x| x.winners.clone())
            .unwrap_or_default()
    };
    let (w1, w2) = (winners_of(o1), winners_of(o2));
    if w1.len() != 2 || w2.len() != 1 {
        bail!("the lottery named {} and {} winners", w1.len(), w2.len());
    }
    say(format!(
        "   winners: {} (first offer), {} (second)",
        w1.iter()
            .map(|k| name_of(k))
            .collect::<Vec<_>>()
            .join(" and "),
        w2.iter().map(|k| name_of(k)).collect::<Vec<_>>().join(", ")
    ));

    // 6. Work and private result transfer.
    say("\n6. The winners work and submit; each result file goes privately to Lumen Lab's node,");
    say("   only its blake3 hash and size are signed and gossiped");
    let idx = |k: &str| keys.iter().position(|p| p.to_hex() == k).unwrap_or(0);
    let mut subs = Vec::new();
    for (n, (offer, w, minutes)) in [(o1, &w1[0], 40u32), (o1, &w1[1], 45), (o2, &w2[0], 12)]
        .into_iter()
        .enumerate()
    {
        let i = idx(w);
        let file = format!(
            "result {} by {}: {} lines of careful work\n",
            n + 1,
            names[i],
            300 + 40 * n
        )
        .into_bytes();
        let s = ms[i]
            .node
            .submit(cid, offer, minutes, file.clone())
            .await
            .map_err(api_err)?;
        say(format!(
            "   {} submits after {minutes} min ({} bytes, blake3 {})",
            names[i],
            file.len(),
            Hash::of(&file).short()
        ));
        subs.push((id(&s.id)?, i, file));
    }
    for (s, _, file) in &subs {
        let got = wait_for("a result to reach the requester", || async {
            match ms[LUMEN].node.result(cid, *s).await {
                Ok(b) => Ok(Some(b)),
                Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(api_err(e)),
            }
        })
        .await?;
        if got != *file {
            bail!("the requester received different bytes than were sent");
        }
    }
    converge(&ms, cid, "the submissions to reach every node").await?;
    say("   Lumen Lab's node received all three files and checked each against its signed hash");

    // 7. Review: accept, reject with a reason, and one left to the default.
    ms[LUMEN]
        .node
        .accept(cid, subs[0].0)
        .await
        .map_err(api_err)?;
    let reason = "Notes 17 to 20 are missing from the transcript.";
    ms[LUMEN]
        .node
        .reject(cid, subs[1].0, reason.into())
        .await
        .map_err(api_err)?;
    say(format!(
        "\n7. Lumen Lab accepts {}'s transcript and rejects {}'s, with its reason: \"{reason}\"",
        names[subs[0].1], names[subs[1].1]
    ));
    // The top-up, and how it was computed (docs/protocol.md: credited minutes are
    // min(reported, max(estimate x cap, the median of the minutes reported on the offer))).
    let (sv, _) = ms[LUMEN]
        .node
        .submissions(cid, &SubmissionFilter::default())
        .await
        .map_err(api_err)?;
    let s0 = sv
        .iter()
        .find(|x| x.id == subs[0].0.to_hex())
        .ok_or_else(|| anyhow!("the accepted submission is not listed"))?;
    let cur = s0.pay.currency.as_str();
    let floor = coop.floors.first().map_or(0, |f| f.minor);
    let cap_pct = coop.limits.get("topup_cap_pct").copied().unwrap_or(200);
    let (estimate, reported, median) = (15u64, 40u64, 40u64);
    let cap = estimate * cap_pct / 100;
    let credited = reported.min(cap.max(median));
    let due = (floor * credited).div_ceil(60);
    let want = due.saturating_sub(s0.pay.minor);
    if s0.topup.minor != want {
        bail!(
            "the node computed a top-up of {}, the demo {want}",
            s0.topup.text
        );
    }
    say(format!(
        "   both estimated at 15 min, {} reported 40 min and {} 45: the top-up credits at least the median",
        names[subs[0].1], names[subs[1].1]
    ));
    say(format!(
        "   of the minutes reported on the offer (40), above the cap of {cap_pct} % of the estimate ({cap} min):"
    ));
    say(format!(
        "   credited min(40 reported, max({cap} cap, 40 median)) = {credited} min at the floor {} {cur}/h = {} {cur},",
        format_in(floor, cur),
        format_in(due, cur)
    ));
    say(format!(
        "   minus the pay {}: median-minutes top-up {} for {}",
        s0.pay.text, s0.topup.text, names[subs[0].1]
    ));
    say(format!(
        "   nobody reviews {}'s work; its {} s review window passes...",
        names[subs[2].1],
        SHORT_REVIEW_MS / 1000
    ));
    wait_for("the review window to pass", || async {
        let (s, _) = ms[LUMEN]
            .node
            .submissions(cid, &SubmissionFilter::default())
            .await
            .map_err(api_err)?;
        Ok(s.iter()
            .any(|x| x.id == subs[2].0.to_hex() && x.review == "accepted-by-default")
            .then_some(()))
    })
    .await?;
    say("   ...and it is accepted by default: a requester cannot keep work unpaid by ignoring it");

    // 8. The rejected member appeals; a jury upholds it.
    converge(&ms, cid, "the verdicts to reach every node").await?;
    appeal_upheld(&ms, &names, cid, subs[1].0, subs[1].1).await?;

    // 9. Payments and receipts, a review.
    converge(&ms, cid, "the verdicts to reach every node").await?;
    let balances = ms[LUMEN].node.balances(cid).await.map_err(api_err)?;
    say("\n9. Lumen Lab pays outside the system (mobile money) and records each payment; only a payment the");
    say("   member confirms lowers what is owed");
    let mut n = 0;
    let owed: Vec<&BalanceView> = balances.iter().filter(|b| b.owed.minor > 0).collect();
    for (k, b) in owed.iter().enumerate() {
        let i = idx(&b.member);
        let amount = format!(
            "{}{}",
            format_in(b.owed.minor, &b.owed.currency),
            b.owed.currency
        );
        // The last payment first goes astray: the member answers "not received", the
        // requester's record shows it, what is owed stays owed; then the money arrives.
        if k + 1 == owed.len() {
            n += 1;
            let s = ms[LUMEN]
                .node
                .pay(
                    cid,
                    PayReq {
                        member: b.member.clone(),
                        amount: amount.clone(),
                        reference: format!("mobile-money #{} (wrong number)", 48_000 + n),
                    },
                )
                .await
                .map_err(api_err)?;
            converge(&ms, cid, "the payment to reach the member").await?;
            let r = ms[LUMEN]
                .node
                .record(cid, keys[LUMEN])
                .await
                .map_err(api_err)?;
            say(format!(
                "   Lumen Lab records {} paid to {}: claimed paid, not confirmed {}; still owed {}",
                b.owed.text,
                names[i],
                r.unconfirmed
                    .iter()
                    .map(|a| a.text.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.unpaid
                    .iter()
                    .map(|a| a.text.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            ms[i]
                .node
                .confirm(cid, id(&s.id)?, false)
                .await
                .map_err(api_err)?;
            converge(&ms, cid, "the answer to reach the requester").await?;
            let r = ms[0].node.record(cid, keys[LUMEN]).await.map_err(api_err)?;
            say(format!(
                "   {} answers \"not received\": Lumen Lab's record shows {} payment(s) not received, and {} still owed",
                names[i],
                r.not_received,
                r.unpaid
                    .iter()
                    .map(|a| a.text.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        n += 1;
        let s = ms[LUMEN]
            .node
            .pay(
                cid,
                PayReq {
                    member: b.member.clone(),
                    amount,
                    reference: format!("mobile-money #{}", 48_000 + n),
                },
            )
            .await
            .map_err(api_err)?;
        converge(&ms, cid, "the payment to reach the member").await?;
        ms[i]
            .node
            .confirm(cid, id(&s.id)?, true)
            .await
            .map_err(api_err)?;
        say(format!(
            "   {} paid {} ({} + top-up {}), confirmed by {}",
            names[i], b.owed.text, b.earned.text, b.topup.text, names[i]
        ));
    }
    converge(&ms, cid, "the receipts to reach every node").await?;
    let r = ms[0].node.record(cid, keys[LUMEN]).await.map_err(api_err)?;
    if !r.unpaid.is_empty() {
        bail!("confirmed payments left something owed: {:?}", r.unpaid);
    }
    say(format!(
        "   Lumen Lab's record now: nothing owed, {} payment(s) once answered \"not received\"",
        r.not_received
    ));
    ms[subs[0].1]
        .node
        .review(
            cid,
            ReviewReq {
                requester: keys[LUMEN].to_hex(),
                pay: 5,
                fairness: 4,
                promptness: 5,
                communication: 5,
                text: "Clear purpose, paid the same day, gave a reason for the rejection.".into(),
            },
        )
        .await
        .map_err(api_err)?;
    say(format!("   {} reviews Lumen Lab", names[subs[0].1]));
    converge(&ms, cid, "everything to reach every node").await?;
    second_phone(dir, &ms, cid, &invite.invite, &boot).await?;

    // 10. Every node holds the same ledger; an auditor verifies it offline.
    let mut exports = Vec::new();
    let mut sets = Vec::new();
    for m in &ms {
        let bytes = m.node.export(cid).await.map_err(api_err)?;
        sets.push(envelopes(&bytes)?);
        exports.push(bytes);
    }
    if sets.windows(2).any(|w| w[0] != w[1]) {
        bail!("nodes hold different entries");
    }
    let file = dir.join("coop.taawun");
    std::fs::write(&file, &exports[0]).with_context(|| format!("writing {}", file.display()))?;
    let summary = taawun_ledger::verify::verify(&exports[0][..])?;
    say(format!(
        "\n10. Every node holds the same {} signed entries, byte for byte (each in the order it heard them);\n   an auditor verifies one node's export offline ({}):",
        sets[0].len(),
        file.display()
    ));
    for line in summary.to_string().lines() {
        say(format!("   {line}"));
    }
    if !summary.is_clean() {
        bail!("the exported ledger does not verify");
    }

    // 11. The summary.
    let (subs_view, _) = ms[0]
        .node
        .submissions(cid, &SubmissionFilter::default())
        .await
        .map_err(api_err)?;
    let bal = ms[0].node.balances(cid).await.map_err(api_err)?;
    let floor = coop.floors.first().map_or(0, |f| f.minor);
    // The demo's cooperative has one floor, in euros.
    let cur = coop.floors.first().map_or("EUR", |f| f.currency.as_str());
    let cap_pct = coop.limits.get("topup_cap_pct").copied().unwrap_or(200);
    // The minutes the floor is owed for (the top-up rule): those reported, up to the
    // larger of the cap (a share of the estimate) and the median of the minutes reported
    // on the offer.
    let credited = |s: &SubmissionView| -> u64 {
        let estimate = assigned
            .iter()
            .find(|o| o.id == s.offer)
            .map_or(0, |o| u64::from(o.minutes));
        let mut reported: Vec<u64> = subs_view
            .iter()
            .filter(|x| x.offer == s.offer)
            .map(|x| u64::from(x.minutes))
            .collect();
        reported.sort_unstable();
        let median = reported
            .get(reported.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0);
        u64::from(s.minutes).min((estimate * cap_pct / 100).max(median))
    };
    say("\n11. Summary (every figure recomputed from signed entries)");
    say(format!(
        "   {:<8} {:>5} {:>9} {:>12} {:>9} {:>13}",
        "member", "tasks", "accepted", "earned", "credited", "rate/h"
    ));
    for (i, name) in names.iter().enumerate().take(LUMEN) {
        let mine: Vec<&SubmissionView> = subs_view
            .iter()
            .filter(|s| s.member == keys[i].to_hex())
            .collect();
        // Work upheld on appeal counts as accepted work.
        let accepted: Vec<&&SubmissionView> = mine
            .iter()
            .filter(|s| s.review.starts_with("accepted") || s.review == "upheld-on-appeal")
            .collect();
        let earned: u64 = bal
            .iter()
            .filter(|b| b.member == keys[i].to_hex())
            .map(|b| b.earned.minor + b.topup.minor)
            .sum();
        let minutes: u64 = accepted.iter().map(|s| credited(s)).sum();
        let rate = (earned * 60).checked_div(minutes);
        say(format!(
            "   {:<8} {:>5} {:>9} {:>12} {:>9} {:>13}",
            name,
            mine.len(),
            accepted.len(),
            format!("{} {cur}", format_in(earned, cur)),
            minutes,
            rate.map_or("-".into(), |r| format!(
                "{} {cur}{}",
                format_in(r, cur),
                if r >= floor { "" } else { " (!)" }
            ))
        ));
    }
    say(format!(
        "   floor {} {cur}/h; every accepted task paid at least the floor for its credited minutes (those",
        format_in(floor, cur)
    ));
    say(format!(
        "   reported, up to the larger of {cap_pct} % of the estimate and the median reported on the offer)"
    ));
    let r = ms[0].node.record(cid, keys[LUMEN]).await.map_err(api_err)?;
    say(format!(
        "   appeals against Lumen Lab's rejections: {}, upheld {}, dismissed {} (its record); the upheld work was paid",
        r.appeals, r.appeals_upheld, r.appeals_dismissed
    ));
    say(format!(
        "   total platform cut: {} {cur} (there is no platform)",
        format_in(0, cur)
    ));

    for m in &ms {
        m.node.net().shutdown().await.ok();
    }
    for m in ms {
        let _ = m.task.await;
    }
    say(format!(
        "\nDone in {:.1} s. Audit it yourself: taawun ledger verify {}",
        t0.elapsed().as_secs_f64(),
        file.display()
    ));
    Ok(())
}

/// Step 8: the member whose work was rejected (`worker`, its submission `sub`) appeals
/// with an answer; the requester replies once; a member who is not a party witnesses the
/// appeal (its tick seeds the draw); once the witness slack has passed the jury sits (one
/// juror: the only member who is neither a party nor claimed the same offer), its node
/// receives the result privately, and the juror upholds. The rejection is void, the work
/// counts as accepted (its pay and top-up owed, paid in step 9) and the requester's
/// record shows the appeal upheld.
async fn appeal_upheld(
    ms: &[Member],
    names: &[&str],
    cid: Id,
    sub: Id,
    worker: usize,
) -> Result<()> {
    const NOUR: usize = 3;
    const LUMEN: usize = 4;
    let answer =
        "All 20 notes are there: 17 to 20 came in a separate file, transcribed at the end.";
    let w = ms[worker]
        .node
        .appeal(cid, sub, answer.into())
        .await
        .map_err(api_err)?;
    let appeal = id(&w.id)?;
    say(format!(
        "\n8. {} appeals the rejection, with an answer: \"{answer}\"",
        names[worker]
    ));
    converge(ms, cid, "the appeal to reach every node").await?;
    let reply = "We had asked for one transcript in the order of the notes.";
    ms[LUMEN]
        .node
        .reply(cid, appeal, reply.into())
        .await
        .map_err(api_err)?;
    say(format!("   Lumen Lab replies, once: \"{reply}\""));
    converge(ms, cid, "the reply to reach every node").await?;
    // As every member's node does on its policy tick: a member who is not a party
    // witnesses the appeal. Its tick's id seeds the draw, with the rejection's and the
    // appeal's, so neither party can steer who judges.
    let witness = (0..NOUR).find(|i| *i != worker).unwrap_or(NOUR);
    if ms[witness]
        .node
        .witness_due()
        .await
        .map_err(api_err)?
        .is_empty()
    {
        bail!("no member's node witnessed the appeal");
    }
    converge(ms, cid, "the witness to reach every node").await?;
    let listed = ms[NOUR].node.appeals(cid, false).await.map_err(api_err)?;
    match listed.iter().find(|a| a.id == appeal.to_hex()) {
        Some(a) if a.outcome == "drawing" => {}
        other => bail!("the appeal is not being drawn: {other:?}"),
    }
    say(format!(
        "   {}'s node witnesses the appeal; the jury is drawn by lottery from the members who are not",
        names[witness]
    ));
    say("   parties and did not claim the same offer, seeded by the rejection, the appeal and its witnesses,");
    say(format!(
        "   and sits once the {}-minute witness slack has passed (the demo skips ahead)",
        WITNESS_SLACK_MS / 60_000
    ));
    SKIPPED_MS.fetch_add(JURY_SKIP_MS, Ordering::SeqCst);
    // The member's node sends the result to each seated juror's node at its next round.
    let case = wait_for(
        "the juror's seat and the result to reach her node",
        || async {
            let mine = ms[NOUR].node.appeals(cid, true).await.map_err(api_err)?;
            Ok(mine
                .into_iter()
                .find(|a| a.id == appeal.to_hex() && a.result_here))
        },
    )
    .await?;
    let file = ms[NOUR].node.result(cid, sub).await.map_err(api_err)?;
    say(format!(
        "   the jury sits: {} holds the seat; her node received the result privately ({} bytes) and shows",
        names[NOUR],
        file.len()
    ));
    say(format!(
        "   the reason, {}'s answer and Lumen Lab's reply (\"{}\")",
        names[worker],
        case.reply.as_deref().unwrap_or("")
    ));
    ms[NOUR]
        .node
        .verdict(cid, appeal, true)
        .await
        .map_err(api_err)?;
    converge(ms, cid, "the vote to reach every node").await?;
    let upheld = wait_for("the appeal to be upheld on Lumen Lab's node", || async {
        let all = ms[LUMEN].node.appeals(cid, false).await.map_err(api_err)?;
        Ok(all
            .into_iter()
            .find(|a| a.id == appeal.to_hex() && a.outcome == "upheld"))
    })
    .await?;
    let (sv, _) = ms[LUMEN]
        .node
        .submissions(cid, &SubmissionFilter::default())
        .await
        .map_err(api_err)?;
    let s = sv
        .iter()
        .find(|x| x.id == sub.to_hex())
        .ok_or_else(|| anyhow!("the appealed submission is not listed"))?;
    if s.review != "upheld-on-appeal" {
        bail!("the appealed work is {}, not upheld", s.review);
    }
    say(format!(
        "   {} votes to uphold ({} of {} needed): the appeal is upheld, the rejection is void and {}'s work",
        names[NOUR], upheld.uphold, upheld.majority, names[worker]
    ));
    say(format!(
        "   counts as accepted: its pay {} and top-up {} are owed",
        s.pay.text, s.topup.text
    ));
    let r = ms[0]
        .node
        .record(cid, ms[LUMEN].node.me())
        .await
        .map_err(api_err)?;
    if (r.appeals, r.appeals_upheld) != (1, 1) {
        bail!(
            "the requester's record shows {} appeal(s), {} upheld",
            r.appeals,
            r.appeals_upheld
        );
    }
    say(format!(
        "   Lumen Lab's record: appeals {}, upheld {}",
        r.appeals, r.appeals_upheld
    ));
    Ok(())
}

/// Step 9b: Nour authorises a second phone; its node enrolls and writes for her (a
/// review that counts as Nour's); she revokes it (a lost phone), and what the phone signs
/// afterwards counts for nobody. The phone is not among `ms`: once revoked, the members'
/// nodes stop serving it the ledger, so it does not take part in step 10's comparison.
async fn second_phone(
    dir: &Path,
    ms: &[Member],
    cid: Id,
    invite: &str,
    boot: &taawun_net::libp2p::Multiaddr,
) -> Result<()> {
    const NOUR: usize = 3;
    let nour = &ms[NOUR];
    let phone = start(dir, "Nour phone", vec![boot.clone()]).await?;
    datadir::write_device_of(&phone.dir, &nour.node.me())?;
    let key = phone.node.me();
    phone.node.join(invite).await.map_err(api_err)?;
    nour.node
        .add_device(
            cid,
            AddDevice {
                key: key.to_hex(),
                label: "second phone".into(),
            },
        )
        .await
        .map_err(api_err)?;
    say(format!(
        "\n9b. Nour authorises a second phone (its own key {}, its own chain and data folder {});",
        key.short(),
        phone.dir.display()
    ));
    // As the daemon's policy does: the phone enrolls once it holds its authorisation and
    // a peer confirmed its (empty) chain.
    wait_for("the phone to enroll", || async {
        let done = phone.node.enroll_due().await.map_err(api_err)?;
        Ok((!done.is_empty()).then_some(()))
    })
    .await?;
    let review = |text: &str| ReviewReq {
        requester: ms[4].node.me().to_hex(),
        pay: 5,
        fairness: 5,
        promptness: 4,
        communication: 5,
        text: text.into(),
    };
    let w = phone
        .node
        .review(cid, review("Written from my second phone."))
        .await
        .map_err(api_err)?;
    // The phone is not among `ms`: wait for its review to reach the others first.
    let nour_key = nour.node.me().to_hex();
    // Read on Lumen Lab's node: the review's text is sealed to Nour and Lumen Lab.
    wait_for("the phone's review to count as Nour's", || async {
        let r = ms[4]
            .node
            .record(cid, ms[4].node.me())
            .await
            .map_err(api_err)?;
        Ok(r.comments
            .iter()
            .any(|c| {
                c.member == nour_key
                    && c.text
                        .as_deref()
                        .is_some_and(|t| t.contains("second phone"))
            })
            .then_some(()))
    })
    .await?;
    converge(ms, cid, "the phone's review to reach every node").await?;
    say(format!(
        "    the phone enrolls and reviews Lumen Lab (entry {}): every node counts it as Nour's",
        &w.id[..12]
    ));
    nour.node.revoke_device(cid, key).await.map_err(api_err)?;
    converge(ms, cid, "the revocation to reach every node").await?;
    let listed = nour.node.devices(cid).await.map_err(api_err)?;
    if !listed
        .iter()
        .any(|d| d.key == key.to_hex() && d.revoked_at.is_some())
    {
        bail!("the phone is not listed as revoked");
    }
    say("    the phone is lost: Nour revokes it from her laptop; nothing it signs from then on counts");
    let reviews = |r: &RecordView| r.reviews;
    let before = ms[4]
        .node
        .record(cid, ms[4].node.me())
        .await
        .map_err(api_err)?;
    match phone
        .node
        .review(cid, review("Signed after the phone was revoked."))
        .await
    {
        Err(e) => say(format!(
            "    the phone tries again; its own node refuses: {e}"
        )),
        Ok(late) => {
            // Signed and valid as an entry (a node that has not heard of the revocation
            // cannot tell), but every node that holds the revocation counts it for
            // nobody: hand it to Amal's node, as gossip would, and read her record.
            let bytes = phone.node.export(cid).await.map_err(api_err)?;
            let entry = envelopes(&bytes)?
                .into_iter()
                .map(|b| -> Result<taawun_core::Verified> {
                    Ok(taawun_core::entry::check_envelope(&b).result()?)
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .find(|v| v.id().to_hex() == late.id)
                .ok_or_else(|| anyhow!("the phone's late entry is not in its export"))?;
            ms[0].node.net().ingest(cid, vec![entry], false).await?;
            converge(ms, cid, "the phone's late review to reach every node").await?;
            let after = ms[4]
                .node
                .record(cid, ms[4].node.me())
                .await
                .map_err(api_err)?;
            if reviews(&after) != reviews(&before)
                || after
                    .comments
                    .iter()
                    .any(|c| c.text.as_deref().is_some_and(|t| t.contains("revoked")))
            {
                bail!("a review signed by a revoked phone counted");
            }
            say(format!(
                "    the phone signs another review (entry {}); no node counts it: Lumen Lab's record still shows {} review(s)",
                &late.id[..12],
                reviews(&after)
            ));
        }
    }
    phone.node.net().shutdown().await.ok();
    let _ = phone.task.await;
    Ok(())
}

/// The requester's next chain entry: an offer under the floor, signed but never
/// validated by its own node (as a modified node would send it).
async fn forge_cheap_offer(m: &Member, coop: Id) -> Result<Vec<u8>> {
    use taawun_core::body::{Body, Offer};
    let heads = m.node.net().heads(coop).await?;
    let head = heads
        .iter()
        .find(|(k, _)| *k == m.node.me())
        .map(|(_, h)| *h);
    let key = datadir::load_key(&m.dir)?;
    let now = demo_clock();
    let v = taawun_core::writer::Writer::new(key, Some(coop), head).next(
        Body::Offer(Offer {
            title: "Transcribe 20 voice notes".into(),
            description: String::new(),
            purpose: "Subtitles".into(),
            pay: taawun_core::Money::new("EUR", 200),
            minutes: 15,
            assignments: 1,
            expires_at: now + 24 * 3600 * 1000,
            review_window_ms: SHORT_REVIEW_MS,
            claim_window_ms: CLAIM_WINDOW_MS,
            commit: taawun_core::lottery::commit(&Hash([0; 32])),
        }),
        now,
        head.and_then(|h| h.gov),
    );
    Ok(v.envelope().to_vec())
}

/// The envelopes of an export file, sorted: two nodes' exports list the same entries in
/// the order each node heard them.
fn envelopes(export: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut items = taawun_ledger::export::Items::new(export);
    items.header()?;
    let mut out = Vec::new();
    while let Some(item) = items.next_item()? {
        out.push(
            item.raw
                .map_err(|e| anyhow!("unreadable item in an export: {e:?}"))?,
        );
    }
    out.sort();
    Ok(out)
}
