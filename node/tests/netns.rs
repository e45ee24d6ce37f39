//! Real network faults: `taawun run` daemons in Linux network namespaces, linked through
//! veth pairs, with links cut by firewall rules, packets dropped at random and delayed.
//!
//! Topology: each node has its own namespace joined to the test's (root) namespace by a
//! veth pair, a /30 of 198.18.0.0/15 (reserved for benchmarks) each: `.1` on the host
//! side, `.2` inside. The host does not route between namespaces, so nodes reach one
//! another only through [`Relay`]s: userspace TCP forwarders in this process, listening
//! on a node's host-side address and forwarding (after an optional delay) to another
//! node's address. The API of each daemon listens on
//! its namespace's address for the test only, so the test drives it directly.
//!
//! Needs root and iproute2 and iptables (`apt-get install -y iproute2 iptables`). Where
//! namespaces cannot be created the tests print why and pass, unless `CI` is set.

mod common;

use common::{taawun, text, Daemon};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long nodes may take to converge once the fault is repaired. Convergence takes a
/// few seconds; the bound leaves room for TCP's retransmission backoff after a cut.
const CONVERGE: Duration = Duration::from_secs(45);

/// Offers each side writes over the lossy, slow link.
const LOSSY_WRITES: usize = 25;

/// Chunks a relay holds per direction while they wait out the delay: 256 reads of at most
/// [`RELAY_READ`] bytes (4 MiB) is more than a 100 ms delay holds at loopback speeds of a
/// sync response, and bounds the relay's memory.
const RELAY_CHUNKS: usize = 256;

/// Bytes a relay reads at once.
const RELAY_READ: usize = 16 * 1024;

/// Namespaces created by this process so far.
static NEXT: AtomicU8 = AtomicU8::new(0);

/// Namespaces one process may create: each gets a /30 of [`NET_BASE`], 16 per process.
const PER_PROCESS: u32 = 16;

/// The addresses of the test links: 198.18.0.0/15, reserved for network benchmarks
/// (RFC 2544), so they clash with no real network of the machine. 2 048 processes × 16
/// namespaces × 4 addresses fill it.
const NET_BASE: u32 = u32::from_be_bytes([198, 18, 0, 0]);

/// Runs a command, panicking with its output if it fails.
fn sh(args: &[&str]) {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("the command runs");
    assert!(o.status.success(), "{args:?}: {}", text(&o));
}

/// A network namespace with a veth pair to the root namespace; deleted when dropped.
struct Netns {
    name: String,
    host_if: String,
    /// The host side of the veth pair.
    host: Ipv4Addr,
    /// The namespace's side.
    ip: Ipv4Addr,
}

impl Netns {
    /// A new namespace, or why none can be made here.
    fn new() -> Result<Netns, String> {
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("taawun-{pid}-{n}");
        // Interface names are at most 15 bytes.
        let host_if = format!("tw{}h{n}", pid % 1_000_000);
        assert!(
            u32::from(n) < PER_PROCESS,
            "too many namespaces for one test run"
        );
        // A /30 per namespace, by process id and rank: processes running at once do not
        // share one unless their ids are equal modulo 2 048.
        let base = NET_BASE + ((pid % 2048) * PER_PROCESS + u32::from(n)) * 4;
        let (host, ip) = (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2));
        let o = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .map_err(|e| format!("iproute2 is missing ({e})"))?;
        if !o.status.success() {
            return Err(format!("`ip netns add` failed: {}", text(&o).trim()));
        }
        let ns = Netns {
            name,
            host_if,
            host,
            ip,
        };
        let host_cidr = format!("{host}/30");
        let ns_cidr = format!("{ip}/30");
        for cmd in [
            vec![
                "ip",
                "link",
                "add",
                &ns.host_if,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &ns.name,
            ],
            vec!["ip", "addr", "add", &host_cidr, "dev", &ns.host_if],
            vec!["ip", "link", "set", &ns.host_if, "up"],
            vec!["ip", "-n", &ns.name, "addr", "add", &ns_cidr, "dev", "eth0"],
            vec!["ip", "-n", &ns.name, "link", "set", "eth0", "up"],
            vec!["ip", "-n", &ns.name, "link", "set", "lo", "up"],
        ] {
            sh(&cmd);
        }
        Ok(ns)
    }

    /// Runs `iptables` inside the namespace.
    fn iptables(&self, rule: &[&str]) {
        let mut args = vec!["ip", "netns", "exec", &self.name, "iptables"];
        args.extend_from_slice(rule);
        sh(&args);
    }

    /// Cuts every packet in and out of the namespace except the API's (the test's own
    /// channel to the daemon).
    fn cut(&self, api_port: u16) {
        let p = api_port.to_string();
        self.iptables(&["-A", "INPUT", "-p", "tcp", "--dport", &p, "-j", "ACCEPT"]);
        self.iptables(&["-A", "INPUT", "-j", "DROP"]);
        self.iptables(&["-A", "OUTPUT", "-p", "tcp", "--sport", &p, "-j", "ACCEPT"]);
        self.iptables(&["-A", "OUTPUT", "-j", "DROP"]);
    }

    /// Drops `percent` of the packets in and out of the namespace at random, except the
    /// API's.
    fn lossy(&self, api_port: u16, percent: u8) {
        let p = api_port.to_string();
        let prob = format!("{:.2}", f64::from(percent) / 100.0);
        self.iptables(&["-A", "INPUT", "-p", "tcp", "--dport", &p, "-j", "ACCEPT"]);
        self.iptables(&[
            "-A",
            "INPUT",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &prob,
            "-j",
            "DROP",
        ]);
        self.iptables(&["-A", "OUTPUT", "-p", "tcp", "--sport", &p, "-j", "ACCEPT"]);
        self.iptables(&[
            "-A",
            "OUTPUT",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &prob,
            "-j",
            "DROP",
        ]);
    }

    /// Removes every firewall rule.
    fn heal(&self) {
        self.iptables(&["-F"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace's end of the pair deletes both; the host end is removed
        // explicitly in case a daemon still holds the namespace open.
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// `n` namespaces, or `None` (with the reason printed) where they cannot be made and `CI`
/// is not set.
fn namespaces(n: usize) -> Option<Vec<Netns>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let iptables = Command::new("iptables")
            .arg("--version")
            .output()
            .map_err(|e| format!("iptables is missing ({e})"));
        match iptables.and_then(|_| Netns::new()) {
            Ok(ns) => out.push(ns),
            Err(why) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "network namespaces are needed in CI: {why}"
                );
                println!("SKIPPED: cannot create network namespaces here ({why}); run as root with iproute2 and iptables");
                return None;
            }
        }
    }
    Some(out)
}

/// A userspace TCP relay: accepts on `listen` and forwards each connection to `target`,
/// holding every chunk `delay` in each direction. Threads and blocking sockets, so it
/// keeps forwarding whatever the test's runtime does. Stops (with its connections) when
/// dropped.
struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Every socket it opened, shut down when it stops.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(listen: Ipv4Addr, target: SocketAddr, delay: Duration) -> Relay {
        let listener = TcpListener::bind(SocketAddrV4::new(listen, 0)).expect("relay binds");
        let addr = listener.local_addr().expect("relay address");
        let stop = Arc::new(AtomicBool::new(false));
        let sockets = Arc::new(Mutex::new(Vec::new()));
        let (st, so) = (stop.clone(), sockets.clone());
        std::thread::spawn(move || {
            for down in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let (Ok(down), Ok(up)) = (down, TcpStream::connect(target)) else {
                    continue;
                };
                let _ = down.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let clones = [
                    down.try_clone(),
                    up.try_clone(),
                    down.try_clone(),
                    up.try_clone(),
                ];
                let [Ok(d2), Ok(u2), Ok(d3), Ok(u3)] = clones else {
                    continue;
                };
                so.lock().expect("relay lock").extend([d3, u3]);
                pipe(down, u2, delay);
                pipe(up, d2, delay);
            }
        });
        Relay {
            addr,
            stop,
            sockets,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        for s in self.sockets.lock().expect("relay lock").iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Copies `from` to `to` on two threads, each chunk written `delay` after it was read
/// (order kept).
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = sync_channel::<(Instant, Vec<u8>)>(RELAY_CHUNKS);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; RELAY_READ];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0
                || tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        while let Ok((due, chunk)) = rx.recv() {
            // The delay is the fault injected, not a synchronisation.
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// A daemon in a namespace.
struct Node {
    d: Daemon,
    http: reqwest::Client,
    /// Its libp2p peer id.
    peer: String,
    /// Its libp2p listen address (inside its namespace).
    p2p: SocketAddr,
    api_port: u16,
}

/// The configuration of a node in `ns`: libp2p on `port`, the API on the namespace's
/// address (any port), no mDNS.
fn config(ns: &Netns, port: u16, bootstrap: &[String]) -> String {
    format!(
        "[network]\nlisten = [\"/ip4/{}/tcp/{port}\"]\nbootstrap = {}\nmdns = false\n\n[api]\nlisten = \"{}:0\"\n",
        ns.ip,
        serde_json::to_string(bootstrap).expect("json"),
        ns.ip
    )
}

impl Node {
    /// `taawun init` in `dir`, then `taawun run` in `ns` (see [`Node::run`]).
    async fn start(dir: &Path, ns: &Netns, port: u16, bootstrap: &[String]) -> Node {
        std::fs::create_dir_all(dir).expect("dir");
        let o = taawun(&["init"], dir);
        assert!(o.status.success(), "init: {}", text(&o));
        Self::run(dir, ns, port, bootstrap).await
    }

    /// `taawun run` on `dir` inside `ns`, libp2p on `port`, dialing `bootstrap`.
    async fn run(dir: &Path, ns: &Netns, port: u16, bootstrap: &[String]) -> Node {
        std::fs::write(dir.join("config.toml"), config(ns, port, bootstrap)).expect("config");
        let d = Daemon::run_in(dir, Some(&ns.name));
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let api_port = d
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("API port");
        let mut n = Node {
            d,
            http,
            peer: String::new(),
            p2p: SocketAddr::from((ns.ip, port)),
            api_port,
        };
        let (s, st) = n.get("/api/status").await;
        assert_eq!(s, StatusCode::OK, "{st}");
        n.peer = st["peer_id"].as_str().expect("peer id").to_owned();
        n
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.d.base))
            .bearer_auth(&self.d.token)
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.d.base))
            .bearer_auth(&self.d.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// The multiaddr that reaches this node through `relay`.
    fn via(&self, relay: &Relay) -> String {
        format!(
            "/ip4/{}/tcp/{}/p2p/{}",
            relay.addr.ip(),
            relay.addr.port(),
            self.peer
        )
    }

    /// Founds a cooperative with `members`; returns its id and invite.
    async fn found(&self, members: &[&str]) -> (String, String) {
        let (s, v) = self
            .post(
                "/api/coops",
                json!({"name": "Faults", "floor": "12.50EUR/h", "members": members}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let coop = v["id"].as_str().expect("id").to_owned();
        let (s, inv) = self.get(&format!("/api/coops/{coop}/invite")).await;
        assert_eq!(s, StatusCode::OK, "{inv}");
        (coop, inv["invite"].as_str().expect("invite").to_owned())
    }

    async fn join(&self, invite: &str) {
        let (s, v) = self.post("/api/join", json!({ "invite": invite })).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// Posts an offer; returns its id.
    async fn offer(&self, coop: &str, title: &str) -> String {
        let (s, v) = self
            .post(
                &format!("/api/coops/{coop}/offers"),
                json!({"title": title, "purpose": "network faults", "pay": "5.00EUR", "minutes": 10}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["id"].as_str().expect("id").to_owned()
    }

    /// What the node holds of `coop`: its entry count, its offers' ids (sorted) and the
    /// size of its export. Equal on two nodes: they hold the same entries, so the same
    /// chain heads.
    async fn holds(&self, coop: &str) -> (u64, Vec<String>, usize) {
        let (_, v) = self.get(&format!("/api/coops/{coop}")).await;
        let (_, offers) = self.get(&format!("/api/coops/{coop}/offers")).await;
        let mut ids: Vec<String> = offers
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        let export = self
            .http
            .get(format!("{}/api/coops/{coop}/export", self.d.base))
            .bearer_auth(&self.d.token)
            .send()
            .await
            .expect("export")
            .bytes()
            .await
            .expect("bytes");
        let held = v["entries"].as_u64().unwrap_or(0);
        // Members' nodes witness on their own schedule: how many ticks a run holds
        // depends on its timing, so the count the tests expect leaves them out.
        (held.saturating_sub(ticks(&export)), ids, export.len())
    }
}

/// The witness ticks in an export.
fn ticks(export: &[u8]) -> u64 {
    let mut items = taawun_ledger::export::Items::new(export);
    items.header().expect("an export header");
    let mut n = 0;
    while let Some(item) = items.next_item().expect("an export item") {
        let raw = item.raw.expect("an entry's size");
        let u = taawun_core::Unverified::decode(&raw).expect("an entry");
        if matches!(u.entry().body, taawun_core::body::Body::Tick(_)) {
            n += 1;
        }
    }
    n
}

/// Waits until every node holds the same entries of `coop`, `want` entries besides
/// witness ticks;
/// returns how long it took.
async fn converge(nodes: &[&Node], coop: &str, want: u64) -> Duration {
    let start = Instant::now();
    loop {
        let mut all = Vec::with_capacity(nodes.len());
        for n in nodes {
            all.push(n.holds(coop).await);
        }
        if all[0].0 == want && all.windows(2).all(|w| w[0] == w[1]) {
            return start.elapsed();
        }
        if start.elapsed() > CONVERGE {
            let counts: Vec<u64> = all.iter().map(|h| h.0).collect();
            let logs: Vec<String> = nodes.iter().map(|n| n.d.log()).collect();
            panic!(
                "no convergence after {CONVERGE:?}: entries {counts:?}, want {want}\n{}",
                logs.join("\n----\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two nodes, `a` founding a cooperative with `b` as a member; `b` dials `a` through a
/// relay with `delay`. Returns the nodes, the relays and the cooperative.
async fn pair(root: &Path, ns: &[Netns], delay: Duration) -> (Node, Node, Relay, String) {
    let a = Node::start(&root.join("a"), &ns[0], 4001, &[]).await;
    let b_key = {
        let dir = root.join("b");
        std::fs::create_dir_all(&dir).expect("dir");
        let o = taawun(&["init"], &dir);
        assert!(o.status.success(), "init: {}", text(&o));
        text(&taawun(&["id"], &dir)).trim().to_owned()
    };
    let to_a = Relay::start(ns[1].host, a.p2p, delay);
    let b = Node::run(&root.join("b"), &ns[1], 4001, &[a.via(&to_a)]).await;
    let (coop, invite) = a.found(&[&b_key]).await;
    b.join(&invite).await;
    (a, b, to_a, coop)
}

/// (a) The link between two nodes is cut (every packet dropped); both write; once the
/// link is back, both hold every entry.
#[tokio::test(flavor = "multi_thread")]
async fn a_cut_link_heals_and_both_sides_converge() {
    let Some(ns) = namespaces(2) else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b, _relay, coop) = pair(tmp.path(), &ns, Duration::ZERO).await;
    a.offer(&coop, "before").await;
    converge(&[&a, &b], &coop, 2).await;

    ns[1].cut(b.api_port);
    for i in 0..5 {
        a.offer(&coop, &format!("a-{i}")).await;
        b.offer(&coop, &format!("b-{i}")).await;
    }
    // Nothing crosses the cut.
    assert_eq!(a.holds(&coop).await.0, 7);
    assert_eq!(b.holds(&coop).await.0, 7);
    ns[1].heal();
    let took = converge(&[&a, &b], &coop, 12).await;
    println!("converged {took:?} after the link came back");
}

/// (b) 5 % of packets lost at random in and out of one node, and 100 ms of delay each
/// way between the two: the cooperative converges all the same.
#[tokio::test(flavor = "multi_thread")]
async fn loss_and_delay_still_converge() {
    let Some(ns) = namespaces(2) else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b, _relay, coop) = pair(tmp.path(), &ns, Duration::from_millis(100)).await;
    ns[1].lossy(b.api_port, 5);
    for i in 0..LOSSY_WRITES {
        a.offer(&coop, &format!("a-{i}")).await;
        b.offer(&coop, &format!("b-{i}")).await;
    }
    let took = converge(&[&a, &b], &coop, 1 + 2 * LOSSY_WRITES as u64).await;
    println!("converged {took:?} with 5 % loss and 100 ms delay");
}

/// (c) A node stops and comes back listening on another port: it finds its peer again
/// from its bootstrap list, and the peer's writes of meanwhile reach it, its own reach
/// the peer.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_on_a_new_address_is_found_again() {
    let Some(ns) = namespaces(2) else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b, to_a, coop) = pair(tmp.path(), &ns, Duration::ZERO).await;
    b.offer(&coop, "before").await;
    converge(&[&a, &b], &coop, 2).await;

    let old = b.p2p;
    assert!(b.d.stop().success());
    for i in 0..3 {
        a.offer(&coop, &format!("a-{i}")).await;
    }
    let b = Node::run(&tmp.path().join("b"), &ns[1], 4002, &[a.via(&to_a)]).await;
    assert_ne!(b.p2p, old);
    b.offer(&coop, "after").await;
    let took = converge(&[&a, &b], &coop, 6).await;
    println!("converged {took:?} after the move");
}
