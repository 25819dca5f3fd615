"""The asyncio dialect (dqlite+aio://) with create_async_engine and AsyncSession."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import ForeignKey, String, event, exc, select, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    members: Mapped[list[Member]] = relationship(back_populates="team", order_by="Member.id")


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    name: Mapped[str]
    team: Mapped[Team] = relationship(back_populates="members")


@pytest.fixture
async def aengine(aio_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(aio_url)
    try:
        yield eng
    finally:
        await eng.dispose()


async def test_core(aengine: AsyncEngine) -> None:
    assert aengine.dialect.is_async
    async with aengine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        await conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": i} for i in range(10)])
    async with aengine.connect() as conn:
        assert (await conn.execute(text("SELECT sum(x) FROM t"))).scalar() == 45
        assert await conn.get_isolation_level() == "SERIALIZABLE"
        await conn.execute(text("INSERT INTO t VALUES (100)"))
        await conn.rollback()
        assert (await conn.execute(text("SELECT max(x) FROM t"))).scalar() == 9


async def test_orm(aengine: AsyncEngine) -> None:
    async with aengine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(aengine, expire_on_commit=False)
    async with sessions() as session:
        red = Team(name="red", members=[Member(name="ann"), Member(name="bob")])
        session.add(red)
        await session.commit()
        assert red.id is not None
    async with sessions() as session:
        team = (await session.scalars(select(Team).options(selectinload(Team.members)))).one()
        assert [m.name for m in team.members] == ["ann", "bob"]
        team_id = team.id
        session.add(Team(name="red"))
        with pytest.raises(exc.IntegrityError):
            await session.commit()
        await session.rollback()
        async with session.begin_nested():
            session.add(Member(team_id=team_id, name="cid"))
        await session.commit()
    async with AsyncSession(aengine) as session:
        names = (await session.scalars(select(Member.name).order_by(Member.id))).all()
        assert names == ["ann", "bob", "cid"]


async def test_stream(aengine: AsyncEngine) -> None:
    async with aengine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        await conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": i} for i in range(3000)])
    async with aengine.connect() as conn:
        result = await conn.stream(text("SELECT x FROM t ORDER BY x"))
        seen = 0
        async for part in result.partitions(500):
            assert len(part) <= 500
            seen += len(part)
        assert seen == 3000


async def test_autocommit(aengine: AsyncEngine) -> None:
    auto = aengine.execution_options(isolation_level="AUTOCOMMIT")
    async with auto.connect() as conn:
        assert await conn.get_isolation_level() == "AUTOCOMMIT"
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        await conn.execute(text("INSERT INTO t VALUES (1)"))
    async with aengine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_concurrent_connections(aengine: AsyncEngine) -> None:
    async with aengine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))

    async def work(i: int) -> None:
        async with aengine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": i})

    await asyncio.gather(*(work(i) for i in range(8)))
    async with aengine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 8


async def test_returning(aengine: AsyncEngine, server_has_returning: bool) -> None:
    async with aengine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # first connect probes the server
    members = Member.__table__
    insert = members.insert().values(team_id=1, name="x").returning(members.c.id)
    if not server_has_returning:
        with pytest.raises(exc.CompileError, match=r"1\.18\.2"):
            async with aengine.begin() as conn:
                await conn.execute(insert)
        return
    async with aengine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(Team.__table__.insert().values(id=1, name="a"))
        assert (await conn.execute(insert)).scalar_one() == 1
    async with aengine.connect() as conn:
        assert (await conn.execute(select(members.c.name))).scalars().all() == ["x"]


async def test_a_transaction_the_server_rolled_back_takes_no_more_statements(
    aengine: AsyncEngine,
) -> None:
    async with aengine.begin() as conn:
        await conn.execute(text("CREATE TABLE r (x INTEGER PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO r VALUES (1)"))
    async with AsyncSession(aengine) as session:
        await session.execute(text("INSERT INTO r VALUES (2)"))
        with pytest.raises(exc.IntegrityError):
            await session.execute(text("INSERT OR ROLLBACK INTO r VALUES (1)"))
        with pytest.raises(exc.OperationalError, match="rolled the transaction back"):
            await session.execute(text("INSERT INTO r VALUES (3)"))
        await session.rollback()
        await session.execute(text("INSERT INTO r VALUES (4)"))
        await session.commit()
    async with aengine.connect() as conn:
        assert (await conn.execute(text("SELECT x FROM r ORDER BY x"))).scalars().all() == [1, 4]


async def test_a_cancelled_statement_invalidates_the_pooled_connection(aio_url: str) -> None:
    # A call cancelled inside a transaction leaves the driver connection closed: the pool
    # must invalidate it (handle_error / is_disconnect) and hand out a fresh one.
    engine = create_async_engine(aio_url, pool_size=1, max_overflow=0)
    invalidated: list[BaseException | None] = []
    event.listen(engine.sync_engine.pool, "invalidate", lambda c, r, e: invalidated.append(e))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE c (x INTEGER)"))
        slow = (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000000) "
            "SELECT count(*) FROM s"
        )
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05), engine.begin() as conn:
                await conn.execute(text("INSERT INTO c VALUES (1)"))
                await conn.execute(text(slow))
        assert len(invalidated) == 1
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM c"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_session_mode_execution_option(aio_url: str) -> None:
    engine = create_async_engine(aio_url + "?session_mode=deferred")
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            assert driver.session_mode == "deferred"
            ro = await conn.execution_options(dqlite_session_mode="read_only")
            assert driver.session_mode == "read_only"
            with pytest.raises(exc.OperationalError, match="readonly"):
                await ro.execute(text("CREATE TABLE nope (x)"))
            await ro.rollback()
        # Back in the pool, the connection got its own mode back.
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            assert raw.driver_connection.session_mode == "deferred"
    finally:
        await engine.dispose()


async def test_no_transaction_to_end_skips_the_driver(
    aengine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's rollback of a connection returned without a transaction (a checkout
    that ran nothing) does not reach the driver; a transaction's end does."""
    import dqlitedbapi.aio

    calls: list[str] = []
    driver = dqlitedbapi.aio.AsyncConnection
    real_commit, real_rollback = driver.commit, driver.rollback

    async def commit(self: dqlitedbapi.aio.AsyncConnection) -> None:
        calls.append("commit")
        await real_commit(self)

    async def rollback(self: dqlitedbapi.aio.AsyncConnection) -> None:
        calls.append("rollback")
        await real_rollback(self)

    async with aengine.begin() as conn:
        await conn.execute(text("CREATE TABLE skip (x INTEGER)"))
    monkeypatch.setattr(driver, "commit", commit)
    monkeypatch.setattr(driver, "rollback", rollback)
    async with aengine.connect():
        pass
    conn = await aengine.connect()
    await conn.close()
    assert calls == []
    # A statement begins a transaction (the dialect sends BEGIN): its end reaches the driver.
    async with aengine.connect() as conn:
        await conn.execute(text("INSERT INTO skip VALUES (1)"))
    assert calls == ["rollback"]
    async with aengine.begin() as conn:
        await conn.execute(text("INSERT INTO skip VALUES (2)"))
    assert calls == ["rollback", "commit"]
    async with aengine.connect() as conn:
        assert (await conn.execute(text("SELECT sum(x) FROM skip"))).scalar() == 2
