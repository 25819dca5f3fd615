//! Serializability of list-append transactions, by Elle's method (Kingsbury and Alvaro,
//! "Elle: inferring isolation anomalies from experimental observations", 2020).
//!
//! Each transaction appends unique values to keys (lists) and reads whole lists. Since
//! every value is appended once, a read names the transaction that wrote each element,
//! and the longest read of a key gives that key's version order (every other read must be
//! a prefix of it). From the version orders the checker infers dependencies between
//! committed transactions:
//!
//! * **ww**: T1 appended the element right before T2's in a key's order;
//! * **wr**: T2 read a list whose last element T1 appended;
//! * **rw** (anti-dependency): T1 read a list of a key, and T2 appended the element that
//!   follows the read's last one in the order.
//!
//! A serializable history has an acyclic dependency graph. Cycles are classified as
//! Adya's phenomena: **G0** (ww edges only), **G1c** (ww and wr only), **G-single**
//! (exactly one rw edge), **G2** (more). Without cycles it also catches **G1a** (a read
//! of an element appended by a failed transaction), **G1b** (a read ending in an element
//! its transaction later followed with another append to the same key), **internal**
//! inconsistencies (a read that misses its own transaction's earlier append), duplicate
//! elements, incompatible orders, and, against the final reads, lost and non-atomic
//! transactions. A transaction whose outcome is unknown joins the graph when some of its
//! appends are visible (it committed); its reads are unknown.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{Op, Outcome, Verdict, int, ints};

const WW: u8 = 1;
const WR: u8 = 2;
const RW: u8 = 4;

enum Mop {
    Append(i64, i64),
    Read(i64, Option<Vec<i64>>),
}

struct Txn<'a> {
    op: &'a Op,
    mops: Vec<Mop>,
}

impl Txn<'_> {
    fn describe(&self) -> String {
        let mops: Vec<String> = self
            .mops
            .iter()
            .map(|m| match m {
                Mop::Append(k, v) => format!("append {k} {v}"),
                Mop::Read(k, Some(l)) => format!("r {k} {l:?}"),
                Mop::Read(k, None) => format!("r {k} ?"),
            })
            .collect();
        format!(
            "[{}] ({:?}, process {}, {}-{} us)",
            mops.join(", "),
            self.op.outcome,
            self.op.process,
            self.op.start_us,
            self.op.end_us
        )
    }
}

fn parse(op: &Op) -> Option<Vec<Mop>> {
    op.value
        .as_array()?
        .iter()
        .map(|m| {
            let m = m.as_array()?;
            let (f, k, v) = (m.first()?.as_str()?, int(m.get(1)?)?, m.get(2)?);
            match f {
                "append" => Some(Mop::Append(k, int(v)?)),
                "r" => Some(Mop::Read(
                    k,
                    if v.is_null() { None } else { Some(ints(v)?) },
                )),
                _ => None,
            }
        })
        .collect()
}

/// Where an element came from: (transaction, whether it is that transaction's last
/// append to the key).
type Writers = BTreeMap<(i64, i64), (usize, bool)>;

pub(super) fn check(ops: &[Op], mut v: Verdict) -> Verdict {
    let mut txns = Vec::new();
    for op in ops.iter().filter(|op| op.f == "txn") {
        match parse(op) {
            Some(mops) => txns.push(Txn { op, mops }),
            None => v.anomaly("malformed", || format!("{:?}", op.value)),
        }
    }
    let mut writers: Writers = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        let appends: Vec<(i64, i64)> = txn
            .mops
            .iter()
            .filter_map(|m| match m {
                Mop::Append(k, e) => Some((*k, *e)),
                Mop::Read(..) => None,
            })
            .collect();
        for (i, (k, e)) in appends.iter().enumerate() {
            let last = !appends.iter().skip(i + 1).any(|(k2, _)| k2 == k);
            if writers.insert((*k, *e), (t, last)).is_some() {
                v.anomaly("malformed", || format!("element {e} appended to {k} twice"));
            }
        }
        if !appends.is_empty() {
            v.writes += 1;
            match txn.op.outcome {
                Outcome::Ok => v.acknowledged += 1,
                Outcome::Unknown => v.in_doubt += 1,
                Outcome::Fail => {}
            }
        }
    }
    let committed_reads = reads(&txns, &writers, &mut v);
    let orders = version_orders(&committed_reads, &mut v);
    let visible: BTreeSet<usize> = orders
        .iter()
        .flat_map(|(k, order)| order.iter().filter_map(|e| writers.get(&(*k, *e))))
        .map(|(t, _)| *t)
        .collect();
    final_state(&txns, &orders, &committed_reads, &visible, &mut v);
    let in_graph = |t: usize| {
        txns.get(t).is_some_and(|txn| match txn.op.outcome {
            Outcome::Ok => true,
            Outcome::Unknown => visible.contains(&t),
            Outcome::Fail => false,
        })
    };
    let mut edges: Vec<BTreeMap<usize, u8>> = vec![BTreeMap::new(); txns.len()];
    let mut link = |from: usize, to: usize, kind: u8| {
        if from != to
            && in_graph(from)
            && in_graph(to)
            && let Some(out) = edges.get_mut(from)
        {
            *out.entry(to).or_default() |= kind;
        }
    };
    for (k, order) in &orders {
        let writer = |e: &i64| writers.get(&(*k, *e)).map(|(t, _)| *t);
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) =
                (pair.first().and_then(writer), pair.get(1).and_then(writer))
            {
                link(a, b, WW);
            }
        }
        for (t, key, list) in &committed_reads {
            if key != k {
                continue;
            }
            if let Some(w) = list.last().and_then(writer) {
                link(w, *t, WR);
            }
            if let Some(w) = order.get(list.len()).and_then(writer) {
                link(*t, w, RW);
            }
        }
    }
    let graph: Vec<Vec<(usize, u8)>> = edges.into_iter().map(|m| m.into_iter().collect()).collect();
    for component in sccs(&graph, WW | WR | RW, &|_| true) {
        classify(&graph, &component, &txns, &mut v);
    }
    v
}

/// Checks every read of a committed transaction; returns them as (transaction, key, list).
fn reads(txns: &[Txn<'_>], writers: &Writers, v: &mut Verdict) -> Vec<(usize, i64, Vec<i64>)> {
    let mut out = Vec::new();
    let mut failed_seen = BTreeSet::new();
    for (t, txn) in txns.iter().enumerate() {
        if txn.op.outcome != Outcome::Ok {
            continue;
        }
        // This transaction's appends so far, by key.
        let mut own: BTreeMap<i64, i64> = BTreeMap::new();
        for mop in &txn.mops {
            let (k, list) = match mop {
                Mop::Append(k, e) => {
                    own.insert(*k, *e);
                    continue;
                }
                Mop::Read(_, None) => continue,
                Mop::Read(k, Some(list)) => (*k, list),
            };
            let distinct: BTreeSet<&i64> = list.iter().collect();
            if distinct.len() != list.len() {
                v.duplicated += 1;
                v.anomaly("duplicate-elements", || {
                    format!("{} reads {list:?}", txn.describe())
                });
            }
            for e in list {
                match writers
                    .get(&(k, *e))
                    .and_then(|(w, _)| txns.get(*w).map(|x| (w, x)))
                {
                    None => v.anomaly("garbage-read", || {
                        format!(
                            "{} reads {e} from {k}, which no one appended",
                            txn.describe()
                        )
                    }),
                    Some((w, writer)) if writer.op.outcome == Outcome::Fail => {
                        if failed_seen.insert(*w) {
                            v.failed_applied += 1;
                        }
                        v.anomaly("G1a", || {
                            format!(
                                "{} reads {e} appended by failed {}",
                                txn.describe(),
                                writer.describe()
                            )
                        });
                    }
                    Some(_) => {}
                }
            }
            if let Some(mine) = own.get(&k)
                && list.last() != Some(mine)
            {
                v.anomaly("internal", || {
                    format!("{} reads {k} without its own append {mine}", txn.describe())
                });
            }
            if let Some(last) = list.last()
                && let Some((w, false)) = writers.get(&(k, *last))
                && *w != t
            {
                v.anomaly("G1b", || {
                    format!(
                        "{} reads {k} ending in an intermediate append {last}",
                        txn.describe()
                    )
                });
            }
            out.push((t, k, list.clone()));
        }
    }
    out
}

/// Each key's version order: its longest read, which every other read must prefix.
fn version_orders(reads: &[(usize, i64, Vec<i64>)], v: &mut Verdict) -> BTreeMap<i64, Vec<i64>> {
    let mut orders: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (_, k, list) in reads {
        let order = orders.entry(*k).or_default();
        if list.len() > order.len() {
            *order = list.clone();
        }
    }
    for (_, k, list) in reads {
        let Some(order) = orders.get(k) else { continue };
        if !order.starts_with(list) {
            v.anomaly("incompatible-order", || {
                format!("key {k}: {list:?} vs {order:?}")
            });
        }
    }
    orders
}

/// Lost, non-atomic, in-doubt and failed transactions, judged against the final reads.
fn final_state(
    txns: &[Txn<'_>],
    orders: &BTreeMap<i64, Vec<i64>>,
    reads: &[(usize, i64, Vec<i64>)],
    visible: &BTreeSet<usize>,
    v: &mut Verdict,
) {
    let finally_read: BTreeSet<i64> = reads
        .iter()
        .filter(|(t, _, _)| txns.get(*t).is_some_and(|x| x.op.is_final))
        .map(|(_, k, _)| *k)
        .collect();
    if finally_read.is_empty() {
        v.anomaly("no-final-read", || "no successful final read".into());
        return;
    }
    for (t, txn) in txns.iter().enumerate() {
        let checked: Vec<(i64, bool)> = txn
            .mops
            .iter()
            .filter_map(|m| match m {
                Mop::Append(k, e) if finally_read.contains(k) => {
                    Some((*k, orders.get(k).is_some_and(|o| o.contains(e))))
                }
                _ => None,
            })
            .collect();
        if checked.is_empty() {
            continue;
        }
        let present = checked.iter().filter(|(_, p)| *p).count();
        match txn.op.outcome {
            Outcome::Ok if present < checked.len() => {
                v.lost += 1;
                v.example("lost", || txn.describe());
            }
            Outcome::Unknown if visible.contains(&t) => v.in_doubt_applied += 1,
            Outcome::Fail if present > 0 && !visible.contains(&t) => v.failed_applied += 1,
            _ => {}
        }
        if present > 0 && present < checked.len() && txn.op.outcome != Outcome::Ok {
            v.anomaly("non-atomic", || {
                format!("partly visible: {}", txn.describe())
            });
        }
    }
}

/// Strongly connected components (with more than one transaction) of the subgraph of
/// edges whose kind is in `mask`, among the nodes `include` accepts (Tarjan, iterative).
fn sccs(graph: &[Vec<(usize, u8)>], mask: u8, include: &dyn Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let n = graph.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0usize;
    let mut out = Vec::new();
    let set = |v: &mut Vec<usize>, i: usize, x: usize| {
        if let Some(slot) = v.get_mut(i) {
            *slot = x;
        }
    };
    for root in (0..n).filter(|r| include(*r)) {
        if index.get(root) != Some(&usize::MAX) {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        set(&mut index, root, next);
        set(&mut low, root, next);
        next += 1;
        stack.push(root);
        if let Some(s) = on_stack.get_mut(root) {
            *s = true;
        }
        while let Some(&(node, pos)) = calls.last() {
            let edges = graph.get(node).map_or(&[][..], Vec::as_slice);
            let found = edges
                .iter()
                .enumerate()
                .skip(pos)
                .find(|(_, (to, kind))| kind & mask != 0 && include(*to));
            if let Some((at, (to, _))) = found {
                if let Some(frame) = calls.last_mut() {
                    frame.1 = at + 1;
                }
                let to = *to;
                if index.get(to) == Some(&usize::MAX) {
                    set(&mut index, to, next);
                    set(&mut low, to, next);
                    next += 1;
                    stack.push(to);
                    if let Some(s) = on_stack.get_mut(to) {
                        *s = true;
                    }
                    calls.push((to, 0));
                } else if on_stack.get(to) == Some(&true) {
                    let m = low
                        .get(node)
                        .copied()
                        .unwrap_or(0)
                        .min(index.get(to).copied().unwrap_or(0));
                    set(&mut low, node, m);
                }
                continue;
            }
            calls.pop();
            let node_low = low.get(node).copied().unwrap_or(0);
            if let Some(&(parent, _)) = calls.last() {
                let m = low.get(parent).copied().unwrap_or(0).min(node_low);
                set(&mut low, parent, m);
            }
            if Some(&node_low) == index.get(node) {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    if let Some(s) = on_stack.get_mut(w) {
                        *s = false;
                    }
                    component.push(w);
                    if w == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    out.push(component);
                }
            }
        }
    }
    out
}

/// A path from `from` to `to` over edges in `mask` inside `within` (breadth first).
fn path(
    graph: &[Vec<(usize, u8)>],
    from: usize,
    to: usize,
    mask: u8,
    within: &BTreeSet<usize>,
) -> Option<Vec<(usize, u8)>> {
    let mut came: BTreeMap<usize, (usize, u8)> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        for (next, kind) in graph.get(node).into_iter().flatten() {
            if kind & mask == 0
                || !within.contains(next)
                || came.contains_key(next)
                || *next == from
            {
                continue;
            }
            came.insert(*next, (node, *kind & mask));
            if *next == to {
                let mut steps = vec![];
                let mut at = to;
                while at != from {
                    let (prev, kind) = came.get(&at).copied()?;
                    steps.push((at, kind));
                    at = prev;
                }
                steps.reverse();
                return Some(steps);
            }
            queue.push_back(*next);
        }
    }
    None
}

fn describe_cycle(start: usize, steps: &[(usize, u8)], txns: &[Txn<'_>]) -> String {
    let name = |t: usize| txns.get(t).map(Txn::describe).unwrap_or_default();
    let mut out = name(start);
    for (t, kind) in steps {
        let label = match *kind {
            k if k & WW != 0 => "ww",
            k if k & WR != 0 => "wr",
            _ => "rw",
        };
        out.push_str(&format!(" -{label}-> {}", name(*t)));
    }
    out
}

/// Names the cycle class of one strongly connected component.
fn classify(graph: &[Vec<(usize, u8)>], component: &[usize], txns: &[Txn<'_>], v: &mut Verdict) {
    let within: BTreeSet<usize> = component.iter().copied().collect();
    let inside = |t: usize| within.contains(&t);
    for (mask, name) in [(WW, "G0"), (WW | WR, "G1c")] {
        if let Some(sub) = sccs(graph, mask, &inside).first() {
            let start = sub.first().copied().unwrap_or(0);
            let sub_set: BTreeSet<usize> = sub.iter().copied().collect();
            let cycle = path(graph, start, start, mask, &sub_set)
                .or_else(|| {
                    // A cycle through `start`: any successor back to it.
                    graph
                        .get(start)
                        .into_iter()
                        .flatten()
                        .find_map(|(next, kind)| {
                            (kind & mask != 0 && sub_set.contains(next))
                                .then(|| path(graph, *next, start, mask, &sub_set))
                                .flatten()
                                .map(|mut p| {
                                    p.insert(0, (*next, kind & mask));
                                    p
                                })
                        })
                })
                .unwrap_or_default();
            v.anomaly(name, || describe_cycle(start, &cycle, txns));
            return;
        }
    }
    // Every cycle needs an rw edge: G-single if one rw edge and a ww/wr path back close it.
    for &a in component {
        for (b, kind) in graph.get(a).into_iter().flatten() {
            if kind & RW == 0 || !inside(*b) {
                continue;
            }
            if let Some(back) = path(graph, *b, a, WW | WR, &within) {
                let mut steps = vec![(*b, RW)];
                steps.extend(back);
                v.anomaly("G-single", || describe_cycle(a, &steps, txns));
                return;
            }
        }
    }
    let start = component.first().copied().unwrap_or(0);
    v.anomaly("G2", || {
        let steps = graph
            .get(start)
            .into_iter()
            .flatten()
            .filter(|(n, _)| inside(*n))
            .find_map(|(next, kind)| {
                path(graph, *next, start, WW | WR | RW, &within).map(|mut p| {
                    p.insert(0, (*next, *kind));
                    p
                })
            })
            .unwrap_or_default();
        describe_cycle(start, &steps, txns)
    });
}

#[cfg(test)]
mod tests;
