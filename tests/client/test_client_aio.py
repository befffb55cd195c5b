"""The async SDK (AsyncRegistry) and the blocking facade's event loop thread, against a real server: the whole
flow from async code, concurrent calls on one connection, the blocking SDK inside a running loop (a notebook),
cancellation and interrupts leaving nothing partial."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer
from lineage_reg.client import AsyncRegistry, AsyncRun, NotFound, Registry, Retry, Unreachable, Version
from lineage_reg.client.cache import BlobCache
from lineage_reg.config import Settings
from support.trees import read_tree, write_tree

MiB = 1024 * 1024


class Slow(httpx.AsyncHTTPTransport):
    """A real transport whose download bodies arrive one chunk every ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await super().handle_async_request(request)
        if request.method == "GET":
            resp.stream = self.Dripping(resp.stream, self.delay)  # type: ignore[arg-type]
        return resp

    class Dripping(httpx.AsyncByteStream):
        def __init__(self, inner: httpx.AsyncByteStream, delay: float) -> None:
            self.inner, self.delay = inner, delay

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self.inner:
                await asyncio.sleep(self.delay)
                yield chunk

        async def aclose(self) -> None:
            await self.inner.aclose()


def leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_the_whole_flow_from_async_code(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    train = write_tree(tmp_path / "train", {"part-0.csv": b"x,y\n1,0\n"})
    model = write_tree(tmp_path / "model", {"weights.bin": os.urandom(300_000), "cfg/a.json": b"{}"})
    async with AsyncRegistry(live.url, live.admin_token()) as reg:
        await reg.create_project("churn")
        await reg.log_artifact("churn", "train-set", type="dataset", path=train)
        async with await reg.start_run(project="churn", config={"lr": 0.1}) as run:
            assert isinstance(run, AsyncRun)
            await run.use_dataset("s3://lake", "events/2026-11")
            inputs = await run.use("churn/train-set:latest", root=tmp_path / "inputs")
            assert read_tree(inputs) == read_tree(train)
            await run.log_metrics({"auc": 0.91}, step=3)
            v = await run.log_artifact(model, name="classifier", type="model", aliases=["candidate"])
        assert isinstance(v, Version) and v.ref == "churn/classifier:v0"
        assert await reg.link(v, "churn/prod", aliases=["staging"]) == "churn/prod:v0"
        await reg.set_alias("churn/prod", "production", v)
        served = await reg.download("churn/prod:production", root=tmp_path / "serve")
        assert read_tree(served) == read_tree(model)
        assert [item["ref"] async for item in reg.versions("churn/classifier")] == ["churn/classifier:v0"]
        status = await reg.query("query($id: ID!) { run(id: $id) { status inputs { ref } } }", id=run.id)
        assert status["run"] == {"status": "FINISHED", "inputs": [{"ref": "churn/train-set:v0"}]}
        with pytest.raises(NotFound):
            await reg.resolve("churn/classifier:v9")


async def test_a_run_that_raises_is_failed(live: LiveServer) -> None:
    async with AsyncRegistry(live.url, live.admin_token()) as reg:
        await reg.create_project("churn")
        with pytest.raises(ZeroDivisionError):
            async with await reg.start_run("churn") as run:
                1 / 0  # noqa: B018
        assert (await reg.query("query($id: ID!) { run(id: $id) { status } }", id=run.id))["run"]["status"] == "FAILED"


async def test_calls_on_one_registry_run_concurrently(live: LiveServer, tmp_path: Path) -> None:
    trees = {f"m{i}": {f"f{j}.bin": os.urandom(20_000) for j in range(5)} for i in range(4)}
    async with AsyncRegistry(live.url, live.admin_token(), cache=False) as reg:
        await reg.create_project("churn")
        versions = await asyncio.gather(*(reg.log_artifact("churn", name, type="model",
                                                           path=write_tree(tmp_path / "src" / name, files))
                                          for name, files in trees.items()))
        await asyncio.gather(*(reg.download(v, root=tmp_path / "out" / v.ref.split("/")[1].split(":")[0])
                               for v in versions))
    for name, files in trees.items():
        assert read_tree(tmp_path / "out" / name) == files


async def test_the_blocking_registry_works_inside_a_running_loop(live: LiveServer, tmp_path: Path) -> None:
    """A notebook cell runs inside an event loop: asyncio.run would refuse, the blocking SDK must not."""
    asyncio.get_running_loop()  # this test body is such a loop
    src = write_tree(tmp_path / "m", {"w.bin": b"weights"})
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        with reg.start_run("churn") as run:
            v = run.log_artifact(src, name="classifier", type="model")
        assert read_tree(reg.download(v, root=tmp_path / "out")) == {"w.bin": b"weights"}
        assert [item["ref"] for item in reg.versions("churn/classifier")] == [v.ref]
        assert reg.aio.url == live.url


def test_a_blocking_call_from_its_own_loop_is_refused(live: LiveServer) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        async def blocking_inside() -> None:
            reg.create_project("churn")  # would wait on the loop it is running on

        with pytest.raises(RuntimeError, match="use lineage_reg.client.AsyncRegistry"):
            reg._portal.call(blocking_inside())
        reg.create_project("churn")  # the registry is still fine
    with pytest.raises(RuntimeError, match="closed"):
        reg.create_project("other")
    reg.close()  # closing twice is harmless


def test_a_blocking_transport_is_refused_with_what_to_use() -> None:
    with pytest.raises(TypeError, match="AsyncBaseTransport"):
        Registry("http://127.0.0.1:1", transport=httpx.HTTPTransport())  # type: ignore[arg-type]


async def test_a_cancelled_download_leaves_nothing_partial(live: LiveServer, tmp_path: Path, blob_cache: Path) -> None:
    src = write_tree(tmp_path / "src", {"weights.bin": os.urandom(4 * MiB), "small.txt": b"x"})
    async with AsyncRegistry(live.url, live.admin_token()) as reg:
        await reg.create_project("churn")
        version = await reg.log_artifact("churn", "big", type="model", path=src)
    started = asyncio.Event()
    async with AsyncRegistry(live.url, live.admin_token(), transport=Slow(0.02), cache=False,
                             progress=lambda n: started.set()) as slow:
        task = asyncio.create_task(slow.download(version.ref, root=tmp_path / "out"))
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(0.1)  # some chunks of the big file are on disk now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert leftovers(tmp_path / "out") in ([], ["small.txt"])  # no partial weights.bin, no .part file
    assert BlobCache(blob_cache).usage().entries == 0


def test_an_interrupt_stops_a_blocking_download_and_cleans_up(live: LiveServer, tmp_path: Path) -> None:
    """Ctrl-C while ``Registry.download`` waits: KeyboardInterrupt here, the transfer cancelled on the loop
    thread, its temporary file removed before the interrupt propagates; the registry stays usable."""
    src = write_tree(tmp_path / "src", {"weights.bin": os.urandom(4 * MiB)})
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "big", type="model", path=src)
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    arrived = threading.Event()

    def interrupt_once_bytes_arrive() -> None:
        if arrived.wait(10):
            signal.pthread_kill(main, signal.SIGINT)

    with Registry(live.url, live.admin_token(), transport=Slow(0.02), cache=False,
                  progress=lambda n: arrived.set()) as reg:
        threading.Thread(target=interrupt_once_bytes_arrive, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            reg.download(version.ref, root=tmp_path / "out")
        assert leftovers(tmp_path / "out") == []
        assert reg.resolve(version.ref).digest == version.digest  # still usable after the interrupt


async def test_watch_as_an_async_iterator(live: LiveServer, tmp_path: Path) -> None:
    async with AsyncRegistry(live.url, live.admin_token()) as reg:
        await reg.create_project("churn")
        (tmp_path / "m.txt").write_text("model")
        v = await reg.log_artifact("churn", "classifier", type="model", path=tmp_path / "m.txt")
        await reg.link(v, "churn/prod")
        changes = reg.watch("churn/prod", alias="production")
        first = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.3)  # subscribed
        await reg.set_alias("churn/prod", "production", v)
        change = await asyncio.wait_for(first, 10)
        await changes.aclose()  # type: ignore[attr-defined]
    assert (change.alias, change.previous, change.version) == ("production", None, "churn/classifier:v0")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, its own CA, and its key."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lineage-reg test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


@pytest.mark.dialects("sqlite")
def test_https_and_wss_with_a_private_ca(settings: Settings, tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    src = write_tree(tmp_path / "m", {"weights.bin": os.urandom(2 * MiB), "cfg.json": b"{}"})
    with LiveServer(settings, tls=(certfile, keyfile)) as live:
        assert live.url.startswith("https://")
        started = time.monotonic()
        with Registry(live.url, live.admin_token(), retry=Retry(attempts=5, base=1.0)) as untrusting, \
                pytest.raises(Unreachable, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.create_project("churn")  # a certificate nobody vouches for: refused, and said why
        assert time.monotonic() - started < 1.0  # at once: retrying cannot make it trusted
        with Registry(live.url, live.admin_token(), verify=certfile) as reg:
            reg.create_project("churn")
            v = reg.log_artifact("churn", "classifier", type="model", path=src)
            assert all(f.download_url.startswith("https://") for f in v.files)
            assert read_tree(reg.download(v, root=tmp_path / "out")) == read_tree(src)
            reg.link(v, "churn/prod")
            changes = reg.watch("churn/prod", after=0)  # wss://, the same CA
            assert next(changes).version == "churn/classifier:v0"  # linking moved `latest`
            changes.close()


@pytest.mark.dialects("sqlite")
def test_with_a_proxy_in_the_environment_everything_goes_through_it(live: LiveServer, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own transport (and its blob shortcut) would bypass HTTP_PROXY: with one set, httpx's own is used."""
    from support.proxy import Proxy

    proxy = Proxy(live.port)  # forwards bytes: the server answers the proxy-form requests itself
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")
    src = write_tree(tmp_path / "m", {"a.bin": os.urandom(50_000), "b.txt": b"b"})
    try:
        with Registry(live.url, live.admin_token(), cache=False) as reg:
            assert reg.aio.transfers.direct is None
            reg.create_project("churn")
            v = reg.log_artifact("churn", "classifier", type="model", path=src)
            assert read_tree(reg.download(v, root=tmp_path / "out")) == read_tree(src)
        assert proxy.accepted >= 1  # the requests went through the proxy
    finally:
        proxy.close()
    monkeypatch.delenv("HTTP_PROXY")
    with Registry(live.url, live.admin_token()) as direct:
        assert direct.aio.transfers.direct is not None  # no proxy: blobs take the shortcut again
