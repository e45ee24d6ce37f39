//! The simulator's seeds: a series of seeded runs of the whole network, with faults and a
//! hostile node, in which no invariant may break; and runs that show the invariants are
//! checked at all (a run that breaks one fails with its seed).

use taawun_sim::{run, Config, Faults};

/// Seeds every test run checks, in four runs the test harness spreads over the cores. A
/// failure prints the seed to replay with `cargo run -p taawun-sim -- --seed S`.
const CI_SEEDS: u64 = 160;

fn seeds(part: u64) {
    let per = CI_SEEDS / 4;
    let failures: Vec<String> = (part * per..(part + 1) * per)
        .filter_map(|seed| run(&Config::from_seed(seed)).err())
        .map(|f| f.to_string())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_invariant_breaks_on_the_ci_seeds_first_quarter() {
    seeds(0);
}

#[test]
fn no_invariant_breaks_on_the_ci_seeds_second_quarter() {
    seeds(1);
}

#[test]
fn no_invariant_breaks_on_the_ci_seeds_third_quarter() {
    seeds(2);
}

#[test]
fn no_invariant_breaks_on_the_ci_seeds_fourth_quarter() {
    seeds(3);
}

#[test]
fn a_seed_replays_exactly() {
    let cfg = Config::from_seed(7);
    let a = run(&cfg).expect("seed 7 runs clean");
    let b = run(&cfg).expect("seed 7 runs clean again");
    assert_eq!(a, b);
}

#[test]
fn a_calm_network_converges_with_every_write() {
    let mut cfg = Config::from_seed(3);
    cfg.faults = Faults::none();
    cfg.hostile = false;
    let r = run(&cfg).expect("a calm run is clean");
    assert!(r.written > 50, "{r:?}");
    assert!(r.results > 0, "{r:?}");
    assert_eq!(r.dropped, 0);
    assert!(r.entries as usize >= r.written, "{r:?}");
}

#[test]
fn crashes_partitions_and_a_hostile_node_are_survived() {
    let mut cfg = Config::from_seed(11);
    cfg.nodes = 6;
    cfg.hostile = true;
    cfg.forks = false;
    cfg.faults = Faults {
        drop_pct: 15,
        dup_pct: 5,
        delay_pct: 20,
        partitions: 2,
        crashes: 3,
        torn_pct: 100,
        restore_backup: true,
    };
    let r = run(&cfg).expect("the faults are survived");
    assert!(
        r.crashes >= 1 && r.partitions >= 1 && r.hostile_acts >= 1,
        "{r:?}"
    );
}

/// Forks of a stolen key's chain, sent to half the hostile node's peers: honest nodes
/// that miss the second entry or its branch by gossip fetch them by sync (the heads
/// answer summarises each frozen author's branches) and fold the same balances. The
/// seeds that failed before sync carried the branches (docs/reliability.md, "What the
/// simulator found"); the CI seeds run with forks on as well.
#[test]
fn honest_nodes_converge_on_the_branches_of_a_fork() {
    for seed in [6, 20, 22, 25, 51, 52, 98] {
        let mut cfg = Config::from_seed(seed);
        cfg.forks = true;
        if let Err(f) = run(&cfg) {
            panic!("{f}");
        }
    }
}

/// Results waiting for a requester away (partitioned, or its node down) when their
/// worker's node crashed: the outbox's marks survive the crash, and the restarted node
/// queues them again. Without that, these seeds end with results never delivered
/// (docs/reliability.md, "Faults put in on purpose").
#[test]
fn results_waiting_at_a_crash_are_delivered_after_the_restart() {
    for seed in [217, 371] {
        match run(&Config::from_seed(seed)) {
            Ok(r) => assert!(r.crashes >= 1 && r.results > 0, "{r:?}"),
            Err(f) => panic!("{f}"),
        }
    }
}

/// A worker's own submission, waiting for an entry it names when the node crashed, comes
/// back with the disk image and is let through once that entry arrives: the node never
/// wrote it through its author, so the restart queues its result (found by the long run
/// at seed 17622: "node 3, the requester's, never got the result of e295a332").
#[test]
fn a_submission_held_but_never_written_by_its_node_still_has_its_result_delivered() {
    match run(&Config::from_seed(17622)) {
        Ok(r) => assert!(r.crashes >= 1 && r.results > 0, "{r:?}"),
        Err(f) => panic!("{f}"),
    }
}

/// The hostile node sends forged bytes as the result of every submission it sees,
/// racing the worker's: the requester's node checks them against the submission it holds
/// and keeps only the worker's (a node that took them unchecked holds a forged result at
/// the end of each of these seeds).
#[test]
fn forged_results_are_refused_and_the_worker_s_kept() {
    for seed in [0, 1, 4] {
        let mut cfg = Config::from_seed(seed);
        cfg.hostile = true;
        if let Err(f) = run(&cfg) {
            panic!("{f}");
        }
    }
}

/// A network larger than the peer target runs the network task's peer machine: lookups
/// open connections, the machine closes the ones too many, and through crashes,
/// partitions and a hostile node every invariant holds, the bound on connections among
/// them (docs/reliability.md, "Choosing peers").
#[test]
fn a_network_larger_than_the_peer_target_keeps_its_connections_bounded() {
    match run(&Config::sized(11, 24, 150)) {
        Ok(r) => assert!(
            r.opened > 0 && r.closed > 0 && r.crashes > 0 && r.partitions > 0 && r.hostile_acts > 0,
            "{r:?}"
        ),
        Err(f) => panic!("{f}"),
    }
}

/// More nodes than members, requesters and witnesses: the nodes that speak for no key
/// are served nothing by the others (admission), and the members' nodes converge
/// without them. Fails ("node .., which speaks for no key, was served .. entries") when
/// an honest node serves a peer it did not admit.
#[test]
fn a_node_that_speaks_for_no_key_is_served_nothing() {
    let mut cfg = Config::from_seed(21);
    cfg.nodes = 10;
    cfg.members = 3;
    cfg.requesters = 1;
    cfg.hostile = false;
    cfg.devices = false;
    let r = run(&cfg).expect("the members' nodes converge");
    // 4 authors and 3 witnesses for 10 nodes.
    assert_eq!(r.strangers, 3, "{r:?}");
    assert!(r.written > 50, "{r:?}");
}

/// More nodes than members, requesters and witnesses again, each extra node now a
/// member's device (authorised and enrolled in the cooperative): every node is admitted
/// and converges. The hostile node holds the first device's key (a stolen phone) and
/// proves it, superseding the device's own node, which proves itself again; what it
/// signs with that key (offers, which a member's device may not write, junk) is refused.
#[test]
fn devices_are_admitted_and_a_stolen_device_key_is_survived() {
    let mut cfg = Config::from_seed(21);
    cfg.nodes = 10;
    cfg.members = 3;
    cfg.requesters = 1;
    cfg.hostile = true;
    assert!(cfg.devices);
    let r = run(&cfg).expect("every node converges");
    assert_eq!(r.strangers, 0, "{r:?}");
    assert!(r.superseded > 0 && r.reproved > 0, "{r:?}");
    assert!(r.hostile_acts > 0, "{r:?}");
}

/// The hostile node proves the member key it stole at every connection it opens,
/// superseding the member's own node there; the member's node, refused `UnknownCoop`,
/// proves itself again and is served in its turn, so the network still converges (seed
/// 136 did not, before a node that proved itself synced at once, as the network task
/// does: both nodes' sync rounds then always fell while they were superseded).
#[test]
fn a_member_whose_key_a_thief_proves_is_served_again_by_proving_itself() {
    let cfg = Config::from_seed(136);
    assert!(cfg.hostile, "{cfg:?}");
    let r = run(&cfg).expect("the member's node is served in its turn");
    assert!(r.superseded > 0 && r.reproved > 0, "{r:?}");
}

/// With appeals, each appellant's node sends the result to the node of every juror
/// holding a seat, which takes it by its own ledger: the run ends only once every
/// seated juror's node holds the result, whole. Fails ("results not delivered ... a
/// juror") when a juror's node refuses a result of an appeal it sits on.
#[test]
fn results_reach_the_jurors_of_appeals() {
    let mut cfg = Config::from_seed(19);
    cfg.appeals = true;
    let r = run(&cfg).expect("every seated juror's node gets the result");
    assert!(r.juror_results > 0, "{r:?}");
    assert!(r.results > 0, "{r:?}");
}
