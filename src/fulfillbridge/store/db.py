"""Database engines and sessions (SQLAlchemy 2.x, async), and running migrations.

SQLite (the default, WAL mode) via aiosqlite; PostgreSQL via psycopg 3. Migrations are
Alembic's, run with a synchronous engine on the same database.
"""

from __future__ import annotations

import contextlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from fulfillbridge.config import ConfigError


def normalize_url(url: str, *, asynchronous: bool) -> str:
    """The URL with the driver this project uses for that database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"database URL {url.split('@')[-1]!r} is not a valid SQLAlchemy URL "
            "(expected e.g. sqlite:///path.db or postgresql://user:pass@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        driver = "aiosqlite" if asynchronous else "pysqlite"
    elif backend == "postgresql":
        driver = "psycopg"
    else:
        raise ConfigError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside one writer; busy_timeout waits for the writer instead of
    # failing at once when the worker and the web app write together.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by the owner only; an existing
    directory is left as it is (it may be shared on purpose)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for created in missing:  # mkdir's mode is filtered by the umask: set it plainly
        with contextlib.suppress(OSError):
            created.chmod(0o700)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database)
    return None


def _prepare_sqlite_dir(url: str) -> None:
    """The SQLite file's directory created private, and the file itself created 0600
    before SQLite opens it (its -wal and -shm files take the database file's mode)."""
    path = _sqlite_file(url)
    if path is None:
        return
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _private_files(path: Path) -> None:
    """The database, WAL and shared-memory files readable by the owner only (files made by
    an older version were 0644)."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)


# A worker works several stores at once, each with its inbox, outbox rows and throttle
# bucket in their own transactions: with SQLAlchemy's default pool (5, and 10 connections
# opened and closed again beyond it) most transactions of a busy worker paid for a new
# PostgreSQL connection. Sized for worker_stores x (inbox + outbox concurrency + bucket).
POSTGRES_POOL_SIZE = 20
POSTGRES_MAX_OVERFLOW = 10


def _pool_options(async_url: str) -> dict[str, int]:
    if async_url.startswith("postgresql"):
        return {"pool_size": POSTGRES_POOL_SIZE, "max_overflow": POSTGRES_MAX_OVERFLOW}
    return {}


def create_engine_for(url: str) -> AsyncEngine:
    async_url = normalize_url(url, asynchronous=True)
    _prepare_sqlite_dir(async_url)
    try:
        engine = create_async_engine(async_url, pool_pre_ping=True, **_pool_options(async_url))
    except NoSuchModuleError as exc:
        raise ConfigError(f"database driver missing: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        path = _sqlite_file(async_url)
        if path is not None:
            event.listen(engine.sync_engine, "connect", lambda *_: _private_files(path))
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("fulfillbridge.store").joinpath("migrations"))
    )
    # Percent signs in passwords would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", normalize_url(url, asynchronous=False).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (idempotent)."""
    sync_url = normalize_url(url, asynchronous=False)
    _prepare_sqlite_dir(sync_url)
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(normalize_url(url, asynchronous=False))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
