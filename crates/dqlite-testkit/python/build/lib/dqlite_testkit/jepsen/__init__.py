"""Jepsen-style workloads and faults for the Python fronts, judged by the test kit's checkers.

The Rust suite (``crates/dqlite-client/tests/it/jepsen_faults.rs``) and this package run the
same four workloads (set, register, list-append, bank) under the same faults on partitionable
clusters of bare nodes, record every operation as ``ok``, ``fail`` or ``unknown``, and hand
the histories (JSON lines) to ``dqlite-testkit check``: the same checkers count lost,
duplicated, in-doubt and failed-but-applied writes and look for isolation anomalies, whatever
the front.

A front (:class:`Front`) is how a test reaches the cluster: the blocking driver, its asyncio
API, SQLAlchemy's pool. It runs statements and transactions and says which of its errors mean
"may have been applied" (``unknown``) and which "definitely not" (``fail``). An error before
COMMIT fails the transaction whatever its kind: COMMIT was never sent.

In a test::

    async def test_faults() -> None:
        result = await run_scenario(MyFront, "mixed")
        result.assert_valid()

Each scenario prints one summary line (appended to ``$DQLITE_RELIABILITY_LOG`` when set);
``DQLITE_RELIABILITY_HISTORY_DIR`` keeps the histories.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dqlite_testkit import Cluster
from dqlite_testkit.jepsen.front import (
    BlockingFront,
    Front,
    NotCommitted,
    Outcome,
    Step,
)
from dqlite_testkit.jepsen.nemesis import SCENARIOS, full_run
from dqlite_testkit.jepsen.workloads import (
    WORKERS,
    WORKLOADS,
    History,
    Run,
    final_reads,
    setup,
)

__all__ = [
    "FAULT_CLUSTER_ARGS",
    "SCENARIOS",
    "BlockingFront",
    "Front",
    "NotCommitted",
    "Outcome",
    "ScenarioResult",
    "Step",
    "full_run",
    "run_scenario",
    "start_fault_cluster",
]

FAULT_CLUSTER_ARGS = [
    "--program",
    "bare",
    "--latency-ms",
    "30",
    "--snapshots",
    "128,1024",
    "--partitionable",
]
"""Bare nodes with 30 ms network latency (sub-second elections) and Jepsen's snapshot
settings, each node on its own loopback address and system user."""


def start_fault_cluster(nodes: int) -> Cluster:
    """A partitionable cluster of bare nodes, as the Rust scenarios use."""
    return Cluster(nodes, verbose=False, args=FAULT_CLUSTER_ARGS)


@dataclass
class ScenarioResult:
    """What a scenario measured, and every workload's verdict."""

    line: str
    verdicts: dict[str, dict[str, Any]]
    heal_to_write_ms: list[int | None]

    def assert_valid(self) -> None:
        """Every history valid, every workload made progress, writes resumed after each fault."""
        for workload, verdict in self.verdicts.items():
            assert verdict["valid"], f"{workload}: {verdict}"
            assert verdict["acknowledged"] > 0, (
                f"{workload} made no progress: {verdict}"
            )
        assert all(t is not None for t in self.heal_to_write_ms), self.heal_to_write_ms


@dataclass
class _Faults:
    heals: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[BaseException] = field(default_factory=list)


def _report(line: str) -> None:
    print(line)
    path = os.environ.get("DQLITE_RELIABILITY_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def summary(v: dict[str, Any]) -> str:
    """The verdict in the Rust checker's one-line form."""
    return (
        f"{v['workload']} {'VALID' if v['valid'] else 'INVALID'} ops={v['operations']} "
        f"ok={v['ok']} fail={v['failed']} unknown={v['unknown']} writes={v['writes']} "
        f"acknowledged={v['acknowledged']} lost={v['lost']} duplicated={v['duplicated']} "
        f"in_doubt={v['in_doubt']} (applied {v['in_doubt_applied']}) "
        f"failed_applied={v['failed_applied']}"
        + (f" anomalies={v['anomalies']}" if v["anomalies"] else "")
        + (f" examples={v['examples']}" if v["examples"] else "")
    )


def _nemesis_thread(cluster: Cluster, scenario: str, run: Run, faults: _Faults) -> None:
    _, nemesis = SCENARIOS[scenario]

    def healed(what: str) -> None:
        at = time.monotonic()
        faults.heals.append(at)
        give_up = at + 30
        while run.first_write_after(at) is None and time.monotonic() < give_up:
            time.sleep(0.01)
        faults.notes.append(f"{what} @{int((at - run.started) * 1000)}ms")

    try:
        time.sleep(2 if full_run() else 0.5)
        nemesis(cluster, healed)
        time.sleep(2 if full_run() else 0.5)
    except BaseException as e:  # noqa: BLE001 - re-raised by run_scenario after join()
        faults.failed.append(e)


async def run_scenario(
    make_front: Callable[[Cluster], Front], scenario: str, workers: int = 2
) -> ScenarioResult:
    """Runs the four workloads through the front ``make_front`` builds for a fresh cluster
    while the scenario's nemesis runs; then heals, takes the final reads and checks every
    history."""
    nodes, _ = SCENARIOS[scenario]
    faults = _Faults()
    with start_fault_cluster(nodes) as cluster:
        front = make_front(cluster)
        try:
            run = Run(front)
            histories = {w: History(w, run) for w in WORKLOADS}
            await setup(front, histories)
            tasks = [
                asyncio.create_task(WORKERS[name](run, histories[name], 10 * k + p))
                for k, name in enumerate(WORKLOADS)
                for p in range(workers)
            ]
            started = time.monotonic()
            thread = threading.Thread(
                target=_nemesis_thread,
                args=(cluster, scenario, run, faults),
                name="nemesis",
            )
            thread.start()
            while thread.is_alive() and not any(t.done() for t in tasks):
                await asyncio.sleep(0.05)
            run.stopped = True
            await asyncio.to_thread(thread.join)
            await asyncio.gather(*tasks)
            if faults.failed:
                raise faults.failed[0]
            elapsed = time.monotonic() - started
            cluster.call("heal")
            cluster.wait_healthy(30)
            await final_reads(run, histories)
        finally:
            await front.close()
    heal_ms: list[int | None] = []
    for at in faults.heals:
        first = run.first_write_after(at)
        heal_ms.append(None if first is None else int((first - at) * 1000))
    verdicts = {name: h.check() for name, h in histories.items()}
    line = (
        f"reliability fault {scenario} [dqlite {cluster.version}, python-{front.name}, "
        f"{'full' if full_run() else 'fast'}]: {elapsed:.1f}s faults={len(faults.heals)} "
        f"heal->write_ms={heal_ms} ({'; '.join(faults.notes)})"
    )
    for name, verdict in verdicts.items():
        line += f" | {summary(verdict)} errors={histories[name].errors}"
    _report(line)
    return ScenarioResult(line, verdicts, heal_ms)
