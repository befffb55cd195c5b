"""The database handle: async engine for writes, the fastest safe path for reads.

Writes run in short transactions through the async engine; ``transaction``
retries when a unique constraint or a serialization failure shows that a
concurrent writer got there first, so counters (version and link indices) and
aliases stay consistent under races without luck.

On SQLite, reads *and* write transactions run synchronously inside the event
loop through plain SQLAlchemy Core connections: a statement costs ~0.1 ms that
way against 1-2 ms through aiosqlite's thread hop, and a transaction never
yields to the loop, so within a process two transactions never interleave.
The writer's busy timeout is short: when another process holds the write
lock, the transaction fails fast and is retried after an *async* sleep, so
the event loop is never parked on a lock. On PostgreSQL everything is asyncpg.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .. import private
from ..errors import RegistryError

T = TypeVar("T")

MAX_ATTEMPTS = 100
SQLITE_WRITER_BUSY_MS = 20  # block the loop at most this long on another process's write lock


class Retry(Exception):
    """Raised inside a transaction to have it rolled back and run again."""


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


def _is_retryable(exc: BaseException) -> bool:
    """A lost race, not a bug: unique violation, lock timeout, serialization failure."""
    if isinstance(exc, Retry):
        return True
    if isinstance(exc, IntegrityError):
        return "UNIQUE constraint failed" in str(exc) or _sqlstate(exc) == "23505"
    if isinstance(exc, OperationalError) and "locked" in str(exc).lower():
        return True
    if isinstance(exc, DBAPIError):
        return _sqlstate(exc) in ("40001", "40P01")  # serialization failure, deadlock
    return False


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def _begin_immediate(conn: Connection) -> None:
    # Writers take the lock up front: no deadlock between two readers upgrading.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Conn:
    """One unit of work on either path; ``execute`` is awaitable on both."""

    def __init__(self, sync_conn: Connection | None, async_conn: AsyncConnection | None) -> None:
        self._sync = sync_conn
        self._async = async_conn

    @property
    def dialect_name(self) -> str:
        conn = self._sync if self._sync is not None else self._async
        assert conn is not None
        return str(conn.dialect.name)

    async def execute(self, stmt: Any, params: Any = None) -> CursorResult[*tuple[Any, ...]]:
        if self._sync is not None:
            return self._sync.execute(stmt, params)
        assert self._async is not None
        return await self._async.execute(stmt, params)


class DatabaseUnavailable(RegistryError):
    """The database URL names nothing lineage-reg can use, or the database behind it can't be reached."""

    code = "DATABASE_UNAVAILABLE"


SUPPORTED = "sqlite+aiosqlite:///path/to/registry.db or postgresql+asyncpg://user@host/dbname"


def shown_url(url: str) -> str:
    """The URL for logs and banners: scheme, user, host and database kept, the password replaced by ***."""
    try:
        return unquote(sa.engine.make_url(url).render_as_string(hide_password=True))  # ?host=/run/x, not %2F
    except sa.exc.ArgumentError:
        return "<a database URL that does not parse>"


def check_url(url: str) -> sa.engine.URL:
    """The parsed URL, or DatabaseUnavailable saying which URL to write instead (before any driver is imported:
    ``postgresql://`` alone makes SQLAlchemy import psycopg, which lineage-reg does not install)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseUnavailable(f"the database URL {url.split('@')[-1]!r} does not parse; write it as "
                                  f"{SUPPORTED}") from None
    backend = parsed.get_backend_name()
    try:
        driver = parsed.get_driver_name()
    except sa.exc.NoSuchModuleError:  # postgres://, foo://: no dialect of that name
        driver = parsed.drivername.partition("+")[2] or "default"
    if "+" not in parsed.drivername:
        asks = "names no driver" + (f" (SQLAlchemy would load {driver})" if driver != "default" else "")
    else:
        asks = f"asks for the {driver} driver"
    if backend in ("postgresql", "postgres") and driver != "asyncpg":
        fixed = shown_url(parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False))
        raise DatabaseUnavailable(f"the database URL {shown_url(url)} {asks}; lineage-reg talks to PostgreSQL "
                                  f"through asyncpg (installed with it): write {fixed}")
    if backend == "sqlite" and driver != "aiosqlite":
        fixed = shown_url(parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False))
        raise DatabaseUnavailable(f"the database URL {shown_url(url)} {asks}; lineage-reg talks to SQLite "
                                  f"through aiosqlite: write {fixed}")
    if backend not in ("postgresql", "postgres", "sqlite"):
        raise DatabaseUnavailable(f"lineage-reg runs on SQLite or PostgreSQL, not {backend} ({shown_url(url)}): "
                                  f"write {SUPPORTED}")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        # Several engines (async, sync reader, sync writer) share the database: an in-memory one each would be
        # a database of its own.
        raise DatabaseUnavailable(f"the database URL {shown_url(url)} names no file; lineage-reg keeps SQLite in a "
                                  "file that its connections share: write sqlite+aiosqlite:///path/to/registry.db")
    return parsed


def _unreachable(url: sa.engine.URL, exc: BaseException) -> DatabaseUnavailable:
    """A connection failure said in one sentence, with what to do about it."""
    shown = shown_url(url.render_as_string(hide_password=False))
    state = _sqlstate(exc) if isinstance(exc, DBAPIError) else None
    name, user = url.database or "", url.username
    if state == "3D000":  # invalid_catalog_name
        host = url.host or url.query.get("host")  # ?host=/var/run/postgresql: a unix socket's directory
        where = " ".join(filter(None, [f"-h {host}" if isinstance(host, str) else None,
                                       f"-p {url.port}" if url.port else None, f"-U {user}" if user else None]))
        return DatabaseUnavailable(f"the database {name!r} does not exist ({shown}): create it with "
                                   f"`createdb {where + ' ' if where else ''}{name}` (or CREATE DATABASE "
                                   f"\"{name}\"; in psql), then start again; lineage-reg creates its tables itself")
    if state in ("28P01", "28000"):  # invalid_password, invalid_authorization_specification
        return DatabaseUnavailable(f"PostgreSQL refused the login of {user!r} ({shown}): check the user and "
                                   "password in the URL and pg_hba.conf")
    if state == "42501":  # insufficient_privilege
        return DatabaseUnavailable(f"the user {user!r} may not connect to {name!r} ({shown}): "
                                   f"GRANT CONNECT ON DATABASE \"{name}\" TO \"{user}\" (and its schema's CREATE)")
    if isinstance(exc, OSError):
        return DatabaseUnavailable(f"cannot reach the database at {shown} ({exc.strerror or exc}): is PostgreSQL "
                                   "running, and are the host and port (or ?host=/socket/dir) in the URL right?")
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return DatabaseUnavailable(f"cannot use the database at {shown}: {detail}")


class Database:
    def __init__(self, url: str) -> None:
        self._parsed_url = check_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine
        self._sync_reader: Engine | None = None
        self._sync_writer: Engine | None = None
        self._data_version: sqlite3.Connection | None = None
        self._epoch_seen_at: int | None = None  # the data_version at which the access epoch was last read
        self._epoch = 0
        # PostgreSQL: every write transaction sends NOTIFY on this channel (delivered only if it
        # commits), so other processes' caches and event buses learn of every change.
        self.change_channel: str | None = None
        # Called after every commit in this process (caches here must not wait for the NOTIFY).
        self.on_commit: Callable[[], None] | None = None
        if self.is_sqlite:
            path = self._parsed_url.database
            assert path, "check_url refuses a SQLite URL without a file"
            try:
                private.make_dir(Path(path).parent)
                private.create_file(Path(path))  # SQLite gives its WAL/SHM/journal files the same mode
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create the SQLite database {path} ({exc.strerror or exc}): "
                                          "point the URL at a file in a directory this user may write") from None
            # The async engine only runs migrations (Alembic wants a connection it can run_sync on).
            self.engine = create_async_engine(url, pool_size=1, max_overflow=2)
            sa_event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(10_000))
            sa_event.listen(self.engine.sync_engine, "begin", _begin_immediate)
            self._sync_reader = sa.create_engine(f"sqlite:///{path}", pool_size=2, max_overflow=4)
            sa_event.listen(self._sync_reader, "connect", _sqlite_pragmas(1_000))
            self._sync_writer = sa.create_engine(f"sqlite:///{path}", pool_size=1, max_overflow=2)
            sa_event.listen(self._sync_writer, "connect", _sqlite_pragmas(SQLITE_WRITER_BUSY_MS))
            sa_event.listen(self._sync_writer, "begin", _begin_immediate)
            self._data_version = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=False)

    def driver_dsn(self) -> str:
        """The URL as the driver itself (asyncpg) wants it."""
        url = sa.engine.make_url(self.url).set(drivername=self.url.split("+")[0].split(":")[0])
        return url.render_as_string(hide_password=False)

    def change_counter(self) -> int | None:
        """A number that changes whenever any connection, in any process, commits a write.

        SQLite's ``PRAGMA data_version`` on a connection of our own; None on
        PostgreSQL, where no such cheap signal exists.
        """
        if self._data_version is None:
            return None
        return int(self._data_version.execute("PRAGMA data_version").fetchone()[0])

    def access_counter(self) -> int | None:
        """SQLite: a number that moves whenever any process may have taken access away (the access epoch,
        bumped in the transaction that revokes a token or changes a role). It is read again only when
        data_version says something was committed, so a token cache keyed on it survives ordinary writes.
        None on PostgreSQL, whose bus tells these changes by NOTIFY."""
        version = self.change_counter()
        if version is None or self._data_version is None:
            return None
        if version != self._epoch_seen_at:
            # data_version first, epoch second: a change committed in between moves data_version again, so
            # the next call reads the epoch again; no change is ever missed.
            self._epoch = int(self._data_version.execute("SELECT n FROM access_epoch").fetchone()[0])
            self._epoch_seen_at = version
        return self._epoch

    def sync_engines(self) -> list[Engine]:
        """Every engine that talks to the database (for instrumentation)."""
        found = [self.engine.sync_engine, self._sync_reader, self._sync_writer]
        return [e for e in found if e is not None]

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Conn]:
        if self._sync_reader is not None:
            with self._sync_reader.connect() as conn:
                yield Conn(conn, None)
        else:
            async with self.engine.connect() as aconn:
                yield Conn(None, aconn)

    async def fetch_all(self, stmt: Any, params: Any = None) -> list[Any]:
        async with self.reader() as r:
            return list((await r.execute(stmt, params)).all())

    async def fetch_one(self, stmt: Any, params: Any = None) -> Any | None:
        async with self.reader() as r:
            return (await r.execute(stmt, params)).first()

    async def ping(self) -> None:
        await self.fetch_one(sa.select(sa.literal(1)))

    async def check(self) -> None:
        """Connect once, or raise DatabaseUnavailable saying in one sentence why not and what to do."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.select(sa.literal(1)))
        except (DBAPIError, OSError) as exc:
            raise _unreachable(self._parsed_url, exc) from None

    async def transaction(self, work: Callable[[Conn], Awaitable[T]], *,
                          notify_payload: Callable[[], str] | None = None) -> T:
        """Run ``work`` in one transaction, retrying when a concurrent writer won a race.

        ``work`` must be safe to run again: it re-reads what it depends on.
        Domain errors it raises roll back and propagate untouched. On PostgreSQL
        the NOTIFY carries ``notify_payload()`` (read after ``work`` ran).
        """
        for attempt in range(MAX_ATTEMPTS):
            try:
                if self._sync_writer is not None:
                    with self._sync_writer.begin() as sync_conn:
                        result = await work(Conn(sync_conn, None))
                else:
                    async with self.engine.begin() as conn:
                        result = await work(Conn(None, conn))
                        if self.change_channel is not None:
                            payload = notify_payload() if notify_payload is not None else ""
                            await conn.execute(sa.select(sa.func.pg_notify(self.change_channel, payload)))
                if self.on_commit is not None:
                    self.on_commit()
                return result
            except Exception as exc:
                if not _is_retryable(exc) or attempt == MAX_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * (attempt + 1))))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()
        for engine in (self._sync_reader, self._sync_writer):
            if engine is not None:
                engine.dispose()
        if self._data_version is not None:
            self._data_version.close()
