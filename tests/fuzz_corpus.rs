//! The fuzz targets' checks (`fuzz/`, docs/reliability.md "Fuzzing") over their seed
//! corpus, on every test run: every file of `fuzz/corpus/<target>/` and every seed the
//! generator below makes goes through the very function its fuzz target calls.
//!
//! `TAAWUN_WRITE_CORPUS=1 cargo test --test fuzz_corpus` (re)writes the generated seeds
//! into `fuzz/corpus/` (deterministic: same seeds, same bytes). Files that are not
//! generated (inputs a fuzzer found, kept as regression tests) are left alone.

use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use taawun_api::fuzzing::REQUESTS;
use taawun_api::request::Invite;
use taawun_core::body::Kind;
use taawun_core::entry::envelope;
use taawun_core::fuzzing::world;
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::export::header_bytes;
use taawun_net::libp2p::request_response::Codec;
use taawun_net::libp2p::StreamProtocol;
use taawun_net::{result, sync};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus");

/// A fuzz target: its name (the corpus folder) and its checks.
struct Target {
    name: &'static str,
    check: fn(&[u8]),
}

const TARGETS: [Target; 5] = [
    Target {
        name: "entry",
        check: taawun_core::fuzzing::entry,
    },
    Target {
        name: "sync",
        check: taawun_net::fuzzing::sync,
    },
    Target {
        name: "result",
        check: taawun_net::fuzzing::result,
    },
    Target {
        name: "export",
        check: taawun_ledger::fuzzing::export,
    },
    Target {
        name: "api",
        check: taawun_api::fuzzing::api,
    },
];

/// Seeds by name, for one target.
type Seeds = BTreeMap<&'static str, Vec<u8>>;

/// The first entry of `kind` in the world.
fn first(kind: Kind) -> &'static Verified {
    world()
        .entries
        .iter()
        .find(|v| v.entry().body.kind() == kind)
        .expect("the synthetic cooperative has offers and submissions")
}

/// The next entry of `v`'s author in the world, saying what `v` said again.
fn again(v: &Verified) -> Verified {
    let w = world();
    let author = v.entry().author;
    let head = w.state.heads().get(&author).copied();
    let key = w.keys[&author].clone();
    let ts = head.map_or(w.now, |h| h.ts + 1_000);
    let gov = head.and_then(|h| h.gov);
    Writer::new(key, Some(w.coop), head).next(v.entry().body.clone(), ts, gov)
}

fn entry_seeds() -> Seeds {
    let mut s = Seeds::new();
    let mut kinds: Vec<Kind> = world()
        .entries
        .iter()
        .map(|v| v.entry().body.kind())
        .collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let v = first(kind);
        let name = kind.name();
        s.insert(leak(format!("envelope-{name}")), v.envelope());
        // Entry bytes are re-signed by the harness (docs/reliability.md): the next entry
        // of the same author reaches validation and the fold.
        s.insert(leak(format!("next-{name}")), again(v).bytes().to_vec());
    }
    let offer = first(Kind::Offer);
    let mut bad_sig = *offer.signature();
    bad_sig[10] ^= 1;
    s.insert("invalid-bad-signature", envelope(offer.bytes(), &bad_sig));
    let env = offer.envelope();
    s.insert("invalid-truncated", env[..env.len() - 7].to_vec());
    // The same envelope as an indefinite-length array: valid CBOR, not canonical.
    let mut indefinite = vec![0x9f];
    indefinite.extend_from_slice(&env[1..]);
    indefinite.push(0xff);
    s.insert("invalid-indefinite-envelope", indefinite);
    s.insert("invalid-empty", Vec::new());
    s
}

/// Encodes sync or result messages with the node's own codec.
fn encode<C>(
    mut codec: C,
    protocol: &'static str,
    req: Option<C::Request>,
    resp: Option<C::Response>,
) -> Vec<u8>
where
    C: Codec<Protocol = StreamProtocol>,
{
    let p = StreamProtocol::new(protocol);
    let mut out = Vec::new();
    let written = match (req, resp) {
        (Some(r), _) => futures::executor::block_on(codec.write_request(&p, &mut out, r)),
        (None, Some(r)) => futures::executor::block_on(codec.write_response(&p, &mut out, r)),
        (None, None) => Ok(()),
    };
    written.expect("encoding to memory works");
    out
}

fn sync_seeds() -> Seeds {
    let w = world();
    let heads: Vec<sync::WireHead> = w
        .state
        .heads()
        .iter()
        .map(|(a, h)| sync::WireHead::from(&(*a, *h)))
        .collect();
    // A forked author's branches, as a heads answer summarises them.
    let branches: Vec<(u64, taawun_core::Id)> = w.entries[..3]
        .iter()
        .map(|v| (v.entry().seq, v.id()))
        .collect();
    let summary = sync::Summary {
        heads,
        branches: vec![sync::WireBranches {
            author: w.entries[0].entry().author,
            count: branches.len() as u32,
            digest: sync::branches_digest(&branches),
            last_seq: branches[2].0,
            last_id: branches[2].1,
        }],
    };
    let envelopes: Vec<ByteBuf> = w.entries[..6]
        .iter()
        .map(|v| ByteBuf::from(v.envelope()))
        .collect();
    let mut broken = envelopes.clone();
    broken[3][20] ^= 1;
    let author = w.entries[0].entry().author;
    let req = |r| encode(sync::codec(), sync::PROTOCOL, Some(r), None);
    let resp = |r| encode(sync::codec(), sync::PROTOCOL, None, Some(r));
    let mut s = Seeds::new();
    s.insert(
        "request-heads",
        req(sync::Request::Heads {
            coop: w.coop,
            digest: sync::digest(&summary),
        }),
    );
    s.insert(
        "request-range",
        req(sync::Request::Range {
            coop: w.coop,
            author,
            from: 2,
            limit: sync::SYNC_BATCH,
        }),
    );
    s.insert(
        "request-log",
        req(sync::Request::Log {
            coop: w.coop,
            from: 0,
            limit: sync::SYNC_BATCH,
        }),
    );
    s.insert(
        "request-branches",
        req(sync::Request::Branches {
            coop: w.coop,
            author,
            from: 0,
            limit: sync::SYNC_BATCH,
        }),
    );
    s.insert("response-heads", resp(sync::Response::Heads(Some(summary))));
    s.insert("response-heads-equal", resp(sync::Response::Heads(None)));
    s.insert(
        "response-range",
        resp(sync::Response::Range {
            entries: envelopes.clone(),
            more: true,
        }),
    );
    s.insert(
        "response-log",
        resp(sync::Response::Log {
            entries: envelopes.clone(),
            next: 6,
            more: false,
        }),
    );
    s.insert(
        "response-branches",
        resp(sync::Response::Branches {
            entries: envelopes,
            next: 6,
            more: true,
        }),
    );
    s.insert(
        "response-range-broken",
        resp(sync::Response::Range {
            entries: broken,
            more: false,
        }),
    );
    s.insert("response-unknown-coop", resp(sync::Response::UnknownCoop));
    s.insert("response-unavailable", resp(sync::Response::Unavailable));
    s
}

fn result_seeds() -> Seeds {
    let w = world();
    let req = |r| encode(result::codec(), result::PROTOCOL, Some(r), None);
    let resp = |r| encode(result::codec(), result::PROTOCOL, None, Some(r));
    let submit = first(Kind::Submit).id();
    let mut s = Seeds::new();
    s.insert(
        "request",
        req(result::Request::new(
            w.coop,
            submit,
            b"the transcript".to_vec(),
        )),
    );
    s.insert(
        "request-empty",
        req(result::Request::new(w.coop, submit, Vec::new())),
    );
    // To a juror: with the key of the rejection's reason.
    s.insert(
        "request-juror",
        req(result::Request {
            reason: Some(result::Disclosed {
                rejection: w
                    .entries
                    .iter()
                    .find(|v| v.entry().body.kind() == Kind::Reject)
                    .map_or(submit, |v| v.id()),
                key: taawun_core::seal::ContentKey([7; 32]),
            }),
            ..result::Request::new(w.coop, submit, b"the transcript".to_vec())
        }),
    );
    s.insert(
        "response-wrong-key",
        resp(result::Response::Refused(result::Refusal::WrongKey)),
    );
    s.insert("response-stored", resp(result::Response::Stored));
    s.insert(
        "response-wrong-size",
        resp(result::Response::Refused(result::Refusal::WrongSize {
            expected: 14,
            got: 15,
        })),
    );
    s.insert(
        "response-too-large",
        resp(result::Response::Refused(result::Refusal::TooLarge {
            max: result::MAX_RESULT_BYTES,
        })),
    );
    s.insert(
        "response-unknown-submission",
        resp(result::Response::Refused(
            result::Refusal::UnknownSubmission,
        )),
    );
    s
}

/// Entries of the world in an export file: enough for a charter, governance and offers,
/// few enough to keep the seed a few kilobytes.
const EXPORT_ENTRIES: usize = 16;

fn export_seeds() -> Seeds {
    let w = world();
    let header = header_bytes(&w.coop);
    let mut file = header.clone();
    for v in &w.entries[..EXPORT_ENTRIES] {
        file.extend_from_slice(&v.envelope());
    }
    let mut s = Seeds::new();
    s.insert("valid", file.clone());
    s.insert("header-only", header.clone());
    // A second copy of an entry: reported as already held.
    let mut dup = file.clone();
    dup.extend_from_slice(&w.entries[3].envelope());
    s.insert("duplicate", dup);
    // An envelope with a flipped signature byte, one out of chain order, an item that is
    // CBOR but no envelope, then a truncated item.
    let mut messy = header.clone();
    messy.extend_from_slice(&w.entries[0].envelope());
    let second = &w.entries[1];
    let mut sig = *second.signature();
    sig[0] ^= 1;
    messy.extend_from_slice(&envelope(second.bytes(), &sig));
    messy.extend_from_slice(&w.entries[5].envelope());
    messy.extend_from_slice(&[0x83, 0x01, 0x02, 0x03]);
    messy.extend_from_slice(&w.entries[2].envelope()[..30]);
    s.insert("messy", messy);
    let mut other = header_bytes(&Id::of(b"another cooperative"));
    other.extend_from_slice(&w.entries[0].envelope());
    s.insert("other-coop", other);
    use ciborium::Value;
    let future = Value::Map(vec![
        (
            Value::from("format"),
            Value::from(taawun_ledger::export::MAGIC),
        ),
        (Value::from("version"), Value::from(2u64)),
        (Value::from("coop"), Value::Bytes(w.coop.0.to_vec())),
    ]);
    let mut bytes = Vec::new();
    ciborium::into_writer(&future, &mut bytes).expect("encodes to memory");
    s.insert("unsupported-version", bytes);
    s.insert("not-cbor", vec![0xff, 0x00, 0x1c]);
    s
}

/// An `api` input: the request type's index in `REQUESTS`, then the body.
fn api_input(request: &str, body: &str) -> Vec<u8> {
    let i = REQUESTS
        .iter()
        .position(|r| *r == request)
        .expect("a request type the target knows");
    let mut out = vec![u8::try_from(i).expect("few request types")];
    out.extend_from_slice(body.as_bytes());
    out
}

fn api_seeds() -> Seeds {
    let w = world();
    let member = w.members[1].to_hex();
    let requester = w.requesters[0].to_hex();
    let proposal = first(Kind::Proposal).id().to_hex();
    let charter = Invite {
        charter: first(Kind::Charter).envelope(),
        addrs: vec![
            "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
                .into(),
        ],
    };
    let mut damaged = charter.clone();
    damaged.charter[40] ^= 1;
    let device = PublicKey([9; 32]).to_hex();
    let inputs: [(&str, &str, String); 30] = [
        ("create-coop", "valid", format!(
            r#"{{"name": "Tanger transcribers", "floor": "12.50EUR/h", "members": ["{member}"], "requesters": ["{requester}"], "names": {{"me": "Amal Haddad", "{requester}": "Kano Community Clinic"}}, "limits": {{"max_review_window_ms": 86400000}}}}"#
        )),
        ("create-coop", "bad-limit", r#"{"name": "x", "floor": "9USD", "limits": {"nope": 1}}"#.into()),
        ("create-coop", "unknown-field", r#"{"name": "x", "floor": "9USD", "cut_pct": 20}"#.into()),
        ("propose", "set-floor", r#"{"action": "set-floor", "floor": "13.00EUR/h", "reason": "prices rose"}"#.into()),
        ("propose", "admit-member", format!(r#"{{"action": "admit-member", "key": "{member}", "name": "Amina Bello", "reason": "she asked"}}"#)),
        ("propose", "set-limit", r#"{"action": "set-limit", "limit": "topup-cap-pct", "value": 4294967296, "reason": "r"}"#.into()),
        ("vote", "yes", format!(r#"{{"proposal": "{proposal}", "yes": true}}"#)),
        ("vote", "bad-id", r#"{"proposal": "abc", "yes": false}"#.into()),
        ("post-offer", "valid", r#"{"title": "Transcribe", "purpose": "a radio archive", "pay": "4.00EUR", "minutes": 15, "assignments": 2}"#.into()),
        ("post-offer", "under-floor", r#"{"title": "Tag", "purpose": "ads", "pay": "0.01EUR", "minutes": 10}"#.into()),
        ("post-offer", "float-pay", r#"{"title": "t", "purpose": "p", "pay": 4.5, "minutes": 15}"#.into()),
        ("post-offer", "long-expiry", r#"{"title": "t", "purpose": "p", "pay": "400EUR", "minutes": 1, "expires_in_ms": 18446744073709551615}"#.into()),
        ("assign", "lottery", String::new()),
        ("assign", "by-hand", format!(r#"{{"winners": ["{member}"]}}"#)),
        ("reject", "with-reason", r#"{"reason": "the audio was skipped after minute 3"}"#.into()),
        ("reject", "blank-reason", r#"{"reason": " "}"#.into()),
        ("pay", "valid", format!(r#"{{"member": "{member}", "amount": "4.00EUR", "reference": "transfer 0042"}}"#)),
        ("pay", "zero", format!(r#"{{"member": "{member}", "amount": "0EUR", "reference": "r"}}"#)),
        ("review", "valid", format!(r#"{{"requester": "{requester}", "pay": 4, "fairness": 5, "promptness": 3, "communication": 4, "text": "paid on time"}}"#)),
        ("review", "out-of-range", format!(r#"{{"requester": "{requester}", "pay": 6, "fairness": 5, "promptness": 3, "communication": 0}}"#)),
        ("join", "valid", format!(r#"{{"invite": "{}"}}"#, charter.to_text())),
        ("join", "damaged", format!(r#"{{"invite": "{}"}}"#, damaged.to_text())),
        ("appeal", "valid", r#"{"answer": "all ten clips are in the file,\nclip 7 included"}"#.into()),
        ("appeal", "blank", r#"{"answer": "  "}"#.into()),
        ("reply", "valid", r#"{"text": "clip 7 is empty"}"#.into()),
        ("jury-vote", "uphold", r#"{"uphold": true}"#.into()),
        ("jury-vote", "not-a-bool", r#"{"uphold": "yes"}"#.into()),
        ("add-device", "valid", format!(r#"{{"key": "{device}", "label": "phone"}}"#)),
        ("add-device", "bad-key", r#"{"key": "0xabc", "label": "phone"}"#.into()),
        ("revoke-device", "valid", device.clone()),
    ];
    let mut s = Seeds::new();
    for (request, name, body) in inputs {
        s.insert(leak(format!("{request}-{name}")), api_input(request, &body));
    }
    s.insert("not-json", api_input("post-offer", "{title"));
    for (name, query) in [
        ("board", "state=open&mine=true&limit=50"),
        (
            "own",
            "requester=me&state=open,awaiting-assignment,assigned",
        ),
        ("prefix", "id_prefix=08c4&limit=2"),
        ("page", "offset=20&limit=20"),
        ("bad-state", "state=closed"),
        ("unknown", "colour=red"),
        ("escaped", "state=%6Fpen&requester=%20me"),
    ] {
        s.insert(
            leak(format!("list-offers-{name}")),
            api_input("list-offers", query),
        );
    }
    for (name, query) in [
        ("work", "member=me&review=accepted,accepted-by-default"),
        ("received", "requester=me&review=pending"),
        ("involving", "involving=me&offset=1&limit=3"),
        ("prefix", "id_prefix=6203&limit=2"),
        ("bad-review", "review=paid"),
    ] {
        s.insert(
            leak(format!("list-submissions-{name}")),
            api_input("list-submissions", query),
        );
    }
    s.insert(
        "list-payments-to-me",
        api_input("list-payments", "member=me&limit=20"),
    );
    s.insert(
        "list-payments-prefix",
        api_input("list-payments", "id_prefix=ab&requester=me"),
    );
    s.insert("empty", Vec::new());
    s
}

fn seeds(target: &str) -> Seeds {
    match target {
        "api" => api_seeds(),
        "entry" => entry_seeds(),
        "sync" => sync_seeds(),
        "result" => result_seeds(),
        "export" => export_seeds(),
        other => panic!("no seeds for {other}"),
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(CORPUS).join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on `data`, returning the panic message if it panics.
fn run(check: fn(&[u8]), data: &[u8]) -> Result<(), String> {
    std::panic::catch_unwind(|| check(data)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn every_corpus_file_and_seed_passes_its_target_checks() {
    if std::env::var_os("TAAWUN_WRITE_CORPUS").is_some() {
        for t in &TARGETS {
            let dir = Path::new(CORPUS).join(t.name);
            std::fs::create_dir_all(&dir).expect("creates the corpus folder");
            for (name, bytes) in seeds(t.name) {
                std::fs::write(dir.join(name), bytes).expect("writes a seed");
            }
        }
    }
    let mut failures = Vec::new();
    let mut runs = 0;
    for t in &TARGETS {
        for (name, bytes) in seeds(t.name) {
            runs += 1;
            if let Err(e) = run(t.check, &bytes) {
                failures.push(format!("{}: seed {name}: {e}", t.name));
            }
        }
        let files = corpus_files(t.name);
        assert!(!files.is_empty(), "the {} corpus is empty", t.name);
        for f in files {
            runs += 1;
            let bytes = std::fs::read(&f).expect("reads a corpus file");
            if let Err(e) = run(t.check, &bytes) {
                failures.push(format!("{}: {}", f.display(), e));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The export corpus imported into a real ledger: whatever the audit reads, an import
/// into sled reads the same way (a report, or a typed error), with the same verdict on
/// every item.
#[test]
fn the_export_corpus_imports_into_sled_as_the_audit_reads_it() {
    for f in corpus_files("export") {
        let bytes = std::fs::read(&f).expect("reads a corpus file");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let ledger = taawun_ledger::Ledger::open(dir.path()).expect("opens a ledger");
        let audit = taawun_ledger::verify(&bytes[..]);
        let import = ledger.import(&bytes[..]);
        match (audit, import) {
            (Ok(a), Ok((coop, r))) => {
                assert_eq!(coop, a.coop, "{}", f.display());
                assert_eq!(r.stored, a.report.stored, "{}", f.display());
                assert_eq!(r.is_clean(), a.is_clean(), "{}", f.display());
            }
            (Err(_), Err(_)) => {}
            // Founding needs the charter first; the audit only needs a header.
            (
                Ok(a),
                Err(taawun_ledger::LedgerError::Format(taawun_ledger::FormatError::NoCharter(c))),
            ) => assert_eq!(c, a.coop),
            (a, i) => panic!(
                "{}: audit {:?} but import {:?}",
                f.display(),
                a.map(|s| s.report),
                i.map(|x| x.1)
            ),
        }
    }
}
