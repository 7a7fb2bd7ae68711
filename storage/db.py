"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///firstcall.db"
MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseUrlError(ValueError):
    pass


def database_url(explicit: str | None = None) -> str:
    """The database URL from the argument or DATABASE_URL, normalised so a bare
    `postgres://` or `postgresql://` (as hosting platforms give it) uses psycopg 3."""
    raw = explicit or os.environ.get("DATABASE_URL") or DEFAULT_URL
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"DATABASE_URL: not a database URL ({exc})") from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"DATABASE_URL: unsupported database {url.get_backend_name()!r} (use sqlite or postgresql)"
        )
    return url.render_as_string(hide_password=False)


# The outbox sends 16 texts at once, each on its own connection, beside the web app's own.
POOL = {"pool_size": 20, "max_overflow": 10}


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    resolved = database_url(url)
    # A statement's parameters are phone numbers and parents' words: never in an error.
    kwargs.setdefault("hide_parameters", True)
    if "poolclass" not in kwargs:
        kwargs = {**POOL, **kwargs}
    if resolved.startswith("sqlite"):
        connect_args = {"timeout": 30, **kwargs.pop("connect_args", {})}
        engine = create_engine(resolved, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(resolved, pool_pre_ping=True, **kwargs)


def database_fault(exc: BaseException) -> bool:
    """Whether a failure is the database's (down, locked, connection lost: try again later)
    rather than the data's (a value it will never accept)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    with factory() as session, session.begin():
        yield session


def upsert(session: Session, model: type[Any]) -> Any:
    """An INSERT that can say ON CONFLICT, in the session's own dialect (PostgreSQL and
    SQLite spell it alike): one round trip where a select-then-insert takes two or three."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url(url)), revision)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def database_problem(exc: Exception) -> str:
    """One line for a database error a person can act on."""
    message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "no such table" in message or "does not exist" in message and "relation" in message:
        return f"the database is not set up ({message}); run `firstcall db upgrade`"
    return f"cannot use the database: {message}"
