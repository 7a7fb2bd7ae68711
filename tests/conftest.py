"""Test databases: SQLite by default, PostgreSQL when DATABASE_URL points at a server.

On PostgreSQL the run creates a fresh database of its own and drops it at the end; each test
starts from empty tables (TRUNCATE, which the amendment record's append-only triggers do not
block). On SQLite each test gets a copy of a freshly migrated file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.db import database_url, make_engine, session_factory, upgrade
from storage.models import Base


def _postgres_server_url() -> str | None:
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith(("postgres", "postgresql")):
        return None
    return database_url(raw)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole run: a file on SQLite, a fresh database on
    PostgreSQL. Yields its URL."""
    server = _postgres_server_url()
    if server is None:
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"firstcall_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {server} is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def db_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if database_template.startswith("sqlite"):
        source = Path(database_template.removeprefix("sqlite:///"))
        target = tmp_path / "test.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    engine = create_engine(database_template)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield database_template


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


@pytest.fixture
def on_postgres(db_url: str) -> bool:
    return db_url.startswith("postgresql")
