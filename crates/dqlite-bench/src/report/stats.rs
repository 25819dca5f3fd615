//! The runs' figures gathered per workload and client, medians and paired ratios.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::plan::Spec;

/// One successful run of a (workload, client) pair.
#[derive(Clone, Copy)]
pub struct Sample {
    pub rep: u64,
    /// The workload's figure (see `Metric::key`).
    pub value: f64,
    /// p99 latency (latency workloads).
    pub p99: Option<f64>,
    /// Peak RSS of the worker, MiB.
    pub rss_mib: Option<f64>,
    /// Client CPU per operation, µs.
    pub cpu_us: Option<f64>,
    /// The user-space part of `cpu_us` (the rest is the kernel's, mostly system calls).
    pub cpu_user_us: Option<f64>,
}

/// Workload key -> client -> samples over repetitions.
pub struct Table<'a> {
    samples: BTreeMap<&'a str, BTreeMap<&'a str, Vec<Sample>>>,
}

impl<'a> Table<'a> {
    /// Gathers the successful runs of `specs` from the suite's results.
    pub fn collect(results: &'a [Json], specs: &[&Spec]) -> Table<'a> {
        let mut samples: BTreeMap<&str, BTreeMap<&str, Vec<Sample>>> = BTreeMap::new();
        for r in results {
            let (Some(w), Some(c), Some(result)) = (
                r.get("workload").and_then(Json::as_str),
                r.get("client").and_then(Json::as_str),
                r.get("result"),
            ) else {
                continue;
            };
            let Some(spec) = specs.iter().find(|s| s.key == w) else {
                continue;
            };
            let Some(value) = result.get(spec.metric.key()).and_then(Json::as_f64) else {
                continue;
            };
            let field = |k: &str| result.get(k).and_then(Json::as_f64);
            samples
                .entry(w)
                .or_default()
                .entry(c)
                .or_default()
                .push(Sample {
                    rep: r.get("rep").and_then(Json::as_u64).unwrap_or(0),
                    value,
                    p99: field("p99_us"),
                    rss_mib: field("peak_rss_kib").map(|k| k / 1024.0),
                    cpu_us: field("cpu_us_per_op"),
                    cpu_user_us: field("cpu_user_us_per_op"),
                });
        }
        Table { samples }
    }

    /// The samples of `client` on `workload` (empty if it never ran or always failed).
    pub fn get(&self, workload: &str, client: &str) -> &[Sample] {
        self.samples
            .get(workload)
            .and_then(|c| c.get(client))
            .map_or(&[], Vec::as_slice)
    }

    /// Clients with at least one sample on `workload`, in the report's client order.
    pub fn clients(&self, workload: &str) -> Vec<&'static str> {
        crate::plan::CLIENTS
            .iter()
            .copied()
            .filter(|c| !self.get(workload, c).is_empty())
            .collect()
    }
}

/// The median (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values.get(n / 2).copied().unwrap_or(f64::NAN),
        n => {
            let a = values.get(n / 2 - 1).copied().unwrap_or(f64::NAN);
            let b = values.get(n / 2).copied().unwrap_or(f64::NAN);
            (a + b) / 2.0
        }
    }
}

/// The median of one field over the samples that have it.
pub fn median_of(samples: &[Sample], field: impl Fn(&Sample) -> Option<f64>) -> f64 {
    median(samples.iter().filter_map(field).collect())
}

/// The median over repetitions of `client`'s figure over `base`'s figure of the same
/// repetition: a machine that drifts between repetitions disturbs it less than the ratio
/// of medians.
pub fn paired(client: &[Sample], base: &[Sample]) -> f64 {
    median(
        client
            .iter()
            .filter_map(|s| {
                base.iter()
                    .find(|b| b.rep == s.rep)
                    .map(|b| s.value / b.value)
            })
            .collect(),
    )
}

/// Formats a figure with a sensible number of digits.
pub fn fmt(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rep: u64, value: f64) -> Sample {
        Sample {
            rep,
            value,
            p99: None,
            rss_mib: None,
            cpu_us: None,
            cpu_user_us: None,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn paired_ratio_pairs_repetitions_and_skips_unpaired_ones() {
        // The floor drifts 2x between repetitions; the client is always 1.1x its floor.
        let floor = [run(0, 10.0), run(1, 20.0), run(2, 10.0)];
        let client = [run(0, 11.0), run(1, 22.0), run(2, 11.0), run(3, 99.0)];
        assert!((paired(&client, &floor) - 1.1).abs() < 1e-12);
        // The ratio of the medians is thrown off by the drift; the paired one is not.
        let by_median =
            median_of(&client, |s| Some(s.value)) / median_of(&floor, |s| Some(s.value));
        assert!((by_median - 1.1).abs() > 0.1);
        assert!(paired(&client, &[]).is_nan());
    }

    #[test]
    fn collects_each_workloads_own_figure_and_skips_failures() {
        let specs: Vec<&Spec> = ["w1", "w5"]
            .iter()
            .filter_map(|k| crate::plan::SPECS.iter().find(|s| s.key == *k))
            .collect();
        let results = vec![
            serde_json::json!({"rep": 0, "workload": "w1", "client": "raw",
                               "result": {"median_us": 20.0, "p99_us": 30.0, "n": 3}}),
            serde_json::json!({"rep": 0, "workload": "w5", "client": "raw",
                               "result": {"per_s": 1000.0, "cpu_us_per_op": 4.0,
                                          "cpu_user_us_per_op": 1.5,
                                          "peak_rss_kib": 2048}}),
            serde_json::json!({"rep": 1, "workload": "w5", "client": "raw",
                               "result": {"error": "failed"}}),
        ];
        let table = Table::collect(&results, &specs);
        let w1 = table.get("w1", "raw");
        assert_eq!(w1.len(), 1);
        assert_eq!((w1[0].value, w1[0].p99), (20.0, Some(30.0)));
        let w5 = table.get("w5", "raw");
        assert_eq!(w5.len(), 1);
        assert_eq!(
            (w5[0].value, w5[0].cpu_us, w5[0].cpu_user_us, w5[0].rss_mib),
            (1000.0, Some(4.0), Some(1.5), Some(2.0))
        );
        assert_eq!(table.clients("w5"), vec!["raw"]);
        assert!(table.get("w5", "go-dqlite").is_empty());
    }
}
