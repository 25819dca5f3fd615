"""W6 and W7checkout through SQLAlchemy, sync and asyncio, with whichever dialect the
interpreter has (ours, or the reference sqlalchemy-dqlite 0.8.0: both register the
``dqlite://`` and ``dqlite+aio://`` URLs).

W6core: Core ``insert()`` of SIZE rows, one executemany inside ``engine.begin()``.
W6orm: ORM load of SIZE objects (``session.scalars(select(W6Row)).all()``).
W7checkout: ``engine.connect()`` and ``close()`` on a warm pool (the dialects' default
pool: QueuePool, AsyncAdaptedQueuePool).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from workloads import DB, cpu_seconds, latency, rate

metadata = MetaData()
w6 = Table(
    "w6",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("i", Integer),
    Column("f", Float),
    Column("t", Text),
    Column("b", LargeBinary),
    Column("n", Integer),
)


class Base(DeclarativeBase):
    pass


class W6Row(Base):
    __tablename__ = "w6orm"
    id: Mapped[int] = mapped_column(primary_key=True)
    i: Mapped[int]
    f: Mapped[float]
    t: Mapped[str] = mapped_column(Text)
    b: Mapped[bytes] = mapped_column(LargeBinary)
    n: Mapped[int | None]


def rows(size: int) -> list[dict[str, Any]]:
    return [
        {
            "i": i,
            "f": i * 0.25,
            "t": f"{i:020d}",
            "b": b"\x5a" * 16,
            "n": None if i % 2 == 0 else i,
        }
        for i in range(size)
    ]


def url(address: str, aio: bool) -> str:
    return f"dqlite{'+aio' if aio else ''}://{address}/{DB}"


def run(workload: str, address: str, size: int, aio: bool) -> dict[str, Any]:
    if aio:
        return asyncio.run(run_aio(workload, address, size))
    engine = create_engine(url(address, aio=False))
    with engine.connect():
        pass  # the pool's first connection, untimed
    try:
        if workload == "w6core":
            data = rows(size)
            cpu, t = cpu_seconds(), time.perf_counter()
            with engine.begin() as conn:
                conn.execute(insert(w6), data)
            result = rate(size, time.perf_counter() - t, cpu)
            with engine.begin() as conn:
                conn.execute(delete(w6))
            return result
        if workload == "w6orm":
            cpu, t = cpu_seconds(), time.perf_counter()
            with Session(engine) as session:
                objects = session.scalars(select(W6Row).limit(size)).all()
            return rate(len(objects), time.perf_counter() - t, cpu)
        if workload == "w7checkout":
            samples = []
            for _ in range(size):
                t = time.perf_counter()
                engine.connect().close()
                samples.append(time.perf_counter() - t)
            return latency(samples)
        raise SystemExit(f"unknown workload {workload}")
    finally:
        engine.dispose()


async def run_aio(workload: str, address: str, size: int) -> dict[str, Any]:
    engine = create_async_engine(url(address, aio=True))
    async with engine.connect():
        pass  # the pool's first connection, untimed
    try:
        if workload == "w6core":
            data = rows(size)
            cpu, t = cpu_seconds(), time.perf_counter()
            async with engine.begin() as conn:
                await conn.execute(insert(w6), data)
            result = rate(size, time.perf_counter() - t, cpu)
            async with engine.begin() as conn:
                await conn.execute(delete(w6))
            return result
        if workload == "w6orm":
            cpu, t = cpu_seconds(), time.perf_counter()
            async with AsyncSession(engine) as session:
                objects = (await session.scalars(select(W6Row).limit(size))).all()
            return rate(len(objects), time.perf_counter() - t, cpu)
        if workload == "w7checkout":
            samples = []
            for _ in range(size):
                t = time.perf_counter()
                conn = await engine.connect()
                await conn.close()
                samples.append(time.perf_counter() - t)
            return latency(samples)
        raise SystemExit(f"unknown workload {workload}")
    finally:
        await engine.dispose()
