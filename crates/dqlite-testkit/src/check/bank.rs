//! The bank workload: transfers between accounts inside transactions, each recorded in a
//! `transfers` table under a fresh transfer id (no unique constraint, so a transfer applied
//! twice shows as two rows); reads of every balance must keep the initial total. The final
//! read also returns the transfers present, as `[[tid, copies], ...]`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Op, Outcome, Verdict, int, ints};

struct Transfer {
    from: usize,
    to: usize,
    amount: i64,
}

fn transfer(value: &Value) -> Option<(i64, Transfer)> {
    let index = |k: &str| int(value.get(k)?).and_then(|n| usize::try_from(n).ok());
    Some((
        int(value.get("tid")?)?,
        Transfer {
            from: index("from")?,
            to: index("to")?,
            amount: int(value.get("amount")?)?,
        },
    ))
}

pub(super) fn check(ops: &[Op], mut v: Verdict) -> Verdict {
    let Some(initial) = ops
        .iter()
        .find(|op| op.f == "init")
        .and_then(|op| ints(op.value.get("balances")?))
    else {
        v.anomaly("malformed", || {
            "no init operation with the initial balances".into()
        });
        return v;
    };
    let total: i64 = initial.iter().sum();
    let mut transfers: BTreeMap<i64, (Transfer, Outcome)> = BTreeMap::new();
    for op in ops.iter().filter(|op| op.f == "transfer") {
        let Some((tid, t)) = transfer(&op.value) else {
            v.anomaly("malformed", || format!("{op:?}"));
            continue;
        };
        v.writes += 1;
        match op.outcome {
            Outcome::Ok => v.acknowledged += 1,
            Outcome::Unknown => v.in_doubt += 1,
            Outcome::Fail => {}
        }
        if transfers.insert(tid, (t, op.outcome)).is_some() {
            v.anomaly("malformed", || format!("transfer id {tid} used twice"));
        }
    }
    for op in ops.iter().filter(|op| op.f == "read" && op.is_ok()) {
        let Some(balances) = op.value.get("balances").and_then(ints) else {
            v.anomaly("malformed", || format!("{op:?}"));
            continue;
        };
        let seen: i64 = balances.iter().sum();
        if seen != total || balances.len() != initial.len() {
            v.anomaly("wrong-total", || {
                format!(
                    "read at {} us saw {balances:?} (total {seen}, expected {total})",
                    op.start_us
                )
            });
        }
    }
    let Some(last) = ops
        .iter()
        .rfind(|op| op.f == "read" && op.is_ok() && op.is_final)
    else {
        v.anomaly("no-final-read", || "no successful final read".into());
        return v;
    };
    let (Some(balances), Some(rows)) = (
        last.value.get("balances").and_then(ints),
        last.value.get("transfers").and_then(Value::as_array),
    ) else {
        v.anomaly("malformed", || format!("final read {:?}", last.value));
        return v;
    };
    let mut expected = initial.clone();
    let mut present = BTreeSet::new();
    for row in rows {
        let Some([tid, copies]) = ints(row).and_then(|r| <[i64; 2]>::try_from(r).ok()) else {
            v.anomaly("malformed", || format!("transfer row {row}"));
            continue;
        };
        present.insert(tid);
        match transfers.get(&tid) {
            None => v.anomaly("unexpected", || {
                format!("transfer {tid} was never attempted")
            }),
            Some((t, outcome)) => {
                if let (Some(from), Some(to)) = (expected.get_mut(t.from), Some(t.to)) {
                    *from -= t.amount * copies;
                    if let Some(to) = expected.get_mut(to) {
                        *to += t.amount * copies;
                    }
                }
                if copies > 1 {
                    v.duplicated += 1;
                    v.example("duplicated", || {
                        format!("transfer {tid} applied {copies} times")
                    });
                }
                match outcome {
                    Outcome::Fail => v.failed_applied += 1,
                    Outcome::Unknown => v.in_doubt_applied += 1,
                    Outcome::Ok => {}
                }
            }
        }
    }
    for (tid, (_, outcome)) in &transfers {
        if *outcome == Outcome::Ok && !present.contains(tid) {
            v.lost += 1;
            v.example("lost", || format!("transfer {tid} committed, not present"));
        }
    }
    if balances != expected {
        v.anomaly("balances-disagree", || {
            format!("final balances {balances:?}, transfers present give {expected:?}")
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Outcome, Workload, check};
    use serde_json::json;

    fn t(tid: i64, from: i64, to: i64, amount: i64) -> serde_json::Value {
        json!({"tid": tid, "from": from, "to": to, "amount": amount})
    }

    #[test]
    fn consistent_bank_is_valid() {
        let ops = vec![
            op(0, "init", json!({"balances": [10, 10]}), Outcome::Ok, 0, 1),
            op(1, "transfer", t(1, 0, 1, 3), Outcome::Ok, 1, 2),
            op(1, "transfer", t(2, 1, 0, 5), Outcome::Fail, 3, 4),
            op(2, "transfer", t(3, 1, 0, 1), Outcome::Unknown, 3, 9),
            op(3, "read", json!({"balances": [7, 13]}), Outcome::Ok, 2, 3),
            final_op(
                "read",
                json!({"balances": [8, 12], "transfers": [[1, 1], [3, 1]]}),
                20,
            ),
        ];
        let v = check(Workload::Bank, &ops);
        assert!(v.valid, "{}", v.summary());
        assert_eq!(
            (v.writes, v.acknowledged, v.in_doubt, v.in_doubt_applied),
            (3, 1, 1, 1)
        );
    }

    #[test]
    fn broken_totals_and_duplicates_are_caught() {
        let ops = vec![
            op(0, "init", json!({"balances": [10, 10]}), Outcome::Ok, 0, 1),
            op(1, "transfer", t(1, 0, 1, 3), Outcome::Ok, 1, 2),
            op(1, "transfer", t(2, 0, 1, 1), Outcome::Ok, 1, 2),
            op(1, "transfer", t(3, 0, 1, 1), Outcome::Fail, 1, 2),
            op(3, "read", json!({"balances": [7, 10]}), Outcome::Ok, 2, 3),
            final_op(
                "read",
                json!({"balances": [3, 17], "transfers": [[1, 2], [3, 1]]}),
                20,
            ),
        ];
        let v = check(Workload::Bank, &ops);
        assert!(!v.valid);
        assert_eq!(
            (v.lost, v.duplicated, v.failed_applied),
            (1, 1, 1),
            "{}",
            v.summary()
        );
        assert_eq!(v.anomalies.get("wrong-total"), Some(&1));
        assert_eq!(
            v.anomalies.get("balances-disagree"),
            None,
            "{}",
            v.summary()
        );
    }
}
