"""Real services for every test: SQLite and PostgreSQL, the real app, real HTTP where a test crosses the network.

``api`` runs the app in the test's own event loop and reaches it through ``httpx.ASGITransport`` (no socket,
no thread): the same routes, middleware, lifespan and databases, without a server to start. Tests that need
a socket (WebSocket, other processes, the SDK's own network stack, TLS, timeouts) ask for ``live`` (a real
uvicorn server) or carry ``@pytest.mark.network``, and then ``api`` talks to a ``LiveServer`` over real HTTP.

``dialect`` parametrises tests over both databases. PostgreSQL comes from
``LINEAGE_REG_TEST_PG_URL`` when set, otherwise from ``pgserver`` (a real
PostgreSQL 16 started from the wheel); each test gets a fresh database cloned
from a migrated template.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from lineage_reg.app import create_app
from lineage_reg.config import Settings
from lineage_reg.http.timeouts import server_options
from lineage_reg.services import tokens
from lineage_reg.services.lifecycle import open_runtime
from lineage_reg.store import migrations
from lineage_reg.store.db import Database
from lineage_reg.store.tables import metadata

# A developer's own `lineage-reg login` must never reach the tests (nor the tests overwrite it).
os.environ["LINEAGE_REG_CREDENTIALS"] = os.path.join(tempfile.mkdtemp(prefix="lr-test-"), "credentials.json")
# Nor the developer's download cache; each test gets a cache of its own (the `blob_cache` fixture).
os.environ["LINEAGE_REG_CACHE_DIR"] = tempfile.mkdtemp(prefix="lr-test-cache-")

DIALECTS = ["sqlite", "postgresql"]
_db_counter = itertools.count()


STORAGES = ["local", "s3"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dialect" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("dialects")  # @pytest.mark.dialects("postgresql")
        metafunc.parametrize("dialect", list(only.args) if only else DIALECTS, scope="function")
    if "storage" in metafunc.fixturenames:
        metafunc.parametrize("storage", STORAGES, scope="function")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP endpoint: moto's server on loopback."""
    from moto.server import ThreadedMotoServer

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_bucket(endpoint: str) -> str:
    import boto3

    name = f"lr-test-{next(_db_counter)}-{os.getpid()}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """An asyncpg URL to a server we may create databases on."""
    url = os.environ.get("LINEAGE_REG_TEST_PG_URL")
    if url:
        yield url
        return
    import pgserver

    # Not under pytest's own temp root: every pytest session that starts resets that root to mode 0700,
    # which locks out the `pgserver` user this PostgreSQL runs as (when we are root) at its next
    # checkpoint: a second pytest run would kill the first one's database within minutes.
    data = Path(tempfile.mkdtemp(prefix="lineage-reg-test-pg-"))
    server = pgserver.get_server(data, cleanup_mode="stop")
    sock_dir = server.get_uri().split("host=")[1]
    yield f"postgresql+asyncpg://postgres@/postgres?host={sock_dir}"
    # Its data is thrown away: stop without the shutdown checkpoint, which flushes every database the tests
    # cloned (it took ~2 minutes at the end of a full run). pgserver then finds it stopped.
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
    server.cleanup()
    shutil.rmtree(data, ignore_errors=True)


def _with_db(url: str, name: str) -> str:
    return str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> str:
    """A migrated template database; tests clone it (CREATE DATABASE ... TEMPLATE)."""
    name = f"lr_template_{os.getpid()}"

    async def make() -> None:
        admin = sa.ext.asyncio.create_async_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        db = Database(_with_db(pg_admin_url, name))
        await migrations.upgrade(db)
        await db.dispose()

    asyncio.run(make())
    return name


@pytest.fixture
def empty_url(dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no tables at all (not the migrated template)."""
    if dialect == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    name = f"lr_mig_{os.getpid()}_{next(_db_counter)}"

    async def create() -> None:
        admin = sa.ext.asyncio.create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()

    asyncio.run(create())
    yield str(sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (migrating from nothing takes ~0.25 s, a copy ~1 ms)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "registry.db"

    async def make() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await migrations.upgrade(db)
        await db.dispose()

    asyncio.run(make())
    assert not path.with_name(path.name + "-wal").exists(), "the template must be checkpointed into one file"
    return path


@pytest.fixture
def database_url(dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if dialect == "sqlite":
        target = tmp_path / "registry.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    admin_url = request.getfixturevalue("pg_admin_url")
    template = request.getfixturevalue("pg_template")
    name = f"lr_test_{os.getpid()}_{next(_db_counter)}"

    async def clone() -> None:
        admin = sa.ext.asyncio.create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        await admin.dispose()

    asyncio.run(clone())
    return _with_db(admin_url, name)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Settings:
    """Local blob storage unless the test asks for ``storage`` (then both backends)."""
    base = Settings(data_dir=tmp_path / "data", database_url=database_url)
    if "storage" in request.fixturenames and request.getfixturevalue("storage") == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return dataclasses.replace(base, storage_url=f"s3://{make_bucket(endpoint)}/registry",
                                   s3_endpoint_url=endpoint, s3_region="us-east-1")
    return base


@pytest.fixture(autouse=True)
def blob_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The SDK's download cache for this test (subprocesses inherit it through the environment)."""
    path = tmp_path_factory.mktemp("blob-cache")
    monkeypatch.setenv("LINEAGE_REG_CACHE_DIR", str(path))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn server in a thread of its own, with its own event loop."""

    def __init__(self, settings: Settings, *, tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: (certificate, key) files to serve https:// and wss:// with."""
        self.settings = settings
        self.app = create_app(settings)
        self.runtime = self.app.state.runtime
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        certfile, keyfile = tls or (None, None)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", ws="websockets-sansio", ssl_certfile=certfile, ssl_keyfile=keyfile,
                                **server_options(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def admin_token(self) -> str:
        return (self.settings.data_dir / tokens.BOOTSTRAP_FILE).read_text().strip()


class InProcessServer:
    """The app in the caller's event loop, its lifespan run by hand, reached through ``httpx.ASGITransport``.

    Everything but the socket is real: routes, middleware, lifespan (migrations, event bus, webhook
    dispatcher, blob store), the databases. URLs the app hands out (upload and download links) name
    ``http://testserver``, which ``client()`` routes back into the app; any other host (S3, a webhook
    receiver) goes over the network as usual. Use as ``async with InProcessServer(settings) as server``.
    """

    url = "http://testserver"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.runtime = self.app.state.runtime
        self._lifespan: Any = None

    async def __aenter__(self) -> InProcessServer:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._lifespan.__aexit__(*exc)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client whose requests to ``self.url`` go into the app (``raise_app_exceptions=False``: an
        error the app answers with a 500 is seen as the 500 a client over HTTP would see)."""
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(mounts={"all://testserver": transport}, timeout=30, **kwargs)

    def admin_token(self) -> str:
        return (self.settings.data_dir / tokens.BOOTSTRAP_FILE).read_text().strip()


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


class GraphQLError(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors
        self.code = errors[0].get("extensions", {}).get("code")


class Api:
    """A GraphQL client over httpx: into the app in-process, or over real HTTP (keep-alive) to a LiveServer."""

    def __init__(self, server: LiveServer | InProcessServer, http: httpx.AsyncClient, token: str | None) -> None:
        self.server = server
        self.http = http
        self.token = token
        self.url = server.url

    def as_token(self, token: str | None) -> Api:
        return Api(self.server, self.http, token)

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        resp = await self.http.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                    headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.raw(query, variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]

    async def error(self, query: str, **variables: Any) -> GraphQLError:
        """Run a query that must fail; return its first error."""
        body = await self.raw(query, variables)
        assert body.get("errors"), f"expected an error, got {body}"
        return GraphQLError(body["errors"])

    async def token_for(self, role: str, name: str | None = None) -> str:
        # The server's runtime lives on the server thread's loop: use a runtime of our own.
        async with open_runtime(self.server.settings, events=False, migrate=False) as rt:
            return await tokens.create_token(rt, name=name or f"test-{role}", role=role)


@pytest.fixture
async def api(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """The admin's client: in-process (``InProcessServer``) unless the test needs a socket (see the module doc)."""
    if "live" in request.fixturenames or request.node.get_closest_marker("network"):
        live: LiveServer = request.getfixturevalue("live")
        async with httpx.AsyncClient(timeout=30) as http:
            yield Api(live, http, live.admin_token())
        return
    async with InProcessServer(settings) as server, server.client() as http:
        yield Api(server, http, server.admin_token())


async def snapshot(server: LiveServer | InProcessServer) -> dict[str, Any]:
    """Row counts of every table and the blob files on disk: to prove a failure changed nothing."""
    db = Database(server.settings.effective_database_url)
    try:
        counts = {}
        for table in metadata.sorted_tables:
            row = await db.fetch_one(sa.select(sa.func.count()).select_from(table))
            counts[table.name] = row[0]
        blob_root = server.settings.blob_dir
        files = sorted(str(p.relative_to(blob_root)) for p in blob_root.rglob("*") if p.is_file())
        return {"rows": counts, "blobs": files}
    finally:
        await db.dispose()
