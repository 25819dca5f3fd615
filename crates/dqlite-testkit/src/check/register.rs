//! Linearizability of one register whose writes all carry distinct values.
//!
//! With distinct values, every read names the write it saw, and linearizability can be
//! decided without a search (Gibbons and Korach, "Testing shared memories", 1997): group
//! each write with the reads of its value into a cluster; a cluster's *zone* runs from the
//! earliest completion to the latest invocation among its operations. When the earliest
//! completion comes first the zone is *forward* (the value must be current throughout);
//! otherwise it is *backward* (the whole cluster fits in an instant). The history is
//! linearizable iff no read completes before its write is invoked, no two forward zones
//! overlap, and no backward zone lies inside a forward zone.
//!
//! The initial value (`null`) is a write that completed before anything began. A write
//! whose outcome is unknown may take effect at any time after its invocation, or never:
//! it counts (with an open end) only if some read saw it. Failed operations and reads
//! that did not complete are left out; a read of a failed write is an anomaly.

use std::collections::BTreeMap;

use super::{Op, Outcome, Verdict, int};

/// A cluster's zone: `(low, high, forward)`.
type Zone = (u64, u64, bool);

pub(super) fn check(ops: &[Op], mut v: Verdict) -> Verdict {
    // Writes by value: (invocation, completion; u64::MAX while unknown, outcome).
    let mut writes: BTreeMap<Option<i64>, (u64, u64, Outcome)> = BTreeMap::new();
    writes.insert(None, (0, 0, Outcome::Ok));
    for op in ops.iter().filter(|op| op.f == "write") {
        let Some(value) = int(&op.value) else {
            v.anomaly("malformed", || format!("{op:?}"));
            continue;
        };
        v.writes += 1;
        let end = match op.outcome {
            Outcome::Ok => {
                v.acknowledged += 1;
                op.end_us
            }
            Outcome::Unknown => {
                v.in_doubt += 1;
                u64::MAX
            }
            Outcome::Fail => op.end_us,
        };
        if writes
            .insert(Some(value), (op.start_us, end, op.outcome))
            .is_some()
        {
            v.anomaly("malformed", || format!("value {value} written twice"));
        }
    }
    // Reads by the value they returned: (invocation, completion).
    let mut reads: BTreeMap<Option<i64>, Vec<(u64, u64)>> = BTreeMap::new();
    for op in ops.iter().filter(|op| op.f == "read" && op.is_ok()) {
        let value = if op.value.is_null() {
            None
        } else {
            match int(&op.value) {
                Some(n) => Some(n),
                None => {
                    v.anomaly("malformed", || format!("{op:?}"));
                    continue;
                }
            }
        };
        let Some((w_start, _, outcome)) = writes.get(&value) else {
            v.anomaly("read-of-unwritten", || {
                format!("read {value:?} at {} us", op.start_us)
            });
            continue;
        };
        match outcome {
            Outcome::Fail => {
                v.failed_applied += usize::from(!reads.contains_key(&value));
            }
            Outcome::Unknown if !reads.contains_key(&value) => v.in_doubt_applied += 1,
            _ => {}
        }
        if op.end_us < *w_start {
            v.anomaly("read-before-write", || {
                format!(
                    "read of {value:?} ended at {} us, its write began at {w_start} us",
                    op.end_us
                )
            });
        }
        reads
            .entry(value)
            .or_default()
            .push((op.start_us, op.end_us));
    }
    let mut zones: Vec<(Zone, Option<i64>)> = Vec::new();
    for (value, (w_start, w_end, outcome)) in &writes {
        let seen = reads.get(value);
        if *outcome != Outcome::Ok && seen.is_none() {
            continue; // failed, or unknown and never seen: it may not have happened
        }
        let ops = std::iter::once((*w_start, *w_end)).chain(seen.into_iter().flatten().copied());
        let (min_end, max_start) = ops.fold((u64::MAX, 0), |(e, s), (start, end)| {
            (e.min(end), s.max(start))
        });
        let zone = if min_end < max_start {
            (min_end, max_start, true)
        } else {
            (max_start, min_end, false)
        };
        zones.push((zone, *value));
    }
    let mut forward: Vec<(Zone, Option<i64>)> =
        zones.iter().filter(|((_, _, f), _)| *f).copied().collect();
    forward.sort_by_key(|((low, _, _), _)| *low);
    for pair in forward.windows(2) {
        if let [((_, high_a, _), a), ((low_b, _, _), b)] = pair
            && low_b < high_a
        {
            v.anomaly("nonlinearizable", || {
                format!(
                    "values {a:?} and {b:?} must both be current between {low_b} and {high_a} us"
                )
            });
        }
    }
    for ((low, high, _), value) in zones.iter().filter(|((_, _, f), _)| !*f) {
        // The forward zone starting last at or before `low` is the only candidate.
        let holder = forward
            .iter()
            .take_while(|((f_low, _, _), _)| f_low < low)
            .last();
        if let Some(((_, f_high, _), current)) = holder
            && high < f_high
        {
            v.anomaly("nonlinearizable", || {
                format!(
                    "{value:?} was written and read between {low} and {high} us, while \
                     {current:?} had to be current (until {f_high} us)"
                )
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

    fn w(value: i64, start: u64, end: u64) -> super::super::Op {
        op(0, "write", json!(value), Outcome::Ok, start, end)
    }

    fn r(value: Option<i64>, start: u64, end: u64) -> super::super::Op {
        op(1, "read", json!(value), Outcome::Ok, start, end)
    }

    fn verdict(ops: &[super::super::Op]) -> super::super::Verdict {
        check(Workload::Register, ops)
    }

    #[test]
    fn sequential_and_concurrent_reads_are_linearizable() {
        let v = verdict(&[
            r(None, 1, 2),
            w(1, 3, 4),
            r(Some(1), 5, 6),
            w(2, 7, 8),
            r(Some(2), 9, 10),
        ]);
        assert!(v.valid, "{}", v.summary());
        // A read concurrent with a write may see either value.
        let v = verdict(&[
            w(1, 10, 20),
            w(2, 30, 60),
            r(Some(1), 40, 50),
            r(Some(2), 45, 70),
        ]);
        assert!(v.valid, "{}", v.summary());
    }

    #[test]
    fn a_stale_read_is_caught() {
        // 2 overwrote 1 before the read began, yet the read returned 1.
        let v = verdict(&[w(1, 10, 20), w(2, 30, 40), r(Some(1), 50, 60)]);
        assert_eq!(
            v.anomalies.get("nonlinearizable"),
            Some(&1),
            "{}",
            v.summary()
        );
        assert!(!v.valid);
        // Same with the initial value.
        let v = verdict(&[w(1, 10, 20), r(None, 30, 40)]);
        assert!(!v.valid, "{}", v.summary());
    }

    #[test]
    fn new_then_old_reads_are_caught() {
        // Two sequential reads during a long write: new value, then the old one.
        let v = verdict(&[
            w(1, 10, 20),
            w(2, 30, 100),
            r(Some(2), 40, 50),
            r(Some(1), 60, 70),
        ]);
        assert!(!v.valid, "{}", v.summary());
    }

    #[test]
    fn reads_from_the_future_and_of_failures_are_caught() {
        let v = verdict(&[r(Some(1), 1, 2), w(1, 3, 4)]);
        assert_eq!(
            v.anomalies.get("read-before-write"),
            Some(&1),
            "{}",
            v.summary()
        );
        let v = verdict(&[
            op(0, "write", json!(1), Outcome::Fail, 1, 2),
            r(Some(1), 3, 4),
            r(Some(9), 5, 6),
        ]);
        assert_eq!(v.failed_applied, 1);
        assert_eq!(v.anomalies.get("read-of-unwritten"), Some(&1));
    }

    #[test]
    fn unknown_writes_count_only_when_seen() {
        let unknown =
            |value, start| op(0, "write", json!(value), Outcome::Unknown, start, start + 5);
        // 1 was never seen: it may not have happened, so the read of null is fine.
        let v = verdict(&[unknown(1, 10), r(None, 30, 40)]);
        assert!(v.valid, "{}", v.summary());
        assert_eq!((v.in_doubt, v.in_doubt_applied), (1, 0));
        // 2 was seen late, long after its request: it took effect late, still fine.
        let v = verdict(&[unknown(2, 10), r(None, 30, 40), r(Some(2), 50, 60)]);
        assert!(v.valid, "{}", v.summary());
        assert_eq!(v.in_doubt_applied, 1);
    }
}
