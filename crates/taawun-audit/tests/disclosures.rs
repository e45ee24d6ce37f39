//! Disclosures beside an export: an auditor given a member's export and its keys reads
//! the references of that member's payments and no others; a tampered key is reported,
//! never read; an export without disclosures still verifies, its sealed fields counted.

use ed25519_dalek::SigningKey;
use std::io::{Seek, Write};
use taawun_audit::{Options, BAD_DISCLOSURE};
use taawun_core::body::Body;
use taawun_core::seal::Reading;
use taawun_core::synth::{self, Params, Scenario};
use taawun_core::{PublicKey, Verified};
use taawun_ledger::disclose::Disclosures;
use taawun_ledger::export::header_bytes;

fn scenario() -> Scenario {
    synth::generate(&Params {
        seed: 21,
        members: 5,
        requesters: 2,
        entries: 400,
        start: 1_700_000_000_000,
    })
}

fn export(s: &Scenario) -> Vec<u8> {
    let mut out = header_bytes(&s.coop);
    for v in &s.entries {
        out.extend_from_slice(&v.envelope());
    }
    out
}

fn pk(k: &SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
}

/// The payments to `member`, with their references read by the member, and how many
/// sealed fields there are in all.
fn references_of(s: &Scenario, member: &SigningKey) -> (Vec<(String, String)>, usize) {
    let settles: Vec<&Verified> = s
        .entries
        .iter()
        .filter(|v| matches!(v.entry().body, Body::Settle(_)))
        .collect();
    let mine = settles
        .iter()
        .filter_map(|v| match &v.entry().body {
            Body::Settle(x) if x.member == pk(member) => match x.reference.read(&[member]) {
                Reading::Text(t) => Some((v.id().to_hex(), t)),
                other => panic!("the member cannot read its own reference: {other:?}"),
            },
            _ => None,
        })
        .collect();
    // Every sealed field of the ledger: payment references and review texts.
    let fields = s
        .entries
        .iter()
        .map(|v| v.entry().body.sealed_fields().len())
        .sum();
    assert!(fields > settles.len(), "the scenario has review texts too");
    (mine, fields)
}

fn audit(bytes: &[u8], d: Option<Disclosures>) -> taawun_audit::report::Report {
    let mut f = tempfile::tempfile().expect("temp file");
    f.write_all(bytes).expect("write");
    f.rewind().expect("rewind");
    let opts = Options {
        disclosures: d,
        ..Options::default()
    };
    taawun_audit::audit(f, "test", &opts, &mut |_| {}).expect("audits")
}

/// The member paid in the scenario's first payment.
fn a_paid_member(s: &Scenario) -> SigningKey {
    let paid = s
        .entries
        .iter()
        .find_map(|v| match &v.entry().body {
            Body::Settle(x) => Some(x.member),
            _ => None,
        })
        .expect("a payment");
    s.members
        .iter()
        .find(|k| pk(k) == paid)
        .expect("a member")
        .clone()
}

#[test]
fn an_auditor_given_a_members_export_reads_its_payment_references() {
    let s = scenario();
    let bytes = export(&s);
    let member = a_paid_member(&s);
    let (mine, all) = references_of(&s, &member);
    assert!(
        !mine.is_empty() && mine.len() < all,
        "some payments are others'"
    );

    let d = Disclosures::collect(&bytes[..], &[&member]).expect("collects");
    let d = Disclosures::parse(&d.to_bytes()).expect("round trips");
    let report = audit(&bytes, Some(d.clone()));
    assert!(report.is_clean(), "{report}");
    let read: Vec<(String, String)> = report
        .sealed
        .read
        .iter()
        .map(|r| (r.entry.clone(), r.text.clone()))
        .collect();
    // At least the member's payments (it may also be the payer of none): each beside
    // its payment, and the rest counted as sealed.
    for m in &mine {
        assert!(read.contains(m), "{m:?} not read");
    }
    assert_eq!(read.len() as u64 + report.sealed.unread, all as u64);
    assert!(report.sealed.bad.is_empty());
    let text = report.to_string();
    assert!(text.contains(&mine[0].1), "{text}");
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(
        json["sealed"]["read"].as_array().map(Vec::len),
        Some(read.len())
    );

    // `taawun ledger verify` reads the same.
    let mut summary = taawun_ledger::verify(&bytes[..]).expect("verifies");
    summary.disclose(&d);
    assert_eq!(summary.sealed.read.len(), read.len());
    assert_eq!(summary.sealed.unread, report.sealed.unread);
}

#[test]
fn a_tampered_disclosure_is_reported_not_read() {
    let s = scenario();
    let bytes = export(&s);
    let member = a_paid_member(&s);
    let mut d = Disclosures::collect(&bytes[..], &[&member]).expect("collects");
    let n = d.keys.len();
    // One key altered by a bit, one naming an entry the file does not hold, one not hex.
    let k = &mut d.keys[0];
    let first = k.entry.clone();
    let flipped = if k.key.starts_with('0') { "1" } else { "0" };
    k.key.replace_range(0..1, flipped);
    d.keys.push(taawun_ledger::disclose::Disclosed {
        entry: "ab".repeat(32),
        field: "reference".into(),
        key: "00".repeat(32),
    });
    d.keys[1].key = "not a key".into();

    let report = audit(&bytes, Some(d.clone()));
    assert!(
        report.is_clean(),
        "a disclosure breaks no rule of the ledger"
    );
    assert_eq!(report.sealed.read.len(), n - 2);
    assert_eq!(report.sealed.bad.len(), 3, "{:?}", report.sealed.bad);
    assert!(report.sealed.read.iter().all(|r| r.entry != first));
    assert!(report
        .sealed
        .bad
        .iter()
        .any(|b| b.entry == first && b.why.contains("does not match")));
    assert_eq!(report.notices.by_rule.get(BAD_DISCLOSURE), Some(&3));

    let mut summary = taawun_ledger::verify(&bytes[..]).expect("verifies");
    summary.disclose(&d);
    assert_eq!(summary.sealed.bad.len(), 3);
    assert!(summary.to_string().contains("bad disclosure"));
}

#[test]
fn an_export_without_disclosures_still_verifies() {
    let s = scenario();
    let bytes = export(&s);
    let (_, all) = references_of(&s, &a_paid_member(&s));
    let report = audit(&bytes, None);
    assert!(report.is_clean(), "{report}");
    assert!(report.sealed.read.is_empty());
    assert_eq!(report.sealed.unread, all as u64);
    let summary = taawun_ledger::verify(&bytes[..]).expect("verifies");
    assert!(summary.is_clean());
    assert_eq!(summary.sealed.unread, all as u64);
    // Disclosures of another cooperative open nothing.
    let member = a_paid_member(&s);
    let mut d = Disclosures::collect(&bytes[..], &[&member]).expect("collects");
    d.coop = "cd".repeat(32);
    let report = audit(&bytes, Some(d));
    assert!(report.sealed.read.is_empty());
    assert_eq!(report.sealed.bad.len(), 1);
}

#[test]
fn the_html_report_shows_the_references_read_and_the_sealed_counts() {
    let s = scenario();
    let bytes = export(&s);
    let member = a_paid_member(&s);
    let (mine, _) = references_of(&s, &member);
    let d = Disclosures::collect(&bytes[..], &[&member]).expect("collects");
    let mut report = audit(&bytes, Some(d));
    let counts = format!(
        "sealed fields: {} read with disclosed keys, {} still sealed",
        report.sealed.read.len(),
        report.sealed.unread
    );
    let page = taawun_audit::html::render(&report);
    // Each reference read beside its payment, and the counts with what they mean.
    let (entry, reference) = &mine[0];
    let start = format!(
        "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">payment",
        &entry[..16]
    );
    let row = &page[page.find(&start).expect("the payment's row")..];
    let row = &row[..row.find("</tr>").expect("the row ends")];
    assert!(row.contains(reference.as_str()), "{row}");
    assert!(page.contains(&counts), "{page}");
    assert!(
        page.contains("Unread:") && page.contains("Bad: 0"),
        "{page}"
    );
    assert!(!page.contains("No disclosures were given"));

    // A reference is text, never markup: escaped like everything else on the page.
    report.sealed.read[0].text = "<b>MPESA</b> & \"QK7\"".into();
    let page = taawun_audit::html::render(&report);
    assert!(
        page.contains("&lt;b&gt;MPESA&lt;/b&gt; &amp; &quot;QK7&quot;"),
        "{page}"
    );
    assert!(!page.contains("<b>MPESA"));
}

#[test]
fn the_html_report_of_an_export_without_disclosures_says_none_were_given() {
    let s = scenario();
    let bytes = export(&s);
    let (_, all) = references_of(&s, &a_paid_member(&s));
    let page = taawun_audit::html::render(&audit(&bytes, None));
    assert!(
        page.contains(&format!(
            "sealed fields: 0 read with disclosed keys, {all} still sealed"
        )),
        "{page}"
    );
    assert!(
        page.contains("No disclosures were given with this export"),
        "{page}"
    );
}

/// The members whose work was rejected in `s`, each with the ids of those rejections.
fn rejected_work(s: &Scenario) -> Vec<(PublicKey, Vec<String>)> {
    let mut out: Vec<(PublicKey, Vec<String>)> = Vec::new();
    for v in &s.entries {
        let Body::Reject(r) = &v.entry().body else {
            continue;
        };
        let sub = s
            .entries
            .iter()
            .find(|x| x.id() == r.submission)
            .expect("the rejected submission is in the ledger");
        let member = sub.entry().author;
        match out.iter_mut().find(|(m, _)| *m == member) {
            Some((_, ids)) => ids.push(v.id().to_hex()),
            None => out.push((member, vec![v.id().to_hex()])),
        }
    }
    out
}

#[test]
fn an_auditor_given_a_members_export_reads_its_rejection_reasons() {
    let s = scenario();
    let bytes = export(&s);
    let rejected = rejected_work(&s);
    assert!(
        rejected.len() > 1,
        "the scenario rejects the work of several members"
    );
    let (worker, mine) = &rejected[0];
    let member = s
        .members
        .iter()
        .find(|k| pk(k) == *worker)
        .expect("a member")
        .clone();
    let d = Disclosures::collect(&bytes[..], &[&member]).expect("collects");
    let report = audit(&bytes, Some(d));
    assert!(report.is_clean(), "{report}");
    let reasons: Vec<(&str, &str)> = report
        .sealed
        .read
        .iter()
        .filter(|r| r.field == "reason")
        .map(|r| (r.entry.as_str(), r.text.as_str()))
        .collect();
    // Every rejection of this member's work, with its words; no one else's.
    for id in mine {
        assert!(
            reasons.contains(&(id.as_str(), "The labels do not match the images.")),
            "the reason of {id} not read: {reasons:?}"
        );
    }
    assert_eq!(reasons.len(), mine.len(), "{reasons:?}");
    let others: Vec<&String> = rejected[1..].iter().flat_map(|(_, ids)| ids).collect();
    assert!(reasons
        .iter()
        .all(|(id, _)| !others.iter().any(|o| o == id)));
    // Without the keys, every reason stays sealed in the export.
    let all = audit(&bytes, None);
    assert!(all.sealed.read.is_empty());
    assert!(
        all.sealed.unread
            >= rejected
                .iter()
                .map(|(_, ids)| ids.len() as u64)
                .sum::<u64>()
    );
}

/// The audit reads sealed fields as its one pass goes by: the same readout as reading the
/// file on its own (`Readout::from_export`), in file order, with every decodable entry
/// counted once, including a repeated entry, one whose signature is broken, and with
/// items that are not envelopes at all.
#[test]
fn the_audits_readout_is_that_of_the_file_read_on_its_own() {
    let s = scenario();
    let member = a_paid_member(&s);
    let mut bytes = export(&s);
    let sealed: Vec<&Verified> = s
        .entries
        .iter()
        .filter(|v| !v.entry().body.sealed_fields().is_empty())
        .collect();
    // The same entry again, a copy with a broken signature, and garbage.
    bytes.extend_from_slice(&sealed[0].envelope());
    let mut altered = sealed[1].entry().clone();
    altered.ts += 1;
    let forged = taawun_core::entry::envelope(&altered.encode(), sealed[1].signature());
    let garbage = [0x82u8, 0x41, 0x00, 0x40];
    let mut tail = Vec::new();
    tail.extend_from_slice(&forged);
    tail.extend_from_slice(&garbage);
    // Items of the export are CBOR envelopes one after another: a bad one stays one item.
    bytes.extend_from_slice(&tail);
    let d = Disclosures::collect(&bytes[..], &[&member]).expect("collects");
    for d in [None, Some(d)] {
        let alone =
            taawun_ledger::disclose::Readout::from_export(&bytes[..], d.as_ref()).expect("reads");
        let report = audit(&bytes, d);
        assert_eq!(report.sealed, alone);
        assert_eq!(report.violations.count, 2, "{report}");
        if report.sealed.read.is_empty() {
            // Without keys: every sealed field of every decodable entry, once.
            let fields: usize = s
                .entries
                .iter()
                .map(|v| v.entry().body.sealed_fields().len())
                .sum::<usize>()
                + altered.body.sealed_fields().len();
            assert_eq!(report.sealed.unread, fields as u64);
        }
    }
}
