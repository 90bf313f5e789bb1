"""Models vs migrations: build a scratch SQLite database from the migrations and diff it
against the models' metadata."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import carebridge.models as all_models
from carebridge.migrations import alembic_config


def schema_differences() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.db"
        command.upgrade(alembic_config(f"sqlite+aiosqlite:///{path}"), "heads")
        engine = create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = compare_metadata(context, all_models.metadata)
        engine.dispose()
    return [str(d) for d in diffs]
