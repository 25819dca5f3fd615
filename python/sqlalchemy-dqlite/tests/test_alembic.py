"""An Alembic migration run end to end against the cluster: upgrade, downgrade, and a
failing revision whose DDL is rolled back (the dialect's DDL is transactional)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

ENV_PY = """
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(
    config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
)
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

REVISIONS = {
    "r1_accounts.py": """
        import sqlalchemy as sa
        from alembic import op

        revision = "r1"
        down_revision = None

        def upgrade():
            op.create_table(
                "account",
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(50), nullable=True),
                sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
            )
            op.create_index("ix_account_name", "account", ["name"], unique=True)
            op.execute("INSERT INTO account (name) VALUES ('root')")

        def downgrade():
            op.drop_index("ix_account_name", table_name="account")
            op.drop_table("account")
    """,
    "r2_email.py": """
        import sqlalchemy as sa
        from alembic import op

        revision = "r2"
        down_revision = "r1"

        def upgrade():
            with op.batch_alter_table("account") as batch:
                batch.add_column(sa.Column("email", sa.String(100)))
                batch.alter_column("name", existing_type=sa.String(50), nullable=False)
                batch.create_unique_constraint("uq_account_email", ["email"])

        def downgrade():
            with op.batch_alter_table("account") as batch:
                batch.drop_constraint("uq_account_email", type_="unique")
                batch.alter_column("name", existing_type=sa.String(50), nullable=True)
                batch.drop_column("email")
    """,
    "r3_broken.py": """
        import sqlalchemy as sa
        from alembic import op

        revision = "r3"
        down_revision = "r2"

        def upgrade():
            op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
            op.execute("INSERT INTO no_such_table VALUES (1)")

        def downgrade():
            op.drop_table("half_done")
    """,
}


@pytest.fixture
def alembic_config(tmp_path: Path, url: str) -> Config:
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(ENV_PY)
    for name, source in REVISIONS.items():
        (tmp_path / "versions" / name).write_text(textwrap.dedent(source))
    cfg = Config()
    cfg.set_main_option("script_location", str(tmp_path))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_upgrade_and_downgrade(alembic_config: Config, engine: Engine) -> None:
    command.upgrade(alembic_config, "r2")
    assert _version(engine) == "r2"
    insp = inspect(engine)
    columns = {c["name"]: c for c in insp.get_columns("account")}
    assert list(columns) == ["id", "name", "active", "email"]
    assert columns["name"]["nullable"] is False
    assert [i["name"] for i in insp.get_indexes("account")] == ["ix_account_name"]
    assert [u["name"] for u in insp.get_unique_constraints("account")] == ["uq_account_email"]
    with engine.connect() as conn:
        # The row of r1 survived the table rebuild of r2's batch operations.
        assert conn.execute(text("SELECT name, active FROM account")).all() == [("root", 1)]

    command.downgrade(alembic_config, "r1")
    assert _version(engine) == "r1"
    insp = inspect(engine)
    columns = {c["name"]: c for c in insp.get_columns("account")}
    assert list(columns) == ["id", "name", "active"]
    assert columns["name"]["nullable"] is True

    command.downgrade(alembic_config, "base")
    assert _version(engine) is None
    assert inspect(engine).get_table_names() == ["alembic_version"]


def test_failed_migration_is_rolled_back(alembic_config: Config, engine: Engine) -> None:
    command.upgrade(alembic_config, "r2")
    with pytest.raises(Exception, match="no such table"):
        command.upgrade(alembic_config, "r3")
    # r3's CREATE TABLE ran in the same transaction as its failing statement.
    assert _version(engine) == "r2"
    assert not inspect(engine).has_table("half_done")
