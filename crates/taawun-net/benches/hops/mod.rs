//! **Hops, one node per process.** The propagation runs above put every node in one
//! process, so a hop's time there includes what the other nodes sharing the runtime and
//! the 2 cores cost it. Here each node is a process of its own (this benchmark run again
//! with `TAAWUN_HOP_CHILD` set), so that a hop's figures are a hop's alone: for each size
//! in `TAAWUN_BENCH_HOPS` (2: one hop, the default; `""` skips), that many processes in a
//! complete graph (each dials every earlier one), and for each half (taawun nodes, raw
//! gossipsub, the floor) `TAAWUN_BENCH_HOP_MESSAGES` (100) messages published one at a
//! time by node 0, after `TAAWUN_BENCH_HOP_SETTLE_MS` (5,000) of settling.
//!
//! Per message and receiving node: the time from the origin's call (taawun: the append,
//! which signs, judges, stores and flushes before gossiping; raw: the publish command) and
//! from the origin's own stamp (taawun: its `Stored` event; raw: the publish) until the
//! node holds it, on the system clock, which every process reads alike. Per process: the
//! CPU it used while the messages went by, per message, the origin apart from the others.
//!
//! Children speak in lines: on stdout `ADDR <multiaddr>`, `PEER`, `GOT <key> <ns>`,
//! `POSTED <id> <envelope> <ns>` (the origin, taawun), `CPU <seconds>`; on stdin `MARK`
//! (start counting CPU), `POST <n>` (taawun: append offer n), `PUBLISH <envelope>` (raw),
//! `STOP`. Keys and envelopes are hex.

use super::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the parent asks of the hops part.
pub(crate) struct HopCfg {
    /// Processes per run (each at least 2).
    pub(crate) sizes: Vec<usize>,
    /// Messages measured per half, after the warm-up.
    pub(crate) messages: usize,
    pub(crate) warmup: usize,
    pub(crate) settle: Duration,
    pub(crate) seed: u64,
    pub(crate) heartbeat: Duration,
}

impl HopCfg {
    pub(crate) fn from_env(cfg: &Cfg) -> Self {
        Self {
            sizes: std::env::var("TAAWUN_BENCH_HOPS")
                .unwrap_or_else(|_| "2".into())
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .filter(|n: &usize| *n >= 2)
                .collect(),
            messages: env_usize("TAAWUN_BENCH_HOP_MESSAGES", 100).max(1),
            warmup: cfg.warmup,
            settle: Duration::from_millis(env_usize("TAAWUN_BENCH_HOP_SETTLE_MS", 5_000) as u64),
            seed: cfg.seed,
            heartbeat: cfg.heartbeat,
        }
    }
}

/// The three halves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Half {
    Taawun,
    Raw,
    Floor,
}

impl Half {
    fn name(self) -> &'static str {
        match self {
            Half::Taawun => "taawun",
            Half::Raw => "raw",
            Half::Floor => "floor",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        [Half::Taawun, Half::Raw, Half::Floor]
            .into_iter()
            .find(|h| h.name() == s)
    }
}

/// Nanoseconds since the Unix epoch: the one clock every process reads alike.
fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// CPU time of this process's threads so far, in nanoseconds: the first field of each
/// thread's `/proc/self/task/*/schedstat` (where `/proc/self/stat` counts in 10 ms ticks,
/// too coarse for a message's work).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

// ---------------------------------------------------------------------------------------
// a child: one node

/// The node a child runs.
enum Node {
    Taawun(TaawunNode),
    Raw(RawNode),
}

/// Runs node `index` of a hops run, as the parent's environment says, until `STOP`.
pub(crate) fn child(index: usize) {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let half = Half::from_name(&var("TAAWUN_HOP_HALF")).expect("TAAWUN_HOP_HALF names a half");
    let nodes: usize = var("TAAWUN_HOP_NODES").parse().expect("TAAWUN_HOP_NODES");
    let seed: u64 = var("TAAWUN_HOP_SEED").parse().expect("TAAWUN_HOP_SEED");
    let heartbeat = Duration::from_millis(var("TAAWUN_HOP_HEARTBEAT_MS").parse().expect("ms"));
    let boot: Vec<Multiaddr> = var("TAAWUN_HOP_BOOT")
        .split_whitespace()
        .map(|a| a.parse().expect("a multiaddr"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (cmd_tx, mut cmds) = mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if cmd_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (tx, mut stamps) = mpsc::unbounded_channel();
        // The same cooperative in every process: the same seed.
        let s = synth::generate(&Params {
            seed,
            members: nodes,
            requesters: 4,
            entries: 1,
            ..Params::default()
        });
        let mut rng = Rng::new(seed ^ 0x686f_7073 ^ ((index as u64) << 16));
        let root = tempfile::tempdir().expect("tempdir");
        let node = match half {
            Half::Taawun => {
                let node = start_taawun(
                    index,
                    root.path(),
                    keypair(&mut rng),
                    s.members[index].clone(),
                    boot,
                    heartbeat,
                    tx,
                )
                .await;
                node.net
                    .join(s.entries[0].clone())
                    .await
                    .expect("joins");
                Node::Taawun(node)
            }
            Half::Raw | Half::Floor => {
                let mode = if half == Half::Floor {
                    RawMode::Verify
                } else {
                    RawMode::Forward
                };
                let node = start_raw(
                    index,
                    keypair(&mut rng),
                    gossip::topic(&s.coop),
                    heartbeat,
                    mode,
                    tx,
                )
                .await;
                for b in boot {
                    let _ = node.tx.send(RawCmd::Dial(b));
                }
                Node::Raw(node)
            }
        };
        let addr = match &node {
            Node::Taawun(n) => &n.addr,
            Node::Raw(n) => &n.addr,
        };
        println!("ADDR {addr}");
        let mut mark = cpu_ns();
        loop {
            tokio::select! {
                Some(stamp) = stamps.recv() => match stamp {
                    Stamp::Got { key, at, .. } => {
                        // When it happened, not when this loop got to it.
                        let late = at.elapsed().as_nanos();
                        println!("GOT {} {}", hex::encode(&key), now_ns().saturating_sub(late));
                    }
                    Stamp::Peer { .. } => println!("PEER"),
                    Stamp::Synced { .. } => {}
                },
                line = cmds.recv() => {
                    let line = line.unwrap_or_else(|| "STOP".into());
                    let mut words = line.split_whitespace();
                    match (words.next(), words.next()) {
                        (Some("MARK"), _) => mark = cpu_ns(),
                        (Some("POST"), Some(n)) => {
                            let Node::Taawun(node) = &node else { continue };
                            let n: usize = n.parse().expect("a number");
                            let t0 = now_ns();
                            let v = node
                                .net
                                .append(s.coop, s.requesters[n % s.requesters.len()].clone(), offer(n), None)
                                .await
                                .expect("offer appended");
                            println!("POSTED {} {} {t0}", v.id().to_hex(), hex::encode(v.envelope()));
                        }
                        (Some("PUBLISH"), Some(bytes)) => {
                            let Node::Raw(node) = &node else { continue };
                            let _ = node.tx.send(RawCmd::Publish(hex::decode(bytes).expect("hex")));
                        }
                        _ => break,
                    }
                }
            }
        }
        println!("CPU {:.6}", cpu_ns().saturating_sub(mark) as f64 / 1e9);
        match node {
            Node::Taawun(n) => n.stop().await,
            Node::Raw(n) => n.stop().await,
        }
    });
}

// ---------------------------------------------------------------------------------------
// the parent

/// The running children of one half.
struct Procs {
    children: Vec<Child>,
    stdin: Vec<ChildStdin>,
    lines: std_mpsc::Receiver<(usize, String)>,
}

impl Procs {
    fn send(&mut self, node: usize, line: &str) {
        let _ = writeln!(self.stdin[node], "{line}");
    }

    /// The next line of any child, or `None` at the deadline.
    fn next(&self, deadline: Instant) -> Option<(usize, String)> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.lines.recv_timeout(left).ok()
    }
}

/// Starts `n` processes of `half`, each dialing every earlier one, and waits until each
/// has a peer in every other.
fn spawn(half: Half, n: usize, cfg: &HopCfg) -> Option<Procs> {
    let exe = std::env::current_exe().expect("own path");
    let (tx, lines) = std_mpsc::channel();
    let mut p = Procs {
        children: Vec::new(),
        stdin: Vec::new(),
        lines,
    };
    let mut addrs: Vec<String> = Vec::new();
    let mut peers = vec![0usize; n];
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    for i in 0..n {
        let mut child = Command::new(&exe)
            .env("TAAWUN_HOP_CHILD", i.to_string())
            .env("TAAWUN_HOP_HALF", half.name())
            .env("TAAWUN_HOP_NODES", n.to_string())
            .env("TAAWUN_HOP_SEED", cfg.seed.to_string())
            .env(
                "TAAWUN_HOP_HEARTBEAT_MS",
                cfg.heartbeat.as_millis().to_string(),
            )
            .env("TAAWUN_HOP_BOOT", addrs.join(" "))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a node process starts");
        p.stdin.push(child.stdin.take().expect("stdin"));
        let out = child.stdout.take().expect("stdout");
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((i, line)).is_err() {
                    break;
                }
            }
        });
        p.children.push(child);
        // Its address before the next one starts, so that the next can dial it.
        loop {
            let (j, line) = p.next(deadline)?;
            match line.split_once(' ') {
                Some(("ADDR", a)) if j == i => {
                    addrs.push(a.to_string());
                    break;
                }
                _ if line == "PEER" => peers[j] += 1,
                _ => {}
            }
        }
    }
    while peers.iter().any(|c| *c < n - 1) {
        let (j, line) = p.next(deadline)?;
        if line == "PEER" {
            peers[j] += 1;
        }
    }
    Some(p)
}

/// Figures of one half.
#[derive(Default)]
struct HopRun {
    /// Per message and receiving node: from the origin's call.
    from_call: Vec<Duration>,
    /// Per message and receiving node: from the origin's own stamp.
    from_origin: Vec<Duration>,
    lost: usize,
    /// CPU per message, the origin's and the others' (on average per process), in ms.
    cpu_origin: f64,
    cpu_other: f64,
}

fn since(t0: u128, t: u128) -> Duration {
    Duration::from_nanos(u64::try_from(t.saturating_sub(t0)).unwrap_or(u64::MAX))
}

/// One half: `posted` are the envelopes the taawun half posted, for the raw halves to
/// publish (empty for the taawun half, which posts them). Returns the figures and, for
/// the taawun half, the envelopes.
fn half_run(half: Half, n: usize, cfg: &HopCfg, posted: &[Vec<u8>]) -> (HopRun, Vec<Vec<u8>>) {
    let mut run = HopRun::default();
    let mut out = Vec::new();
    let Some(mut p) = spawn(half, n, cfg) else {
        eprintln!("  hops, {} x {n}: the nodes did not connect", half.name());
        return (run, out);
    };
    std::thread::sleep(cfg.settle);
    for i in 0..n {
        p.send(i, "MARK");
    }
    let total = cfg.warmup + cfg.messages;
    // The raw halves publish what the taawun half posted.
    let sent = if half == Half::Taawun {
        total
    } else {
        total.min(posted.len())
    };
    // Stamps by key: node -> ns. Stamps may come before the origin says what it posted.
    let mut got: HashMap<String, HashMap<usize, u128>> = HashMap::new();
    for m in 0..sent {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        let (key, t0) = match half {
            Half::Taawun => {
                p.send(0, &format!("POST {m}"));
                let mut posted_line = None;
                while posted_line.is_none() {
                    let Some((j, line)) = p.next(deadline) else {
                        break;
                    };
                    let mut w = line.split_whitespace();
                    match w.next() {
                        Some("POSTED") if j == 0 => {
                            let id = w.next().unwrap_or_default().to_string();
                            let env = hex::decode(w.next().unwrap_or_default()).unwrap_or_default();
                            let t0: Option<u128> = w.next().and_then(|t| t.parse().ok());
                            out.push(env);
                            posted_line = Some((id, t0));
                        }
                        Some("GOT") => take_got(&mut got, j, &mut w),
                        _ => {}
                    }
                }
                let Some(k) = posted_line else {
                    if m >= cfg.warmup {
                        run.lost += 1;
                    }
                    continue;
                };
                k
            }
            Half::Raw | Half::Floor => {
                let Some(bytes) = posted.get(m) else { break };
                p.send(0, &format!("PUBLISH {}", hex::encode(bytes)));
                (hex::encode(gossip::message_id(bytes).0), None)
            }
        };
        // Until every node holds it.
        while got.get(&key).map_or(0, HashMap::len) < n {
            let Some((j, line)) = p.next(deadline) else {
                break;
            };
            let mut w = line.split_whitespace();
            if w.next() == Some("GOT") {
                take_got(&mut got, j, &mut w);
            }
        }
        let stamps = got.remove(&key).unwrap_or_default();
        if stamps.len() < n {
            if m >= cfg.warmup {
                run.lost += 1;
            }
            continue;
        }
        let origin = stamps.get(&0).copied().unwrap_or(0);
        // The raw halves' call is their publish, stamped by the origin.
        let t0 = t0.unwrap_or(origin);
        if m >= cfg.warmup {
            for (j, t) in &stamps {
                if *j != 0 {
                    run.from_call.push(since(t0, *t));
                    run.from_origin.push(since(origin, *t));
                }
            }
        }
    }
    for i in 0..n {
        p.send(i, "STOP");
    }
    let mut cpu = vec![None; n];
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    while cpu.iter().any(Option::is_none) {
        let Some((j, line)) = p.next(deadline) else {
            break;
        };
        if let Some(("CPU", s)) = line.split_once(' ') {
            cpu[j] = s.parse::<f64>().ok();
        }
    }
    for c in &mut p.children {
        let _ = c.wait();
    }
    let per_msg = |s: f64| s * 1000.0 / sent.max(1) as f64;
    run.cpu_origin = per_msg(cpu[0].unwrap_or(0.0));
    run.cpu_other =
        per_msg(cpu[1..].iter().map(|c| c.unwrap_or(0.0)).sum::<f64>()) / (n - 1).max(1) as f64;
    (run, out)
}

fn take_got<'a>(
    got: &mut HashMap<String, HashMap<usize, u128>>,
    node: usize,
    w: &mut impl Iterator<Item = &'a str>,
) {
    let (Some(key), Some(t)) = (w.next(), w.next().and_then(|t| t.parse().ok())) else {
        return;
    };
    got.entry(key.to_string())
        .or_default()
        .entry(node)
        .or_insert(t);
}

/// Runs every size, every half, and prints the table.
pub(crate) fn run(cfg: &HopCfg) {
    let mut rows = Vec::new();
    for &n in &cfg.sizes {
        eprintln!("hops, {n} processes: taawun...");
        let (t, posted) = half_run(Half::Taawun, n, cfg, &[]);
        eprintln!("hops, {n} processes: raw gossipsub...");
        let (r, _) = half_run(Half::Raw, n, cfg, &posted);
        eprintln!("hops, {n} processes: the floor...");
        let (f, _) = half_run(Half::Floor, n, cfg, &posted);
        rows.push((n, t, r, f));
    }
    if rows.is_empty() {
        return;
    }
    let p50 = |v: &[Duration]| ms(pct(&Run::sorted(v), 50));
    let p90 = |v: &[Duration]| ms(pct(&Run::sorted(v), 90));
    println!();
    println!(
        "hops, one node per process: node 0 publishes, {} messages (+{} warm-up), every node a process of its own (ms)",
        cfg.messages, cfg.warmup
    );
    println!("| processes | half | from the call p50 | p90 | from the origin's stamp p50 | p90 | CPU per message origin / each other (ms) | lost |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (n, t, r, f) in &rows {
        for (name, h) in [("taawun", t), ("raw", r), ("floor", f)] {
            println!(
                "| {n} | {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} / {:.3} | {} |",
                p50(&h.from_call),
                p90(&h.from_call),
                p50(&h.from_origin),
                p90(&h.from_origin),
                h.cpu_origin,
                h.cpu_other,
                h.lost
            );
        }
    }
    println!("| processes | taawun / raw, from the call | from the stamp | floor / raw | taawun / floor, from the call | from the stamp |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (n, t, r, f) in &rows {
        println!(
            "| {n} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            ratio(p50(&t.from_call), p50(&r.from_call)),
            ratio(p50(&t.from_origin), p50(&r.from_origin)),
            ratio(p50(&f.from_call), p50(&r.from_call)),
            ratio(p50(&t.from_call), p50(&f.from_call)),
            ratio(p50(&t.from_origin), p50(&f.from_origin)),
        );
    }
    println!(
        "(the call: taawun's append, which signs, judges, stores and flushes the entry before"
    );
    println!(
        " gossiping it; raw: the publish. The origin's stamp: taawun's own Stored event; raw:"
    );
    println!(" the publish. Clocks: the system clock, the same in every process.)");
}
