//! The report: one table per workload (medians, spreads, ratios to its baseline), the
//! targets judged on paired ratios, W9's scaling, the regression check against the
//! previous report; the Markdown file, the JSON numbers and the chart.

mod judge;
mod readme;
mod stats;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::{Value as Json, json};

use crate::plan::{Baseline, Metric, Spec};
use stats::{Table, fmt, median_of, paired};

/// What the suite ran and measured.
pub struct Run<'a> {
    pub results: &'a [Json],
    pub specs: &'a [&'a Spec],
    pub version: &'a str,
    pub quick: bool,
    pub reps: usize,
    pub only: &'a [String],
    /// Times the leader changed during the run.
    pub leader_changes: usize,
    pub minutes: f64,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

fn now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn baseline_name(baseline: Baseline) -> &'static str {
    match baseline {
        Baseline::Floor => "the raw-socket floor (`raw`)",
        Baseline::Reference => {
            "the pure-Python reference in the same mode (`peer-python` for sync, \
             `peer-python-aio` for asyncio)"
        }
        Baseline::Go => "go-dqlite (`go-dqlite`)",
    }
}

/// One workload's table; returns its summary rows (for the JSON and the chart).
fn workload_table(md: &mut String, spec: &Spec, table: &Table<'_>, quick: bool) -> Vec<Json> {
    let clients = table.clients(spec.key);
    if clients.is_empty() {
        return Vec::new();
    }
    let _ = writeln!(
        md,
        "## {}: {} ({})\n\nRatios to {}; {}.\n",
        spec.key,
        spec.title_for(quick),
        spec.metric.unit(),
        baseline_name(spec.baseline),
        if spec.metric.higher_is_better() {
            "higher is better"
        } else {
            "lower is better"
        }
    );
    let latency = spec.metric == Metric::Latency;
    let mut head = String::from("| client | median | spread | ratio | paired ratio |");
    let mut rule = String::from("|---|---|---|---|---|");
    for (on, name) in [
        (latency, " p99 (µs) |"),
        (spec.rss, " peak RSS (MiB) |"),
        (spec.cpu, " CPU per query (µs) |"),
        (spec.cpu, " of which user space (µs) |"),
    ] {
        if on {
            head.push_str(name);
            rule.push_str("---|");
        }
    }
    let _ = writeln!(md, "{head}\n{rule}");
    let mut summary = Vec::new();
    for client in clients {
        let samples = table.get(spec.key, client);
        let base_name = spec.baseline.client_for(client);
        let base = table.get(spec.key, base_name);
        let m = median_of(samples, |s| Some(s.value));
        let ratio = m / median_of(base, |s| Some(s.value));
        let pair = paired(samples, base);
        let lo = samples
            .iter()
            .map(|s| s.value)
            .fold(f64::INFINITY, f64::min);
        let hi = samples
            .iter()
            .map(|s| s.value)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut row = format!(
            "| {client} | {} | [{} - {}] | {} | {} |",
            fmt(m),
            fmt(lo),
            fmt(hi),
            ratio_cell(ratio),
            ratio_cell(pair)
        );
        if latency {
            let _ = write!(row, " {} |", fmt(median_of(samples, |s| s.p99)));
        }
        if spec.rss {
            let _ = write!(row, " {:.0} |", median_of(samples, |s| s.rss_mib));
        }
        if spec.cpu {
            let _ = write!(row, " {} |", fmt(median_of(samples, |s| s.cpu_us)));
            let _ = write!(row, " {} |", fmt(median_of(samples, |s| s.cpu_user_us)));
        }
        let _ = writeln!(md, "{row}");
        summary.push(json!({"workload": spec.key, "client": client, "median": m,
                            "baseline": base_name, "ratio": ratio, "paired_ratio": pair,
                            "higher_is_better": spec.metric.higher_is_better()}));
    }
    md.push('\n');
    summary
}

fn repetitions(n: usize) -> String {
    format!("{n} repetition{}", if n == 1 { "" } else { "s" })
}

fn ratio_cell(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.3}")
    } else {
        "-".into()
    }
}

/// Wall time of the workers per workload, for choosing what `--only` runs.
fn wall_times(md: &mut String, run: &Run<'_>) {
    let cells: Vec<String> = run
        .specs
        .iter()
        .map(|spec| {
            let seconds: f64 = run
                .results
                .iter()
                .filter(|r| r.get("workload").and_then(Json::as_str) == Some(spec.key))
                .filter_map(|r| r.get("wall_s").and_then(Json::as_f64))
                .sum();
            format!("{} {seconds:.0} s", spec.key)
        })
        .collect();
    let _ = writeln!(
        md,
        "Worker wall time per workload, all clients and repetitions: {}.\n",
        cells.join(", ")
    );
}

/// Writes `<out>.md`, `<out>.json` and `<out>.png`.
pub fn write(out: &Path, run: &Run<'_>, python: &Path) -> Result<(), String> {
    let json_path = out.with_extension("json");
    let previous: Option<Json> = std::fs::read_to_string(&json_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let table = Table::collect(run.results, run.specs);
    let mut command = String::from("cargo run --release -p dqlite-bench");
    let mut flags = Vec::new();
    if run.quick {
        flags.push("--quick".to_owned());
    }
    if run.reps != if run.quick { 2 } else { 5 } {
        flags.push(format!("--reps {}", run.reps));
    }
    if !run.only.is_empty() {
        flags.push(format!("--only {}", run.only.join(",")));
    }
    if !flags.is_empty() {
        let _ = write!(command, " -- {}", flags.join(" "));
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\nGenerated by `{command}` on {}, {} ({}, {:.0} minutes), \
         dqlite {} (3 nodes on 127.0.0.1). Each cell is the median of the repetitions \
         (spread min-max in brackets). Every workload is compared with a baseline measured \
         in the same run (the raw-socket floor unless said): the ratio of the medians, and \
         the paired ratio (the median over repetitions of the client's figure over the \
         baseline's figure of the same repetition, which a machine that drifts between \
         repetitions disturbs less). Targets are judged on the paired ratio. Clients: see \
         [the suite's README](../crates/dqlite-bench/README.md).\n",
        machine(),
        now(),
        repetitions(run.reps),
        run.minutes,
        run.version,
    );
    if run.leader_changes > 0 {
        let _ = writeln!(
            md,
            "**The leader changed {} time(s) during this run**: the machine was overloaded \
             (or a 16 MiB Raft entry took too long), and the figures around each change are \
             suspect. Failed runs are listed at the end.\n",
            run.leader_changes
        );
    }
    judge::summary(&mut md, run.specs, &table);
    let (met, judged) = judge::targets(&mut md, run.specs, &table);
    judge::scaling(&mut md, run.specs, &table, run.quick);
    judge::regression(&mut md, run.specs, &table, previous.as_ref());
    let mut summary = Vec::new();
    for spec in run.specs {
        summary.extend(workload_table(&mut md, spec, &table, run.quick));
    }
    let failures: Vec<String> = run
        .results
        .iter()
        .filter_map(|r| {
            let error = r.get("result")?.get("error")?.as_str()?;
            Some(format!(
                "- rep {} {} {}: {}",
                r.get("rep")?,
                r.get("workload")?.as_str()?,
                r.get("client")?.as_str()?,
                error.trim().lines().last().unwrap_or(error)
            ))
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(
            md,
            "## Failed runs (left out of the medians)\n\n{}\n",
            failures.join("\n")
        );
    }
    wall_times(&mut md, run);
    let png = out.with_extension("png");
    let raw = json!({"version": run.version, "machine": machine(), "date": now(),
                     "quick": run.quick, "only": run.only, "reps": run.reps,
                     "leader_changes": run.leader_changes,
                     "runs": run.results, "summary": summary});
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&json_path, format!("{raw:#}\n")).map_err(|e| e.to_string())?;
    let charted = Command::new(python)
        .args(["crates/dqlite-bench/python/chart.py"])
        .arg(&json_path)
        .arg(&png)
        .status()
        .is_ok_and(|s| s.success());
    if charted {
        let name = png
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(md, "![ratios to the baselines]({name})");
    } else {
        let _ = writeln!(md, "(no chart: matplotlib is not installed)");
    }
    let md_path = out.with_extension("md");
    std::fs::write(&md_path, &md).map_err(|e| e.to_string())?;
    if out == Path::new(readme::FULL_RUN_OUT)
        && let Some(rows) = judge::summary_table(run.specs, &table)
    {
        readme::update(
            Path::new(readme::README),
            &format!(
                "Last full run ({}, {}, dqlite {}, {}). {}; {met} of {judged} \
             targets met. Details, spreads and every target's verdict: \
             [docs/benchmarks.md](docs/benchmarks.md).\n\n{rows}",
                now(),
                machine(),
                run.version,
                repetitions(run.reps),
                judge::SUMMARY_LEGEND,
            ),
        )?;
    }
    println!("{md}");
    eprintln!("wrote {} and {}", md_path.display(), json_path.display());
    Ok(())
}
