//! The report's verdicts: a summary across workloads, the targets (met or not), W9's
//! scaling (linear time, flat memory) and the regression check against the previous
//! report.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::stats::{Table, fmt, median_of, paired};
use crate::plan::{self, Bound, Spec};

/// Workloads of the summary table, in its column order.
const SUMMARY: [&str; 13] = [
    "w1pin",
    "w3",
    "w4",
    "w5",
    "w5pool",
    "w6core",
    "w6orm",
    "w7connect",
    "w7checkout",
    "w8in-16m",
    "w8out-16m",
    "w9-5m",
    "w9idle",
];

/// Largest W9 time per row over the next smaller size's (median rates) still linear.
const LINEAR_SLACK: f64 = 1.15;
/// Most peak RSS growth from the smallest W9 run to the largest still called flat, MiB.
const FLAT_MIB: f64 = 8.0;
/// Widest change of a paired ratio from the previous report that is no regression.
const REGRESSION_SLACK: f64 = 0.05;

/// What the summary table shows.
pub const SUMMARY_LEGEND: &str = "Median, and in brackets the paired ratio to the \
     workload's baseline (the raw-socket floor; for w6 the reference in the same mode; for \
     w7checkout and w9idle go-dqlite)";

/// The summary section.
pub fn summary(md: &mut String, specs: &[&Spec], table: &Table<'_>) {
    if let Some(rows) = summary_table(specs, table) {
        let _ = writeln!(
            md,
            "## Summary\n\n{SUMMARY_LEGEND}. Details and spreads in the tables below.\n\n{rows}"
        );
    }
}

/// A table with one row per client: each key workload's median and paired ratio.
pub fn summary_table(specs: &[&Spec], table: &Table<'_>) -> Option<String> {
    let columns: Vec<&Spec> = SUMMARY
        .iter()
        .filter_map(|k| specs.iter().find(|s| s.key == *k).copied())
        .filter(|s| !table.clients(s.key).is_empty())
        .collect();
    if columns.is_empty() {
        return None;
    }
    let mut md = String::new();
    let mut head = String::from("| client |");
    let mut rule = String::from("|---|");
    for spec in &columns {
        let _ = write!(head, " {} ({}) |", spec.key, spec.metric.unit());
        rule.push_str("---|");
    }
    let _ = writeln!(md, "{head}\n{rule}");
    for client in plan::CLIENTS {
        if columns.iter().all(|s| table.get(s.key, client).is_empty()) {
            continue;
        }
        let mut row = format!("| {client} |");
        for spec in &columns {
            let samples = table.get(spec.key, client);
            if samples.is_empty() {
                row.push_str(" |");
                continue;
            }
            let base = table.get(spec.key, spec.baseline.client_for(client));
            let _ = write!(
                row,
                " {} ({:.2}) |",
                fmt(median_of(samples, |s| Some(s.value))),
                paired(samples, base)
            );
        }
        let _ = writeln!(md, "{row}");
    }
    Some(md)
}

/// Every target of the selected workloads, judged; returns how many were met and how
/// many were judged.
pub fn targets(md: &mut String, specs: &[&Spec], table: &Table<'_>) -> (usize, usize) {
    let mut rows = Vec::new();
    let mut met_count = 0;
    let mut judged = 0;
    for spec in specs {
        for target in spec.targets {
            let samples = table.get(spec.key, target.client);
            let base = table.get(spec.key, spec.baseline.client_for(target.client));
            let (what, figure, met) = match target.bound {
                Bound::RatioAtMost(t) => {
                    let r = paired(samples, base);
                    (format!("paired ratio <= {t:.2}"), r, r <= t)
                }
                Bound::RatioAtLeast(t) => {
                    let r = paired(samples, base);
                    (format!("paired ratio >= {t:.2}"), r, r >= t)
                }
                Bound::VsGoAtLeast(t) => {
                    let r = paired(samples, table.get(spec.key, plan::GO));
                    (format!("paired ratio to go-dqlite >= {t:.2}"), r, r >= t)
                }
                Bound::CpuAtMost(t) => {
                    let cpu = median_of(samples, |s| s.cpu_us);
                    (format!("client CPU per query <= {t:.1} µs"), cpu, cpu <= t)
                }
                Bound::TailAtMost(t) => {
                    let tail = median_of(samples, |s| s.p99.map(|p| p / s.value));
                    (format!("p99 <= {t:.1} x median"), tail, tail <= t)
                }
            };
            let verdict = if figure.is_nan() {
                "not measured"
            } else if met {
                "met"
            } else {
                "**NOT met**"
            };
            if !figure.is_nan() {
                judged += 1;
                met_count += usize::from(met);
            }
            rows.push(format!(
                "| {} | {} | {what} | {} | {verdict} | {} |",
                spec.key,
                target.client,
                fmt(figure),
                target.source
            ));
        }
    }
    if rows.is_empty() {
        return (0, 0);
    }
    let _ = writeln!(
        md,
        "## Targets\n\n| workload | client | target | figure | verdict | set by |\n\
         |---|---|---|---|---|---|\n{}\n",
        rows.join("\n")
    );
    (met_count, judged)
}

/// W9: time must grow linearly with the rows, streamed memory stay flat.
pub fn scaling(md: &mut String, specs: &[&Spec], table: &Table<'_>, quick: bool) {
    let sizes: Vec<&Spec> = specs.iter().copied().filter(|s| s.worker == "w9").collect();
    if sizes.len() < 3 {
        return;
    }
    let mut head = String::from("| client |");
    let mut rule = String::from("|---|");
    for spec in &sizes {
        let _ = write!(head, " {} rows: s (MiB) |", plan::short(spec.size(quick)));
        rule.push_str("---|");
    }
    let _ = writeln!(
        md,
        "## W9 scaling\n\nSeconds to stream each size (median) and, in brackets, the peak \
         RSS. Linear: the time per row of the largest size the client ran is at most \
         {LINEAR_SLACK:.2}x that of the size before it (the small sizes are dominated by \
         fixed costs). Flat: peak RSS grows by at most \
         {FLAT_MIB:.0} MiB from the smallest size to the largest.\n\n\
         {head} time per row, largest / the size before | linear | flat |\n{rule}---|---|---|"
    );
    for client in plan::CLIENTS {
        let rates: Vec<Option<(u64, f64, f64)>> = sizes
            .iter()
            .map(|spec| {
                let samples = table.get(spec.key, client);
                (!samples.is_empty()).then(|| {
                    (
                        spec.size(quick),
                        median_of(samples, |s| Some(s.value)),
                        median_of(samples, |s| s.rss_mib),
                    )
                })
            })
            .collect();
        let ran: Vec<(u64, f64, f64)> = rates.iter().flatten().copied().collect();
        if ran.is_empty() {
            continue;
        }
        let mut row = format!("| {client} |");
        for r in &rates {
            match r {
                Some((size, rate, rss)) => {
                    let _ = write!(row, " {} ({rss:.0}) |", fmt(*size as f64 / rate));
                }
                None => row.push_str(" |"),
            }
        }
        let before_last = ran.len().checked_sub(2).and_then(|i| ran.get(i));
        let (Some(first), Some(before), Some(last)) = (ran.first(), before_last, ran.last()) else {
            let _ = writeln!(md, "{row} - | - | - |");
            continue;
        };
        let growth = before.1 / last.1;
        let linear = if ran.len() < 3 {
            "-"
        } else if growth <= LINEAR_SLACK {
            "met"
        } else {
            "**NOT met**"
        };
        let flat = if last.2 - first.2 <= FLAT_MIB {
            "met"
        } else {
            "**NOT met**"
        };
        let _ = writeln!(md, "{row} {growth:.2} | {linear} | {flat} |");
    }
    md.push('\n');
}

/// Our clients' paired ratios on W1, W3 and W4 against the previous report's (a full
/// run): no regression means within 5% of them (issue 18).
pub fn regression(md: &mut String, specs: &[&Spec], table: &Table<'_>, previous: Option<&Json>) {
    let Some(previous) = previous else { return };
    if previous.get("quick").and_then(Json::as_bool) != Some(false) {
        return;
    }
    let before = |workload: &str, client: &str| -> Option<f64> {
        previous
            .get("summary")?
            .as_array()?
            .iter()
            .find(|s| {
                s.get("workload").and_then(Json::as_str) == Some(workload)
                    && s.get("client").and_then(Json::as_str) == Some(client)
            })?
            .get("paired_ratio")?
            .as_f64()
    };
    let mut rows = Vec::new();
    for spec in specs
        .iter()
        .filter(|s| ["w1", "w1pin", "w3", "w4"].contains(&s.key))
    {
        for client in table.clients(spec.key) {
            if !(client.starts_with("rust-") || client.starts_with("python-")) {
                continue;
            }
            let Some(was) = before(spec.key, client) else {
                continue;
            };
            let samples = table.get(spec.key, client);
            let now = paired(samples, table.get(spec.key, plan::FLOOR));
            let change = now / was - 1.0;
            let worse = if spec.metric.higher_is_better() {
                -change
            } else {
                change
            };
            let verdict = if worse <= REGRESSION_SLACK {
                "met"
            } else {
                "**NOT met**"
            };
            rows.push(format!(
                "| {} | {client} | {was:.3} | {now:.3} | {:+.1}% | {verdict} |",
                spec.key,
                change * 100.0
            ));
        }
    }
    if rows.is_empty() {
        return;
    }
    let date = previous.get("date").and_then(Json::as_str).unwrap_or("?");
    let _ = writeln!(
        md,
        "## Regression check\n\nPaired ratios to the floor against the previous report \
         ({date}): within {:.0}% of them, or better (issue 18).\n\n\
         | workload | client | before | now | change | within 5% |\n\
         |---|---|---|---|---|---|\n{}\n",
        REGRESSION_SLACK * 100.0,
        rows.join("\n")
    );
}
