"""The faults, as the Rust scenarios inject them, through the test kit's CLI commands.

Each nemesis runs in a thread of its own and calls ``healed(what)`` when a fault ends; that
waits until a write succeeds again, so that the next fault hits a working cluster, and marks
the moment from which recovery is timed.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

from dqlite_testkit import Cluster

Healed = Callable[[str], None]
Nemesis = Callable[[Cluster, Healed], None]


def full_run() -> bool:
    """True for the long form (``DQLITE_RELIABILITY_FULL=1``)."""
    return os.environ.get("DQLITE_RELIABILITY_FULL") == "1"


def _pick(fast: float, long: float) -> float:
    return long if full_run() else fast


def _rounds(fast: int, long: int) -> range:
    return range(long if full_run() else fast)


def _leader(cluster: Cluster) -> int:
    return cluster.wait_for_leader(30)


def _members(cluster: Cluster) -> list[int]:
    return [int(n["index"]) for n in cluster.nodes() if n["role"] is not None]


def _group(nodes: list[int]) -> str:
    return ",".join(map(str, nodes))


def isolate_leader(cluster: Cluster, healed: Healed) -> None:
    for _ in _rounds(1, 4):
        leader = _leader(cluster)
        cluster.call(f"isolate {leader}")
        time.sleep(_pick(1.5, 5))
        cluster.call("heal")
        healed(f"leader {leader} isolated")


def majority_minority(cluster: Cluster, healed: Healed) -> None:
    for _ in _rounds(1, 4):
        leader = _leader(cluster)
        others = [n for n in _members(cluster) if n != leader]
        cluster.call(f"partition {_group([leader, others[0]])} {_group(others[1:])}")
        time.sleep(_pick(2, 5))
        cluster.call("heal")
        healed(f"minority [{leader}, {others[0]}]")


def bridge(cluster: Cluster, healed: Healed) -> None:
    for _ in _rounds(1, 4):
        leader = _leader(cluster)
        o = [n for n in _members(cluster) if n != leader]
        cluster.call(f"partition {_group([leader, o[0]])} {_group(o[2:4])}")
        time.sleep(_pick(2.5, 6))
        cluster.call("heal")
        healed(f"bridge {o[1]}")


def flapping(cluster: Cluster, healed: Healed) -> None:
    until = time.monotonic() + _pick(4, 20)
    flips = 0
    while time.monotonic() < until:
        nodes = _members(cluster)
        random.shuffle(nodes)
        cut = random.randint(1, 2)
        cluster.call(f"partition {_group(nodes[:cut])} {_group(nodes[cut:])}")
        time.sleep(random.uniform(0.3, 1.2))
        cluster.call("heal")
        time.sleep(random.uniform(0.1, 0.6))
        flips += 1
    healed(f"{flips} flaps")


def _lossy(cluster: Cluster) -> None:
    for command in ("loss nodes 0.15", "delay nodes 25 10", "loss clients 0.05"):
        cluster.call(command)
    cluster.call("delay clients 10 5")


def packet(cluster: Cluster, healed: Healed) -> None:
    for _ in _rounds(1, 3):
        _lossy(cluster)
        time.sleep(_pick(1, 3))
        leader = _leader(cluster)
        cluster.call(f"kill {leader}")
        time.sleep(_pick(2, 5))
        cluster.call(f"restart {leader}")
        cluster.call("heal")
        healed(f"loss and delay, leader {leader} killed")


def membership(cluster: Cluster, healed: Healed) -> None:
    for _ in _rounds(1, 3):
        added = int(cluster.call("grow voter")["index"])
        healed(f"node {added} added as voter")
        standby = int(cluster.call("grow standby")["index"])
        cluster.call(f"assign {standby} voter")
        healed(f"node {standby} added as standby, promoted")
        leader = _leader(cluster)
        victim = next(n for n in _members(cluster) if n not in (leader, added))
        cluster.call(f"assign {victim} spare")
        cluster.call(f"remove {victim}")
        cluster.call(f"kill {victim}")
        healed(f"node {victim} demoted and removed")
        cluster.call(f"transfer {added}")
        healed(f"leadership to {added}")


def crash(cluster: Cluster, healed: Healed) -> None:
    for _ in _rounds(1, 3):
        cluster.call("kill-all")
        time.sleep(_pick(0.5, 2))
        cluster.call("restart-members")
        healed("every node SIGKILLed and restarted")
    leader = _leader(cluster)
    for follower in [n for n in _members(cluster) if n != leader]:
        cluster.call(f"kill {follower}")
        time.sleep(_pick(0.3, 1))
        cluster.call(f"restart {follower}")
        cluster.wait_healthy(30)
        healed(f"follower {follower} restarted")


def mixed(cluster: Cluster, healed: Healed) -> None:
    """The fast form for the Python fronts: one fault of each family, back to back."""
    leader = _leader(cluster)
    cluster.call(f"isolate {leader}")
    time.sleep(1.2)
    cluster.call("heal")
    healed(f"leader {leader} isolated")
    _lossy(cluster)
    leader = _leader(cluster)
    cluster.call(f"kill {leader}")
    time.sleep(1.2)
    cluster.call(f"restart {leader}")
    cluster.call("heal")
    healed(f"loss and delay, leader {leader} killed")
    added = int(cluster.call("grow voter")["index"])
    cluster.call(f"transfer {added}")
    healed(f"node {added} added, leadership moved to it")
    cluster.call("kill-all")
    time.sleep(0.3)
    cluster.call("restart-members")
    healed("every node SIGKILLed and restarted")


SCENARIOS: dict[str, tuple[int, Nemesis]] = {
    "partition-leader": (3, isolate_leader),
    "partition-majority": (5, majority_minority),
    "partition-bridge": (5, bridge),
    "partition-flapping": (5, flapping),
    "packet": (3, packet),
    "membership": (3, membership),
    "crash": (3, crash),
    "mixed": (3, mixed),
}
"""Fault kind -> (nodes, nemesis). ``mixed`` is the fast form of the test command; the names
of the others are the Rust scenarios'."""
