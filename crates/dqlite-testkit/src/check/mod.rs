//! Checkers for the histories of Jepsen-style workloads, written here so that no JVM is
//! needed, and shared by every front (the Rust tests call [`check`]; the Python tests
//! write JSON lines and run `dqlite-testkit check`).
//!
//! A history is a list of [`Op`]s, one per completed operation, each ending in one of
//! three [`Outcome`]s: `ok`, `fail` (definitely not applied) or `unknown` (may or may not
//! have been applied). Final reads, taken after the faults healed and the writers
//! stopped, carry `final: true`. The checkers verify the outcome classification rather
//! than trust it: an applied write reported as `fail` is counted (`failed_applied`) and
//! makes the history invalid, as does an `ok` write missing from the final reads (`lost`)
//! or present twice (`duplicated`).
//!
//! | workload | operations | checks |
//! |---|---|---|
//! | [`Workload::Set`] | `add` n; `read` [n...] | lost, duplicated, unexpected and failed-but-present elements |
//! | [`Workload::Bank`] | `init` {balances}; `transfer` {tid, from, to, amount}; `read` {balances} (final: and `transfers` [[tid, copies]...]) | every read keeps the total; final balances equal the initial ones plus the transfers present; transfers lost, duplicated, failed-but-present |
//! | [`Workload::Append`] | `txn` [["append", k, v] \| ["r", k, [v...] or null]...] | serializability, by Elle's method (`append.rs`): G0, G1a, G1b, G1c, G-single, G2, and lost, duplicated, non-atomic appends |
//! | [`Workload::Register`] | `write` v; `read` v or null | linearizability of one register with unique values (`register.rs`) |
//!
//! Histories are JSON lines (one [`Op`] per line) so that a later Elle run on another
//! machine stays possible.

mod append;
mod bank;
mod register;
mod set;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How an operation ended, as the client reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened.
    Ok,
    /// It definitely did not happen (refused before it ran, never sent whole, rolled back).
    Fail,
    /// It may or may not have happened (the request was sent and the answer was lost).
    Unknown,
}

/// One completed operation of a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// The worker that ran it.
    pub process: u64,
    /// What it was: `add`, `read`, `write`, `txn`, `transfer`, `init`.
    pub f: String,
    /// Its argument, and for a successful read what it read (see the module docs).
    pub value: serde_json::Value,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was invoked, in microseconds since the run began.
    pub start_us: u64,
    /// When it completed.
    pub end_us: u64,
    /// The error, for `fail` and `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A final read: after the faults healed and every writer stopped.
    #[serde(default, rename = "final", skip_serializing_if = "std::ops::Not::not")]
    pub is_final: bool,
}

impl Op {
    /// An operation that is not a final read, without an error.
    pub fn new(
        process: u64,
        f: &str,
        value: serde_json::Value,
        outcome: Outcome,
        start_us: u64,
        end_us: u64,
    ) -> Self {
        Op {
            process,
            f: f.to_owned(),
            value,
            outcome,
            start_us,
            end_us,
            error: None,
            is_final: false,
        }
    }

    fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// The workloads a history can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Unique inserts in autocommit, full reads.
    Set,
    /// Transfers between accounts in transactions, total-preserving reads.
    Bank,
    /// Transactions of list appends and reads (Elle's list-append).
    Append,
    /// Writes of unique values to one register, reads sent to the leader.
    Register,
}

impl std::str::FromStr for Workload {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "set" => Ok(Workload::Set),
            "bank" => Ok(Workload::Bank),
            "append" | "list-append" => Ok(Workload::Append),
            "register" => Ok(Workload::Register),
            other => Err(Error::Invalid(format!(
                "unknown workload {other:?} (set, bank, append, register)"
            ))),
        }
    }
}

/// What a checker found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The workload checked.
    pub workload: String,
    /// True when nothing below is wrong.
    pub valid: bool,
    /// Operations in the history (final reads included).
    pub operations: usize,
    /// Operations by outcome.
    pub ok: usize,
    /// Operations that failed.
    pub failed: usize,
    /// Operations whose outcome is unknown.
    pub unknown: usize,
    /// Write attempts (adds, transfers, transactions that append, register writes).
    pub writes: usize,
    /// Writes reported `ok`.
    pub acknowledged: usize,
    /// Acknowledged writes missing from the final state (must be 0).
    pub lost: usize,
    /// Writes present more than once (must be 0).
    pub duplicated: usize,
    /// Writes reported `unknown`.
    pub in_doubt: usize,
    /// Of those, the ones found applied.
    pub in_doubt_applied: usize,
    /// Writes reported `fail` that were applied (must be 0).
    pub failed_applied: usize,
    /// Anomalies by name (each must be 0 for a valid history), e.g. `G1c`, `stale-read`.
    pub anomalies: BTreeMap<String, usize>,
    /// A few examples of what went wrong, for the log.
    pub examples: Vec<String>,
}

/// How many examples a verdict keeps.
const EXAMPLES: usize = 8;

impl Verdict {
    fn new(workload: Workload, ops: &[Op]) -> Self {
        let count = |o: Outcome| ops.iter().filter(|op| op.outcome == o).count();
        Verdict {
            workload: format!("{workload:?}").to_lowercase(),
            operations: ops.len(),
            ok: count(Outcome::Ok),
            failed: count(Outcome::Fail),
            unknown: count(Outcome::Unknown),
            ..Verdict::default()
        }
    }

    /// Counts one anomaly of kind `name`, keeping `example` if there is room.
    fn anomaly(&mut self, name: &str, example: impl FnOnce() -> String) {
        *self.anomalies.entry(name.to_owned()).or_default() += 1;
        self.example(name, example);
    }

    /// Keeps an example of what went wrong (`kind: text`) if there is room.
    fn example(&mut self, kind: &str, text: impl FnOnce() -> String) {
        if self.examples.len() < EXAMPLES {
            let text = text();
            self.examples.push(format!("{kind}: {text}"));
        }
    }

    fn finish(mut self) -> Self {
        self.valid = self.lost == 0
            && self.duplicated == 0
            && self.failed_applied == 0
            && self.anomalies.values().all(|n| *n == 0);
        self
    }

    /// One line: `valid ops=.. ok=.. fail=.. unknown=.. writes=.. acknowledged=.. lost=..
    /// duplicated=.. in_doubt=..(applied ..) failed_applied=.. anomalies={..}`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {} ops={} ok={} fail={} unknown={} writes={} acknowledged={} lost={} \
             duplicated={} in_doubt={} (applied {}) failed_applied={}",
            self.workload,
            if self.valid { "VALID" } else { "INVALID" },
            self.operations,
            self.ok,
            self.failed,
            self.unknown,
            self.writes,
            self.acknowledged,
            self.lost,
            self.duplicated,
            self.in_doubt,
            self.in_doubt_applied,
            self.failed_applied,
        );
        if !self.anomalies.is_empty() {
            let _ = write!(s, " anomalies={:?}", self.anomalies);
        }
        if !self.examples.is_empty() {
            let _ = write!(s, " examples={:?}", self.examples);
        }
        s
    }
}

/// Checks a history of `workload`.
pub fn check(workload: Workload, ops: &[Op]) -> Verdict {
    let verdict = Verdict::new(workload, ops);
    match workload {
        Workload::Set => set::check(ops, verdict),
        Workload::Bank => bank::check(ops, verdict),
        Workload::Append => append::check(ops, verdict),
        Workload::Register => register::check(ops, verdict),
    }
    .finish()
}

/// Reads a history written as JSON lines (blank lines skipped).
pub fn read_history(text: &str) -> Result<Vec<Op>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| Error::Invalid(format!("history line {}: {e}", n + 1)))
        })
        .collect()
}

/// Writes a history as JSON lines.
pub fn write_history(ops: &[Op]) -> String {
    ops.iter()
        .filter_map(|op| serde_json::to_string(op).ok())
        .map(|line| line + "\n")
        .collect()
}

/// The integer in a JSON value, if it is one.
fn int(value: &serde_json::Value) -> Option<i64> {
    value.as_i64()
}

/// The integers of a JSON array (`None` if it is not an array of integers).
fn ints(value: &serde_json::Value) -> Option<Vec<i64>> {
    value.as_array()?.iter().map(int).collect()
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An operation for hand-made histories; times in microseconds.
    pub(crate) fn op(
        process: u64,
        f: &str,
        value: serde_json::Value,
        outcome: Outcome,
        start: u64,
        end: u64,
    ) -> Op {
        Op::new(process, f, value, outcome, start, end)
    }

    pub(crate) fn final_op(f: &str, value: serde_json::Value, at: u64) -> Op {
        Op {
            is_final: true,
            ..op(99, f, value, Outcome::Ok, at, at + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn histories_round_trip_as_json_lines() {
        let ops = vec![
            op(1, "add", json!(5), Outcome::Ok, 1, 2),
            Op {
                error: Some("OutcomeUnknown(Timeout)".into()),
                ..op(2, "add", json!(6), Outcome::Unknown, 3, 4)
            },
            final_op("read", json!([5]), 10),
        ];
        let text = write_history(&ops);
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains(r#""outcome":"unknown""#), "{text}");
        assert!(text.contains(r#""final":true"#), "{text}");
        assert!(!text.lines().next().unwrap().contains("final"));
        assert_eq!(read_history(&text).unwrap(), ops);
        assert!(read_history("{").is_err());
        assert_eq!("append".parse::<Workload>().unwrap(), Workload::Append);
    }
}
