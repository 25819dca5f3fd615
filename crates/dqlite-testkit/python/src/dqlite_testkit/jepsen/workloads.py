"""The four workloads (set, register, list-append, bank), recorded as histories.

The same operations, SQL and history format as the Rust workloads
(``crates/dqlite-client/tests/it/jepsen_workloads.rs``); ``dqlite-testkit check`` judges them.
A failed set add is retried with the same element (a failure that was applied after all
shows up as a duplicate); every other failed operation is retried as a new one; operations
with an unknown outcome are never retried.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from dqlite_testkit import default_binary
from dqlite_testkit.jepsen.front import Front, NotCommitted, Outcome, Step

KEYS = 6
ACCOUNTS = 5
INITIAL = 100
WORKLOADS = ("set", "register", "append", "bank")
FINAL_PROCESS = 99
CHECK_TIMEOUT = 600
"""Seconds ``dqlite-testkit check`` may take on one history."""

T = TypeVar("T")

SETUP = [
    "CREATE TABLE s (id INTEGER)",
    "CREATE TABLE reg (id INTEGER PRIMARY KEY, v INTEGER)",
    (
        "CREATE TABLE app (id INTEGER PRIMARY KEY AUTOINCREMENT, k INTEGER NOT NULL, "
        "v INTEGER NOT NULL)"
    ),
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE transfers (tid INTEGER NOT NULL, src INTEGER, dst INTEGER, amount INTEGER)",
]
READ_KEY = "SELECT v FROM app WHERE k = ? ORDER BY id"


class Run:
    """What every worker of a scenario shares: the front, the clock, unique values, the stop
    flag, and when each successful write started and ended."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.started = time.monotonic()
        self.stopped = False
        self.values = itertools.count(1)
        self.writes_ok: list[tuple[float, float]] = []
        self.txn_errors: tuple[type[BaseException], ...] = (NotCommitted, *front.errors)
        """What a transaction raises when it fails."""

    def us(self, t: float) -> int:
        return max(0, int((t - self.started) * 1_000_000))

    def first_write_after(self, t: float) -> float | None:
        """When the first write that started at or after ``t`` succeeded."""
        ends = [end for start, end in self.writes_ok if start >= t]
        return min(ends) if ends else None


class History:
    """The operations of one workload, in ``dqlite_testkit::check``'s format."""

    def __init__(self, workload: str, run: Run) -> None:
        self.workload = workload
        self.run = run
        self.ops: list[dict[str, Any]] = []
        self.errors: dict[str, int] = {}

    def record(
        self,
        process: int,
        f: str,
        value: object,
        started: float,
        outcome: Outcome,
        error: str | None = None,
        *,
        write: bool,
        final: bool = False,
    ) -> Outcome:
        ended = time.monotonic()
        op: dict[str, Any] = {
            "process": process,
            "f": f,
            "value": value,
            "outcome": outcome,
            "start_us": self.run.us(started),
            "end_us": self.run.us(ended),
        }
        if error is not None:
            op["error"] = error
            key = f"{f} {outcome}: {error}"
            self.errors[key] = self.errors.get(key, 0) + 1
        if final:
            op["final"] = True
        if write and outcome == "ok":
            self.run.writes_ok.append((started, ended))
        self.ops.append(op)
        return outcome

    def failure(
        self, process: int, f: str, value: object, started: float, error: BaseException
    ) -> Outcome:
        """Records a write that raised ``error``."""
        if isinstance(error, NotCommitted):
            outcome: Outcome = "fail"
            name = "before COMMIT: " + self.run.front.kind(error.cause)
        else:
            outcome, name = self.run.front.classify(error), self.run.front.kind(error)
        return self.record(process, f, value, started, outcome, name, write=True)

    def failed_read(
        self, process: int, f: str, started: float, error: BaseException
    ) -> None:
        """A read that failed changed nothing, whatever the error."""
        self.record(
            process, f, None, started, "fail", self.run.front.kind(error), write=False
        )

    def check(self) -> dict[str, Any]:
        """The verdict of ``dqlite-testkit check`` on this history (kept as JSON lines in
        ``$DQLITE_RELIABILITY_HISTORY_DIR`` when it is set)."""
        directory = os.environ.get("DQLITE_RELIABILITY_HISTORY_DIR")
        if directory:
            os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w",
            suffix=".jsonl",
            prefix=f"{self.run.front.name}-{self.workload}-",
            dir=directory,
            delete=not directory,
        ) as f:
            for op in self.ops:
                f.write(json.dumps(op) + "\n")
            f.flush()
            out = subprocess.run(
                [str(default_binary()), "check", "--workload", self.workload, f.name],
                check=True,
                capture_output=True,
                text=True,
                # A checker that never ends (a history it explores without bound) fails
                # the test, with the checker killed, instead of hanging the run.
                timeout=CHECK_TIMEOUT,
            )
        verdict: dict[str, Any] = json.loads(out.stdout)
        return verdict


async def _pause() -> None:
    await asyncio.sleep(random.uniform(0.005, 0.025))


async def set_worker(run: Run, h: History, process: int) -> None:
    while not run.stopped:
        element = next(run.values)
        while not run.stopped:
            started = time.monotonic()
            try:
                await run.front.write(process, "INSERT INTO s VALUES (?)", (element,))
                outcome = h.record(process, "add", element, started, "ok", write=True)
            except run.front.errors as e:
                outcome = h.failure(process, "add", element, started, e)
            if outcome != "fail":
                break
            await _pause()
        await _pause()


async def register_worker(run: Run, h: History, process: int) -> None:
    while not run.stopped:
        started = time.monotonic()
        if random.random() < 0.5:
            value = next(run.values)
            sql = "INSERT OR REPLACE INTO reg (id, v) VALUES (0, ?)"
            try:
                await run.front.write(process, sql, (value,))
                h.record(process, "write", value, started, "ok", write=True)
            except run.front.errors as e:
                h.failure(process, "write", value, started, e)
        else:
            try:
                rows = await run.front.read(
                    process, "SELECT v FROM reg WHERE id = 0", ()
                )
                h.record(
                    process,
                    "read",
                    rows[0][0] if rows else None,
                    started,
                    "ok",
                    write=False,
                )
            except run.front.errors as e:
                h.failed_read(process, "read", started, e)
        await _pause()


async def append_worker(run: Run, h: History, process: int) -> None:
    while not run.stopped:
        mops: list[list[Any]] = []
        for _ in range(random.randint(1, 4)):
            key = random.randrange(KEYS)
            if random.random() < 0.5:
                mops.append(["append", key, next(run.values)])
            else:
                mops.append(["r", key, None])
        steps = [
            Step("INSERT INTO app (k, v) VALUES (?, ?)", (m[1], m[2]))
            if m[0] == "append"
            else Step(READ_KEY, (m[1],), rows=True)
            for m in mops
        ]
        started = time.monotonic()
        writes = any(m[0] == "append" for m in mops)
        try:
            results = await run.front.transaction(process, steps)
            for m, rows in zip(mops, results, strict=True):
                if m[0] == "r":
                    m[2] = [r[0] for r in rows]
            h.record(process, "txn", mops, started, "ok", write=writes)
        except run.txn_errors as e:
            h.failure(process, "txn", mops, started, e)
        await _pause()


async def bank_worker(run: Run, h: History, process: int) -> None:
    while not run.stopped:
        started = time.monotonic()
        if random.random() < 0.25:
            try:
                rows = await run.front.read(
                    process, "SELECT balance FROM accounts ORDER BY id", ()
                )
                seen = {"balances": [r[0] for r in rows]}
                h.record(process, "read", seen, started, "ok", write=False)
            except run.front.errors as e:
                h.failed_read(process, "read", started, e)
        else:
            tid = next(run.values)
            src = random.randrange(ACCOUNTS)
            dst = (src + random.randrange(1, ACCOUNTS)) % ACCOUNTS
            amount = random.randint(1, 10)
            steps = [
                Step(
                    "UPDATE accounts SET balance = balance - ? WHERE id = ?",
                    (amount, src),
                ),
                Step(
                    "UPDATE accounts SET balance = balance + ? WHERE id = ?",
                    (amount, dst),
                ),
                Step(
                    "INSERT INTO transfers (tid, src, dst, amount) VALUES (?, ?, ?, ?)",
                    (tid, src, dst, amount),
                ),
            ]
            transfer = {"tid": tid, "from": src, "to": dst, "amount": amount}
            try:
                await run.front.transaction(process, steps)
                h.record(process, "transfer", transfer, started, "ok", write=True)
            except run.txn_errors as e:
                h.failure(process, "transfer", transfer, started, e)
        await _pause()


WORKERS: dict[str, Callable[[Run, History, int], Coroutine[Any, Any, None]]] = {
    "set": set_worker,
    "register": register_worker,
    "append": append_worker,
    "bank": bank_worker,
}


async def setup(front: Front, histories: dict[str, History]) -> None:
    """Creates the tables and the accounts; records the bank's initial balances."""
    for sql in SETUP:
        await front.write(0, sql, ())
    for account in range(ACCOUNTS):
        await front.write(0, "INSERT INTO accounts VALUES (?, ?)", (account, INITIAL))
    init = {"balances": [INITIAL] * ACCOUNTS}
    histories["bank"].record(0, "init", init, time.monotonic(), "ok", write=False)


async def final_reads(run: Run, histories: dict[str, History]) -> None:
    """Reads the final state (retrying for 30 s: the cluster has just been healed)."""
    front = run.front

    async def read(sql: str) -> list[tuple[Any, ...]]:
        give_up = time.monotonic() + 30
        while True:
            try:
                return await front.read(FINAL_PROCESS, sql, ())
            except front.errors:
                if time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.2)

    def final(workload: str, f: str, value: object, started: float) -> None:
        histories[workload].record(
            FINAL_PROCESS, f, value, started, "ok", write=False, final=True
        )

    started = time.monotonic()
    final("set", "read", [r[0] for r in await read("SELECT id FROM s")], started)
    started = time.monotonic()
    lists: dict[int, list[int]] = {k: [] for k in range(KEYS)}
    for k, v in await read("SELECT k, v FROM app ORDER BY id"):
        lists.setdefault(k, []).append(v)
    final(
        "append",
        "txn",
        [["r", k, values] for k, values in sorted(lists.items())],
        started,
    )
    started = time.monotonic()
    balances = [r[0] for r in await read("SELECT balance FROM accounts ORDER BY id")]
    transfers = [
        list(r) for r in await read("SELECT tid, count(*) FROM transfers GROUP BY tid")
    ]
    final("bank", "read", {"balances": balances, "transfers": transfers}, started)
