//! `taawun demo`: a small cooperative doing real work end to end, on an embedded default.
//!
//! Four nodes (three members and a requester), each with its own key and its own sled
//! ledger on disk, found a cooperative, refuse an offer under the floor, run the claim
//! lottery, pass a result privately from worker to requester, accept, pay with a top-up,
//! confirm and review. Every entry a node writes is handed as raw envelope bytes to every
//! other node, which decodes, verifies and validates it on its own, as it would from the
//! network. At the end every node holds the same ledger, byte for byte.

use crate::datadir::LEDGER_DIR;
use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use taawun_core::body::*;
use taawun_core::money::{format_minor, hourly_rate};
use taawun_core::rules::default_limits;
use taawun_core::writer::Writer;
use taawun_core::{Hash, Money, PublicKey, Timestamp, Unverified, Verified};
use taawun_ledger::{AppendError, CoopLedger, Ingest, Ledger};

const MIN: u64 = 60_000;

struct Node {
    name: &'static str,
    key: SigningKey,
    ledger: CoopLedger,
    /// Results received privately (requester side), by hash.
    inbox: BTreeMap<Hash, Vec<u8>>,
}

struct Demo {
    nodes: Vec<Node>,
    now: Timestamp,
}

fn say(s: &str) {
    println!("{s}");
}

fn eur(minor: u64) -> String {
    format!("{} EUR", format_minor(minor))
}

impl Demo {
    /// Node `i` writes `body`; every other node receives the bytes and judges them.
    fn write(&mut self, i: usize, body: Body) -> Result<Verified> {
        self.now += MIN;
        let now = self.now;
        let n = &mut self.nodes[i];
        let v = n
            .ledger
            .append(&n.key, body, now, None)
            .map_err(|e| anyhow::anyhow!("{} could not write: {e}", n.name))?;
        self.deliver(i, &v.envelope())?;
        Ok(v)
    }

    /// Hands envelope bytes from node `from` to every other node, as gossip would.
    fn deliver(&mut self, from: usize, envelope: &[u8]) -> Result<()> {
        let now = self.now;
        for (j, n) in self.nodes.iter_mut().enumerate() {
            if j == from {
                continue;
            }
            let v = Unverified::decode(envelope)
                .context("decoding a received entry")?
                .verify()
                .context("verifying a received entry")?;
            match n.ledger.ingest(v, Some(now))? {
                Ingest::Stored { .. } => {}
                other => bail!("{} did not store a valid entry: {other:?}", n.name),
            }
        }
        Ok(())
    }
}

/// Runs the demo in `dir` (created afresh).
pub(crate) fn run(dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join("taawun-demo"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("clearing the demo folder {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1_790_000_000_000);

    say("taawun demo: a cooperative of four nodes, each with its own key and ledger on disk\n");
    let names = ["Amal", "Karim", "Sara", "Lumen Lab"];
    let keys: Vec<SigningKey> = names
        .iter()
        // Demo identities derived from the names, so every run tells the same story.
        .map(|n| SigningKey::from_bytes(Hash::of(n.as_bytes()).as_bytes()))
        .collect();
    let pks: Vec<PublicKey> = keys
        .iter()
        .map(|k| PublicKey(k.verifying_key().to_bytes()))
        .collect();
    let floor = 1250; // 12.50 EUR per hour
    let charter = Writer::new(keys[0].clone(), None, None).next(
        Body::Charter(Charter {
            name: "Sumud Transcribers' Cooperative".into(),
            members: pks[..3].to_vec(),
            requesters: vec![pks[3]],
            quorum_pct: 50,
            floors: [("EUR".to_string(), floor)].into_iter().collect(),
            limits: default_limits(),
        }),
        start,
        None,
    );
    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let path = node_dir(&dir, name);
        let ledger = Ledger::open(&path.join(LEDGER_DIR))
            .with_context(|| format!("opening {}'s ledger", name))?;
        let received = Unverified::decode(&charter.envelope())?.verify()?;
        let coop = ledger.found(received)?;
        nodes.push(Node {
            name,
            key: keys[i].clone(),
            ledger: coop,
            inbox: BTreeMap::new(),
        });
        say(&format!(
            "  node {:<10} key {}  data {}",
            name,
            pks[i].short(),
            path.display()
        ));
    }
    let mut d = Demo { nodes, now: start };
    say(&format!(
        "\n1. Amal founds \"Sumud Transcribers' Cooperative\" (id {}): members Amal, Karim, Sara; requester Lumen Lab; floor {}/h",
        charter.id().short(),
        eur(floor)
    ));

    // 2. An offer under the floor is refused by the requester's own node...
    let cheap = offer(200, 15, start);
    match d.nodes[3].ledger.append(&keys[3], Body::Offer(cheap.clone()), d.now + MIN, None) {
        Err(AppendError::Invalid(e)) => say(&format!(
            "\n2. Lumen Lab tries to post 2.00 EUR for 15 minutes (8.00 EUR/h): refused by its own node:\n   {e}"
        )),
        other => bail!("an offer under the floor was not refused: {other:?}"),
    }
    // ...and a forged copy sent straight to other nodes is rejected by every one of them.
    let head = d.nodes[3].ledger.head(&pks[3])?;
    let forged = Writer::new(keys[3].clone(), Some(charter.id()), head)
        .next(Body::Offer(cheap), d.now + MIN, None)
        .envelope();
    let mut refusals = 0;
    for n in d.nodes.iter_mut().take(3) {
        let v = Unverified::decode(&forged)?.verify()?;
        if let Ingest::Rejected(_) = n.ledger.ingest(v, Some(d.now + MIN))? {
            refusals += 1;
        }
    }
    say(&format!(
        "   the same offer sent directly to the members' nodes: rejected by {refusals} of 3 (never stored, never relayed)"
    ));

    // 3. A fair offer.
    let fair = offer(400, 15, start);
    let o = d.write(3, Body::Offer(fair.clone()))?;
    say(&format!(
        "\n3. Lumen Lab posts \"{}\": {} for {} min ({}/h), {} assignments\n   purpose: {}",
        fair.title,
        eur(fair.pay.minor),
        fair.minutes,
        eur(hourly_rate(fair.pay.minor, fair.minutes).unwrap_or(0)),
        fair.assignments,
        fair.purpose
    ));

    // 4. Claims, then the lottery once the claim window has closed.
    let mut claims = Vec::new();
    for (i, member) in pks.iter().enumerate().take(3) {
        let c = d.write(i, Body::Claim(Claim { offer: o.id() }))?;
        claims.push((c.id(), *member));
    }
    say("\n4. Amal, Karim and Sara claim it; the claim window closes 10 minutes later");
    d.now = o.entry().ts + fair.claim_window_ms + MIN;
    let claimants: Vec<PublicKey> = claims.iter().map(|c| c.1).collect();
    let winners = taawun_core::lottery::winners(&o.id(), &claimants, fair.assignments);
    let a = d.write(
        3,
        Body::Assign(Assign {
            offer: o.id(),
            claims: claims.iter().map(|c| c.0).collect(),
            winners: winners.clone(),
        }),
    )?;
    let name_of = |k: &PublicKey| names[pks.iter().position(|p| p == k).unwrap_or(0)];
    say(&format!(
        "   lottery (lowest blake3(offer, member) wins, whoever claimed first): {}",
        winners.iter().map(name_of).collect::<Vec<_>>().join(", ")
    ));

    // 5. Work, private result transfer, submission.
    say("\n5. The winners do the work; each result goes privately to Lumen Lab, only its hash is signed");
    let mut subs = Vec::new();
    for (n, w) in winners.iter().enumerate() {
        let i = pks.iter().position(|p| p == w).unwrap_or(0);
        let minutes = if n == 0 { 15 } else { 25 };
        let result = format!(
            "transcript by {}: 20 voice notes, {} words\n",
            names[i],
            1800 + 100 * n
        )
        .into_bytes();
        let hash = Hash::of(&result);
        let s = d.write(
            i,
            Body::Submit(Submit {
                offer: o.id(),
                assign: a.id(),
                result: hash,
                size: result.len() as u64,
                minutes,
            }),
        )?;
        // The requester's node checks the bytes against the signed submission.
        if Hash::of(&result) != hash {
            bail!("result does not match its submission");
        }
        d.nodes[3].inbox.insert(hash, result);
        say(&format!(
            "   {} submits after {} minutes (result {} bytes, blake3 {})",
            names[i],
            minutes,
            d.nodes[3].inbox[&hash].len(),
            hash.short()
        ));
        subs.push((s, i));
    }

    // 6. Acceptance.
    for (s, _) in &subs {
        d.write(3, Body::Accept(Accept { submission: s.id() }))?;
    }
    say("\n6. Lumen Lab accepts both; the second worker reported 25 minutes against an estimate of 15,");
    say("   so the cooperative's rule owes a top-up to the floor for the real time");

    // 7. Payment, receipts, a review.
    let state = d.nodes[3].ledger.state()?;
    let owed: Vec<(PublicKey, u64)> = state
        .balances(d.now)
        .into_iter()
        .filter(|((r, _, _), _)| *r == pks[3])
        .map(|((_, m, _), b)| (m, b.owed()))
        .collect();
    say("\n7. Lumen Lab pays outside the system and records each payment; the members confirm");
    for (m, amount) in owed {
        let i = pks.iter().position(|p| *p == m).unwrap_or(0);
        let s = d.write(
            3,
            Body::Settle(Settle {
                member: m,
                amount: Money::new("EUR", amount),
                reference: format!("mobile-money #{}", 48_000 + i),
            }),
        )?;
        d.write(i, Body::Receipt(Receipt { settle: s.id() }))?;
        say(&format!("   {} paid {}, confirmed", names[i], eur(amount)));
    }
    let reviewer = subs[0].1;
    d.write(
        reviewer,
        Body::Review(Review {
            requester: pks[3],
            pay: 5,
            fairness: 5,
            promptness: 4,
            communication: 5,
            text: "Clear purpose, paid the same day.".into(),
        }),
    )?;
    say(&format!("   {} reviews Lumen Lab", names[reviewer]));

    // 8. Every node reached the same state; export and verify.
    say("\n8. What every node now holds");
    let exports: Vec<Vec<u8>> = d
        .nodes
        .iter()
        .map(|n| {
            let mut buf = Vec::new();
            n.ledger.export(&mut buf).map(|_| buf)
        })
        .collect::<Result<_, _>>()?;
    if exports.windows(2).any(|w| w[0] != w[1]) {
        bail!("nodes hold different ledgers");
    }
    let state = d.nodes[0].ledger.state()?;
    say(&format!(
        "   {} entries, identical on all {} nodes",
        d.nodes[0].ledger.len(),
        d.nodes.len()
    ));
    say("   balances (requester -> member): earned + top-up, paid, confirmed");
    for ((_, m, cur), b) in state.balances(d.now) {
        say(&format!(
            "     Lumen Lab -> {:<6} {} + {} {cur}, paid {}, confirmed {}",
            name_of(&m),
            format_minor(b.earned),
            format_minor(b.topup),
            format_minor(b.paid),
            format_minor(b.confirmed)
        ));
    }
    let rec = state.record(&pks[3], d.now);
    say(&format!(
        "   Lumen Lab's record: {} offer(s), {} accepted, {} rejected, effective rate {}/h, {} review(s)",
        rec.offers,
        rec.accepted + rec.accepted_by_default,
        rec.rejected,
        eur(rec.hourly_rate.get("EUR").copied().unwrap_or(0)),
        rec.reviews
    ));
    let file = dir.join("coop.taawun");
    std::fs::write(&file, &exports[0]).with_context(|| format!("writing {}", file.display()))?;
    let summary = taawun_ledger::verify::verify(&exports[0][..])?;
    say(&format!(
        "\n9. An auditor verifies the exported ledger offline: {}",
        file.display()
    ));
    for line in summary.to_string().lines() {
        say(&format!("   {line}"));
    }
    if !summary.is_clean() {
        bail!("the exported ledger does not verify");
    }
    say(&format!(
        "\nDone. Try: taawun ledger verify {}",
        file.display()
    ));
    Ok(())
}

fn node_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join(name.to_lowercase().replace(' ', "-"))
}

fn offer(pay: u64, minutes: u32, start: Timestamp) -> Offer {
    Offer {
        title: "Transcribe 20 voice notes in Levantine Arabic".into(),
        description: "Short voice notes from fishermen; write what is said, word for word.".into(),
        purpose: "Subtitles for a documentary about Gaza's fishermen, by an independent studio"
            .into(),
        pay: Money::new("EUR", pay),
        minutes,
        assignments: 2,
        expires_at: start + 7 * 24 * 60 * MIN,
        review_window_ms: 2 * 24 * 60 * MIN,
        claim_window_ms: 10 * MIN,
    }
}
