//! The set workload: unique elements added in autocommit (a failed add may be retried with
//! the same element), full reads. Elements are judged by the last final read.

use std::collections::{BTreeMap, BTreeSet};

use super::{Op, Outcome, Verdict, int, ints};

pub(super) fn check(ops: &[Op], mut v: Verdict) -> Verdict {
    // Every attempt's outcome, by element.
    let mut attempts: BTreeMap<i64, Vec<Outcome>> = BTreeMap::new();
    for op in ops.iter().filter(|op| op.f == "add") {
        match int(&op.value) {
            Some(e) => attempts.entry(e).or_default().push(op.outcome),
            None => v.anomaly("malformed", || format!("{op:?}")),
        }
        v.writes += 1;
        match op.outcome {
            Outcome::Ok => v.acknowledged += 1,
            Outcome::Unknown => v.in_doubt += 1,
            Outcome::Fail => {}
        }
    }
    let acknowledged = |e: &i64| attempts.get(e).is_some_and(|a| a.contains(&Outcome::Ok));
    let in_doubt = |e: &i64| {
        attempts
            .get(e)
            .is_some_and(|a| a.contains(&Outcome::Unknown))
    };
    let only_failed = |e: &i64| {
        attempts
            .get(e)
            .is_some_and(|a| a.iter().all(|o| *o == Outcome::Fail))
    };

    let reads: Vec<(&Op, Vec<i64>)> = ops
        .iter()
        .filter(|op| op.f == "read" && op.is_ok())
        .filter_map(|op| ints(&op.value).map(|r| (op, r)))
        .collect();
    // A failed add seen by any read was applied after all.
    let mut failed_seen = BTreeSet::new();
    for (op, read) in &reads {
        for e in read {
            if only_failed(e) && failed_seen.insert(*e) {
                v.failed_applied += 1;
            }
            if !attempts.contains_key(e) {
                v.anomaly("unexpected", || {
                    format!("element {e} never added, read at {} us", op.start_us)
                });
            }
        }
    }
    let finals: Vec<&Vec<i64>> = reads
        .iter()
        .filter(|(op, _)| op.is_final)
        .map(|(_, r)| r)
        .collect();
    let Some(last) = finals.last() else {
        v.anomaly("no-final-read", || "no successful final read".into());
        return v;
    };
    let mut copies: BTreeMap<i64, usize> = BTreeMap::new();
    for e in last.iter() {
        *copies.entry(*e).or_default() += 1;
    }
    for earlier in finals.iter().take(finals.len().saturating_sub(1)) {
        let mut sorted = (*earlier).clone();
        sorted.sort_unstable();
        let mut last_sorted = (*last).clone();
        last_sorted.sort_unstable();
        if sorted != last_sorted {
            v.anomaly("final-reads-differ", || {
                format!("{} vs {} elements", sorted.len(), last_sorted.len())
            });
        }
    }
    for (e, n) in &copies {
        if *n > 1 {
            v.duplicated += 1;
            v.example("duplicated", || format!("element {e} present {n} times"));
        }
        if in_doubt(e) && !acknowledged(e) {
            v.in_doubt_applied += 1;
        }
    }
    for e in attempts.keys().filter(|e| acknowledged(e)) {
        if !copies.contains_key(e) {
            v.lost += 1;
            v.example("lost", || {
                format!("element {e} acknowledged, not in the final read")
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Outcome, Workload, check};
    use serde_json::json;

    #[test]
    fn a_clean_history_is_valid_and_counts_doubts() {
        let ops = vec![
            op(0, "add", json!(1), Outcome::Ok, 1, 2),
            op(1, "add", json!(2), Outcome::Fail, 1, 2),
            op(1, "add", json!(2), Outcome::Ok, 3, 4),
            op(0, "add", json!(3), Outcome::Unknown, 3, 9),
            op(1, "add", json!(4), Outcome::Unknown, 5, 9),
            op(2, "add", json!(5), Outcome::Fail, 5, 6),
            op(3, "read", json!([1]), Outcome::Ok, 2, 3),
            final_op("read", json!([1, 2, 3]), 20),
        ];
        let v = check(Workload::Set, &ops);
        assert!(v.valid, "{}", v.summary());
        assert_eq!(
            (v.writes, v.acknowledged, v.in_doubt, v.in_doubt_applied),
            (6, 2, 2, 1)
        );
        assert_eq!((v.lost, v.duplicated, v.failed_applied), (0, 0, 0));
    }

    #[test]
    fn lost_duplicated_and_failed_but_present_are_caught() {
        let ops = vec![
            op(0, "add", json!(1), Outcome::Ok, 1, 2),
            op(0, "add", json!(2), Outcome::Ok, 3, 4),
            op(1, "add", json!(3), Outcome::Fail, 1, 2),
            final_op("read", json!([2, 2, 3, 7]), 20),
        ];
        let v = check(Workload::Set, &ops);
        assert!(!v.valid);
        assert_eq!(
            (v.lost, v.duplicated, v.failed_applied),
            (1, 1, 1),
            "{}",
            v.summary()
        );
        assert_eq!(v.anomalies.get("unexpected"), Some(&1));
        let none = check(Workload::Set, &ops[..2]);
        assert_eq!(none.anomalies.get("no-final-read"), Some(&1));
    }
}
