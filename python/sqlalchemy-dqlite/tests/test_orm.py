"""ORM round trips on a real cluster: mapped classes, relationships, sessions."""

from __future__ import annotations

import datetime
import decimal
import enum

import pytest
from sqlalchemy import JSON, Engine, ForeignKey, Numeric, String, event, exc, func, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)


class Base(DeclarativeBase):
    pass


class Kind(enum.Enum):
    BOOK = "book"
    GAME = "game"


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool | None]
    joined: Mapped[datetime.datetime] = mapped_column(server_default=func.current_timestamp())
    works: Mapped[list[Work]] = relationship(
        back_populates="author", cascade="all, delete-orphan", order_by="Work.id"
    )


class Work(Base):
    __tablename__ = "works"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    title: Mapped[str]
    kind: Mapped[Kind]
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    published: Mapped[datetime.date | None]
    meta: Mapped[dict[str, object] | None] = mapped_column(JSON)
    author: Mapped[Author] = relationship(back_populates="works")


@pytest.fixture
def schema(engine: Engine) -> Engine:
    Base.metadata.create_all(engine)
    return engine


def test_round_trip(schema: Engine) -> None:
    with Session(schema) as session:
        ann = Author(name="Ann", active=None)
        ann.works = [
            Work(
                title="One",
                kind=Kind.BOOK,
                price=decimal.Decimal("9.99"),
                published=datetime.date(2020, 5, 17),
                meta={"tags": ["a", "b"], "n": 1},
            ),
            Work(
                title="Two",
                kind=Kind.GAME,
                price=decimal.Decimal("59.00"),
                published=None,
                meta=None,
            ),
        ]
        session.add_all([ann, Author(name="Bob", active=True)])
        session.commit()
        ann_id = ann.id
        assert ann_id is not None
        assert [w.id for w in ann.works] == [1, 2]

    with Session(schema) as session:
        ann = session.scalars(
            select(Author).options(selectinload(Author.works)).where(Author.id == ann_id)
        ).one()
        assert ann.active is None
        assert isinstance(ann.joined, datetime.datetime)
        assert [(w.title, w.kind, w.price, w.published) for w in ann.works] == [
            ("One", Kind.BOOK, decimal.Decimal("9.99"), datetime.date(2020, 5, 17)),
            ("Two", Kind.GAME, decimal.Decimal("59.00"), None),
        ]
        assert ann.works[0].meta == {"tags": ["a", "b"], "n": 1}
        # JSON path queries run on the server (SQLite's JSON functions).
        title = session.scalar(select(Work.title).where(Work.meta["n"].as_integer() == 1))
        assert title == "One"
        ann.works[1].price = decimal.Decimal("49.50")
        del ann.works[0]
        session.commit()

    with Session(schema) as session:
        rows = session.execute(select(Work.title, Work.price).order_by(Work.id)).all()
        assert rows == [("Two", decimal.Decimal("49.50"))]
        bob = session.scalars(select(Author).where(Author.name == "Bob")).one()
        session.delete(bob)
        session.commit()
        assert session.scalar(select(func.count()).select_from(Author)) == 1


def test_rollback_and_integrity_error(schema: Engine) -> None:
    with Session(schema) as session:
        session.add(Author(name="Ann"))
        session.commit()
    with Session(schema) as session:
        session.add(Author(name="Carl"))
        session.flush()
        session.add(Author(name="Ann"))
        with pytest.raises(exc.IntegrityError):
            session.flush()
        session.rollback()
        # Carl was flushed in the same transaction: rolled back with it.
        assert session.scalars(select(Author.name)).all() == ["Ann"]


def test_nested_transaction(schema: Engine) -> None:
    with Session(schema) as session:
        session.add(Author(name="Ann"))
        with session.begin_nested() as sp:
            session.add(Author(name="Dora"))
            session.flush()
            sp.rollback()
        session.commit()
    with Session(schema) as session:
        assert session.scalars(select(Author.name)).all() == ["Ann"]


def test_foreign_keys_enforced(schema: Engine) -> None:
    # dqlite enables foreign key enforcement on its connections.
    with Session(schema) as session:
        session.add(Work(author_id=42, title="orphan", kind=Kind.BOOK, price=decimal.Decimal(1)))
        with pytest.raises(exc.IntegrityError):
            session.commit()


def test_yield_per_streams(schema: Engine) -> None:
    with Session(schema) as session:
        session.add_all(Author(name=f"a{i}") for i in range(1200))
        session.commit()
    cursors: list[object] = []
    event.listen(schema, "after_cursor_execute", lambda conn, cursor, *a: cursors.append(cursor))
    with Session(schema) as session:
        result = session.scalars(
            select(Author).order_by(Author.id).execution_options(yield_per=100)
        )
        assert getattr(cursors[-1], "server_side", False)
        names = [a.name for a in result]
        assert len(names) == 1200
        assert names[:2] == ["a0", "a1"]


def test_selectinload_of_more_parents_than_old_servers_take_parameters(schema: Engine) -> None:
    # selectinload sends up to 500 keys in one IN; servers before dqlite 1.12 take 255
    # parameters a statement, and the load failed there (NotSupportedError).
    with Session(schema) as session:
        session.add_all(
            Author(
                name=f"a{i}",
                works=[Work(title=f"w{i}", kind=Kind.GAME, price=decimal.Decimal(i))],
            )
            for i in range(300)
        )
        session.commit()
    with Session(schema) as session:
        authors = session.scalars(select(Author).options(selectinload(Author.works))).all()
        assert len(authors) == 300
        assert all([w.title for w in a.works] == [f"w{a.name[1:]}"] for a in authors)
        ids = [a.id for a in authors]
        assert session.scalar(select(func.count()).where(Work.author_id.in_(ids))) == 300
        names = [a.name for a in authors] + ["o'brien", "x\\y", ""]
        assert session.scalar(select(func.count()).where(Author.name.in_(names))) == 300
        assert session.scalar(select(func.count()).where(Author.name.in_(names[:10]))) == 10
