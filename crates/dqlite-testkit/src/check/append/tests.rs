use super::super::testing::*;
use super::super::{Op, Outcome, Workload, check};
use serde_json::{Value, json};

fn txn(process: u64, mops: Value, outcome: Outcome, start: u64, end: u64) -> Op {
    op(process, "txn", mops, outcome, start, end)
}

fn ok(process: u64, mops: Value, start: u64) -> Op {
    txn(process, mops, Outcome::Ok, start, start + 5)
}

fn fin(mops: Value) -> Op {
    final_op("txn", mops, 1_000)
}

fn anomalies(ops: &[Op]) -> Vec<String> {
    let v = check(Workload::Append, ops);
    eprintln!("{}", v.summary());
    v.anomalies.keys().cloned().collect()
}

#[test]
fn a_serial_history_is_valid() {
    let ops = vec![
        ok(0, json!([["append", 1, 1], ["append", 2, 1]]), 0),
        ok(1, json!([["r", 1, [1]], ["append", 1, 2]]), 10),
        ok(
            2,
            json!([
                ["r", 1, [1, 2]],
                ["r", 2, [1]],
                ["append", 2, 2],
                ["r", 2, [1, 2]]
            ]),
            20,
        ),
        txn(3, json!([["append", 3, 1]]), Outcome::Fail, 30, 31),
        txn(3, json!([["append", 3, 2]]), Outcome::Unknown, 40, 50),
        fin(json!([["r", 1, [1, 2]], ["r", 2, [1, 2]], ["r", 3, [2]]])),
    ];
    let v = check(Workload::Append, &ops);
    assert!(v.valid, "{}", v.summary());
    assert_eq!(
        (v.writes, v.acknowledged, v.in_doubt, v.in_doubt_applied),
        (5, 3, 1, 1)
    );
}

#[test]
fn g0_write_cycle() {
    // T1 and T2 both append to x and y, in opposite orders.
    let ops = vec![
        ok(0, json!([["append", 1, 1], ["append", 2, 1]]), 0),
        ok(1, json!([["append", 1, 2], ["append", 2, 2]]), 0),
        fin(json!([["r", 1, [1, 2]], ["r", 2, [2, 1]]])),
    ];
    assert_eq!(anomalies(&ops), ["G0"]);
}

#[test]
fn g1c_circular_information_flow() {
    // Each transaction reads the other's append.
    let ops = vec![
        ok(0, json!([["append", 1, 1], ["r", 2, [1]]]), 0),
        ok(1, json!([["append", 2, 1], ["r", 1, [1]]]), 0),
        fin(json!([["r", 1, [1]], ["r", 2, [1]]])),
    ];
    assert_eq!(anomalies(&ops), ["G1c"]);
}

#[test]
fn g2_write_skew() {
    // Each reads the other's key empty, then appends to its own: two rw edges.
    let ops = vec![
        ok(0, json!([["r", 1, []], ["append", 2, 1]]), 0),
        ok(1, json!([["r", 2, []], ["append", 1, 1]]), 0),
        fin(json!([["r", 1, [1]], ["r", 2, [1]]])),
    ];
    assert_eq!(anomalies(&ops), ["G2"]);
}

#[test]
fn g_single_read_skew() {
    // T1 sees T2's append to y but not its append to x: one rw edge, one wr edge.
    let ops = vec![
        ok(0, json!([["r", 1, []], ["r", 2, [1]]]), 0),
        ok(1, json!([["append", 1, 1], ["append", 2, 1]]), 0),
        fin(json!([["r", 1, [1]], ["r", 2, [1]]])),
    ];
    assert_eq!(anomalies(&ops), ["G-single"]);
}

#[test]
fn aborted_and_intermediate_reads() {
    let ops = vec![
        txn(0, json!([["append", 1, 1]]), Outcome::Fail, 0, 1),
        ok(1, json!([["r", 1, [1]]]), 2),
        ok(2, json!([["append", 2, 1], ["append", 2, 2]]), 0),
        ok(3, json!([["r", 2, [1]]]), 1),
        fin(json!([["r", 1, [1]], ["r", 2, [1, 2]]])),
    ];
    let v = check(Workload::Append, &ops);
    // T4 saw the middle of T2 (G1b), so T4 both follows T2 (wr) and precedes it (rw).
    assert_eq!(
        v.anomalies.keys().collect::<Vec<_>>(),
        ["G-single", "G1a", "G1b"],
        "{}",
        v.summary()
    );
    assert_eq!(v.failed_applied, 1);
}

#[test]
fn lost_duplicated_and_incompatible() {
    let ops = vec![
        ok(0, json!([["append", 1, 1]]), 0),
        ok(1, json!([["append", 1, 2]]), 10),
        ok(2, json!([["append", 2, 1], ["append", 2, 2]]), 10),
        ok(3, json!([["r", 2, [2]]]), 20),
        fin(json!([["r", 1, [2]], ["r", 2, [1, 2, 2]]])),
    ];
    let v = check(Workload::Append, &ops);
    assert!(!v.valid);
    assert_eq!((v.lost, v.duplicated), (1, 1), "{}", v.summary());
    assert!(
        v.anomalies.contains_key("incompatible-order"),
        "{}",
        v.summary()
    );
}

#[test]
fn internal_inconsistency_and_missing_final_reads() {
    let ops = vec![ok(0, json!([["append", 1, 1], ["r", 1, []]]), 0)];
    let found = anomalies(&ops);
    assert!(found.contains(&"internal".to_owned()), "{found:?}");
    assert!(found.contains(&"no-final-read".to_owned()), "{found:?}");
}
