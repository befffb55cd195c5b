"""Webhooks over real HTTP: a receiver on loopback, the registry's dispatcher POSTing to it.

What an automation relies on: every matching committed event reaches it, at
least once, signed so it can tell the registry sent it; a receiver that is down
or failing gets the event later (backoff), even across a server restart;
events that never committed never arrive.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import Api, LiveServer, free_port, snapshot
from lineage_reg.config import Settings
from lineage_reg.store import schema as s
from lineage_reg.store.db import Database
from support.versions import log_version

SECRET = "s3cret-for-the-tests-0123456789"
CREATE = """mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  id project url kinds collection aliasPattern active createdBy } }"""
SET = ('mutation($c: String!, $a: String!, $v: String!) { setAlias(input: {collection: $c, alias: $a, version: $v}) '
       "{ name } }")
DELIVERIES = """query($w: ID!) { deliveries(webhook: $w, first: 50) { edges { node {
  kind status attempts lastStatusCode lastLatencyMs lastError deliveredAt event { sequence kind } } } } }"""
MODEL = "churn/classifier-prod"


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    def signature_valid(self, secret: str = SECRET) -> bool:
        timestamp = self.headers["x-lineagereg-timestamp"]
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["x-lineagereg-signature"], f"sha256={mac}")


class Receiver:
    """A real HTTP server that answers with the next status in ``script`` (then 200) and records every request."""

    def __init__(self, port: int | None = None, script: list[int] | None = None) -> None:
        self.port = port or free_port()
        self.script = list(script or [])
        self.requests: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"received {len(self.requests)} of {count} requests"
            await asyncio.sleep(0.02)
        return self.requests


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The receivers here listen on loopback, which webhooks may reach only when allowed.
    return dataclasses.replace(settings, webhook_backoff_seconds=0.05, webhook_max_attempts=4,
                               webhook_allow=("127.0.0.1/32",))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(script=[500, 503]) as r:
        yield r


async def setup(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(2):
        await log_version(api, {"m.bin": f"weights-{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/classifier-prod"}) '
                  "{ id } }", v=f"churn/classifier:v{i}")


async def create_hook(api: Api, url: str, **extra: Any) -> dict[str, Any]:
    input = {"project": "churn", "url": url, "kinds": ["alias.set", "alias.removed"], "secret": SECRET, **extra}
    return (await api(CREATE, input=input))["createWebhook"]  # type: ignore[no-any-return]


async def deliveries(api: Api, hook_id: str) -> list[dict[str, Any]]:
    data = await api(DELIVERIES, w=hook_id)
    return [e["node"] for e in data["deliveries"]["edges"]]


async def wait_status(api: Api, hook_id: str, status: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = await deliveries(api, hook_id)
        if found and all(d["status"] == status for d in found):
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.05)


async def test_a_failing_receiver_gets_the_event_on_the_third_attempt_with_a_valid_signature(
    api: Api, receiver: Receiver, dialect: str
) -> None:
    await setup(api)
    hook = await create_hook(api, receiver.url, collection=MODEL, aliasPattern="production")
    assert hook == {"id": hook["id"], "project": "churn", "url": receiver.url, "kinds": ["alias.removed", "alias.set"],
                    "collection": MODEL, "aliasPattern": "production", "active": True, "createdBy": "bootstrap-admin"}

    await api(SET, c=MODEL, a="staging", v="churn/classifier:v0")  # filtered out: not production
    await api(SET, c=MODEL, a="production", v="churn/classifier:v1")
    requests = await receiver.wait_for(3)

    assert [r.json["delivery"] for r in requests] == [requests[0].json["delivery"]] * 3  # one delivery, retried
    assert [r.headers["x-lineagereg-attempt"] for r in requests] == ["1", "2", "3"]
    last = requests[-1]
    assert last.signature_valid()
    assert not last.signature_valid("another-secret-0123456789")
    body = last.json
    assert (body["kind"], body["collection"], body["alias"], body["actor"]) == (
        "alias.set", MODEL, "production", "bootstrap-admin")
    assert body["version"]["ref"] == "churn/classifier:v1"
    assert body["version"]["files"] == [{"path": "m.bin", "sha256": hashlib.sha256(b"weights-1").hexdigest(), "size": 9}]
    assert last.headers["x-lineagereg-event"] == "alias.set"
    assert last.headers["content-type"] == "application/json"

    [delivery] = await wait_status(api, hook["id"], "DELIVERED")
    assert delivery["attempts"] == 3 and delivery["lastStatusCode"] == 200 and delivery["lastError"] is None
    assert delivery["lastLatencyMs"] > 0 and delivery["deliveredAt"]
    assert delivery["event"] == {"sequence": body["sequence"], "kind": "alias.set"}
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 3  # delivered once it succeeded, never again


async def test_deliveries_pending_at_shutdown_are_delivered_after_restart(settings: Settings, dialect: str) -> None:
    port = free_port()  # nothing listens yet: every attempt fails with a refused connection
    with LiveServer(dataclasses.replace(settings, webhook_backoff_seconds=0.2, webhook_max_attempts=50)) as first:
        import httpx

        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(first, http, first.admin_token())
            await setup(api)
            hook = await create_hook(api, f"http://127.0.0.1:{port}/hook")
            await api(SET, c=MODEL, a="production", v="churn/classifier:v0")
            deadline = time.monotonic() + 10
            while not (found := await deliveries(api, hook["id"])) or found[0]["attempts"] < 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert found[0]["status"] == "PENDING" and found[0]["lastError"] == "connection refused"

    with Receiver(port=port) as receiver, LiveServer(settings) as second:
        [request] = await receiver.wait_for(1)
        assert request.signature_valid() and request.json["alias"] == "production"
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(second, http, second.admin_token())
            [delivery] = await wait_status(api, hook["id"], "DELIVERED")
            assert delivery["attempts"] >= 2


async def test_two_servers_send_each_delivery_once(settings: Settings, dialect: str) -> None:
    with Receiver() as receiver, LiveServer(settings) as one, LiveServer(settings) as two:
        import httpx

        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(one, http, one.admin_token())
            await setup(api)
            hook = await create_hook(api, receiver.url)
            for i in range(10):
                await api(SET, c=MODEL, a=f"canary-{i}", v="churn/classifier:v0")
            await receiver.wait_for(10)
            await asyncio.sleep(1.5)  # both dispatchers poll at least once more
            assert sorted(r.json["alias"] for r in receiver.requests) == sorted(f"canary-{i}" for i in range(10))
            assert len({r.json["delivery"] for r in receiver.requests}) == 10
            assert len(await wait_status(Api(two, http, one.admin_token()), hook["id"], "DELIVERED")) == 10


async def test_a_receiver_that_keeps_failing_ends_failed_after_the_last_attempt(api: Api, dialect: str) -> None:
    with Receiver(script=[500] * 10) as receiver:
        await setup(api)
        hook = await create_hook(api, receiver.url)
        await api(SET, c=MODEL, a="production", v="churn/classifier:v0")
        [delivery] = await wait_status(api, hook["id"], "FAILED")
        assert delivery["attempts"] == 4 and delivery["lastStatusCode"] == 500
        assert delivery["lastError"] == "receiver answered HTTP 500"
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 4


async def test_ping_reaches_the_receiver_signed(api: Api, dialect: str) -> None:
    with Receiver() as receiver:
        await setup(api)
        hook = await create_hook(api, receiver.url)
        ping = (await api('mutation($id: ID!) { pingWebhook(id: $id) { kind status attempts event { sequence } } }',
                          id=hook["id"]))["pingWebhook"]
        assert ping == {"kind": "ping", "status": "PENDING", "attempts": 0, "event": None}
        [request] = await receiver.wait_for(1)
        assert request.signature_valid() and request.json["kind"] == "ping"
        assert request.headers["x-lineagereg-event"] == "ping"


async def test_a_mutation_that_fails_queues_nothing(api: Api, receiver: Receiver, dialect: str) -> None:
    await setup(api)
    hook = await create_hook(api, receiver.url)
    err = await api.error(SET, c=MODEL, a="production", v="churn/classifier:v9")
    assert err.code == "NOT_FOUND"
    err = await api.error(SET, c=MODEL, a="production", v="churn/nope:v0")
    assert err.code == "NOT_FOUND"
    await asyncio.sleep(0.3)
    assert await deliveries(api, hook["id"]) == [] and receiver.requests == []


async def test_update_and_delete(api: Api, dialect: str) -> None:
    with Receiver() as receiver:
        await setup(api)
        hook = await create_hook(api, "http://127.0.0.1:9/never", aliasPattern="prod*")
        updated = (await api('mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { url aliasPattern kinds '
                             'active } }', i={"id": hook["id"], "url": receiver.url, "aliasPattern": ""}))["updateWebhook"]
        assert updated == {"url": receiver.url, "aliasPattern": None, "kinds": ["alias.removed", "alias.set"],
                           "active": True}
        await api(SET, c=MODEL, a="staging", v="churn/classifier:v0")
        assert (await receiver.wait_for(1))[0].json["alias"] == "staging"

        await api('mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { active } }',
                  i={"id": hook["id"], "active": False})
        await api(SET, c=MODEL, a="staging", v="churn/classifier:v1")
        listed = (await api('query { webhooks(project: "churn") { id active } }'))["webhooks"]
        assert listed == [{"id": hook["id"], "active": False}]

        assert (await api('mutation($id: ID!) { deleteWebhook(id: $id) }', id=hook["id"]))["deleteWebhook"] is True
        assert (await api('query { webhooks(project: "churn") { id } }'))["webhooks"] == []
        err = await api.error('mutation($id: ID!) { deleteWebhook(id: $id) }', id=hook["id"])
        assert err.code == "NOT_FOUND"
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 1  # nothing while inactive


@pytest.mark.parametrize("change, needle", [
    ({"url": "ftp://example.com/hook"}, "http:// or https://"),
    ({"url": "not a url"}, "http:// or https://"),
    ({"url": "http:///path-only"}, "http:// or https://"),
    ({"kinds": []}, "non-empty"),
    ({"kinds": ["alias.set", "alias.exploded"]}, "'alias.exploded'"),
    ({"secret": "short"}, "16-256"),
    ({"aliasPattern": "Prod Uction"}, "wildcards"),
    ({"collection": "other/classifier-prod"}, "not in project"),
    ({"collection": "churn/missing"}, "not found"),
    ({"project": "nope"}, "not found"),
])
async def test_bad_webhook_input_is_refused_and_changes_nothing(
    api: Api, dialect: str, change: dict[str, Any], needle: str
) -> None:
    await setup(api)
    before = await snapshot(api.server)
    input = {"project": "churn", "url": "https://hooks.example.com/x", "kinds": ["alias.set"], "secret": SECRET,
             **change}
    err = await api.error(CREATE, input=input)
    assert err.code in ("BAD_INPUT", "NOT_FOUND") and needle in err.errors[0]["message"], err.errors
    assert await snapshot(api.server) == before


async def test_only_admins_manage_webhooks_and_the_secret_is_never_stored_in_clear(
    api: Api, settings: Settings, dialect: str
) -> None:
    await setup(api)
    hook = await create_hook(api, "https://hooks.example.com/x")
    for role in ("viewer", "member"):
        other = api.as_token(await api.token_for(role))
        input = {"project": "churn", "url": "https://x.example.com", "kinds": ["alias.set"], "secret": SECRET}
        assert (await other.error(CREATE, input=input)).code == "FORBIDDEN"
        assert (await other.error('query { webhooks(project: "churn") { id } }')).code == "FORBIDDEN"
        assert (await other.error(DELIVERIES, w=hook["id"])).code == "FORBIDDEN"
        assert (await other.error('mutation($id: ID!) { deleteWebhook(id: $id) }', id=hook["id"])).code == "FORBIDDEN"
        assert (await other('query($id: ID!) { node(id: $id) { id } }', id=hook["id"]))["node"] is None
    db = Database(settings.effective_database_url)
    try:
        [stored] = [row.secret_sealed for row in await db.transaction(
            lambda c: _all(c, sa.select(s.webhook.c.secret_sealed)))]
    finally:
        await db.dispose()
    assert SECRET not in stored and len(stored) > len(SECRET)


async def _all(conn: Any, stmt: Any) -> list[Any]:
    return list((await conn.execute(stmt)).all())


# --- where webhooks may be sent (SSRF) -------------------------------------------------------------------------

# One address of every class that must never be a webhook's target by default.
INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://10.0.0.5/hook", "http://172.16.3.4/hook", "http://192.168.1.1/hook",  # private
    "http://127.0.0.1:8080/hook", "http://127.8.9.10/hook",  # loopback
    "http://2130706433/hook", "http://127.1/hook", "http://0x7f.0.0.1/hook",  # loopback, spelled otherwise
    "http://[::1]/hook", "http://[fd00::1]/hook", "http://[fe80::1]/hook",  # IPv6 loopback, unique local, link-local
    "http://[::ffff:127.0.0.1]/hook", "http://[64:ff9b::a00:5]/hook",  # IPv4 inside IPv6 (mapped, NAT64)
    "http://0.0.0.0/hook", "http://[::]/hook", "http://100.64.0.1/hook",  # unspecified, carrier-grade NAT
    "http://metadata.google.internal/computeMetadata/v1/", "http://localhost:9/hook", "http://a.localhost/",
    "http://redis:6379/",  # a single-label name: whatever the resolver's search domains make of it
]


async def test_non_public_targets_are_refused_at_create_and_update(settings: Settings, dialect: str) -> None:
    with LiveServer(dataclasses.replace(settings, webhook_allow=())) as live:
        import httpx

        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(live, http, live.admin_token())
            await setup(api)
            hook = await create_hook(api, "https://hooks.example.com/x")
            before = await snapshot(live)
            for url in INTERNAL_URLS:
                for err in (await api.error(CREATE, input={"project": "churn", "url": url, "kinds": ["alias.set"],
                                                          "secret": SECRET}),
                            await api.error('mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { id } }',
                                            i={"id": hook["id"], "url": url})):
                    message = err.errors[0]["message"]
                    assert err.code == "BAD_INPUT" and "LINEAGE_REG_WEBHOOK_ALLOW" in message, (url, message)
                    assert "not a public address" in message or "internal host name" in message, (url, message)
            for url in ("http://user:pw@hooks.example.com/x", "https://token@hooks.example.com/x"):
                err = await api.error(CREATE, input={"project": "churn", "url": url, "kinds": ["alias.set"],
                                                     "secret": SECRET})
                assert err.code == "BAD_INPUT" and "credentials" in err.errors[0]["message"], err.errors
                assert "pw" not in err.errors[0]["message"] and "token@" not in err.errors[0]["message"]
            assert await snapshot(live) == before
            assert (await api('query { webhooks(project: "churn") { url } }'))["webhooks"] == [
                {"url": "https://hooks.example.com/x"}]


async def test_non_public_targets_are_refused_at_delivery(settings: Settings, dialect: str) -> None:
    """Targets that were allowed when created (here: by a wider allow-list; in the wild: a name that resolved
    publicly, then inward) are checked again at every delivery: nothing is sent, and the record says only
    that the address was refused."""
    import httpx

    with Receiver() as receiver:
        urls = [receiver.url, f"http://localhost:{receiver.port}/hook", "http://169.254.169.254/latest/meta-data/",
                "http://10.0.0.5/hook", "http://[::1]/hook", "http://[fd00::1]/hook", "http://0.0.0.0/hook"]
        with LiveServer(dataclasses.replace(settings, webhook_allow=("0.0.0.0/0", "::/0", "localhost"))) as first:
            async with httpx.AsyncClient(timeout=30) as http:
                api = Api(first, http, first.admin_token())
                await setup(api)
                hooks = [await create_hook(api, url) for url in urls]
        with LiveServer(dataclasses.replace(settings, webhook_allow=())) as second:
            async with httpx.AsyncClient(timeout=30) as http:
                api = Api(second, http, first.admin_token())
                for hook in hooks:
                    await api('mutation($id: ID!) { pingWebhook(id: $id) { id } }', id=hook["id"])
                for hook, url in zip(hooks, urls):
                    deadline = time.monotonic() + 10
                    while not (found := await deliveries(api, hook["id"]))[0]["attempts"]:
                        assert time.monotonic() < deadline, found
                        await asyncio.sleep(0.05)
                    assert {k: found[0][k] for k in ("lastStatusCode", "lastLatencyMs", "lastError")} == {
                        "lastStatusCode": None, "lastLatencyMs": None,
                        "lastError": "refused: not a public address"}, url
        assert receiver.requests == []


async def test_the_allow_list_lets_named_receivers_through_pinned_to_the_checked_address(
    settings: Settings, dialect: str
) -> None:
    """`localhost` on the allow-list: the delivery goes to the address the name resolved to, under its own name."""
    import httpx

    with Receiver() as receiver, LiveServer(dataclasses.replace(settings, webhook_allow=("localhost",))) as live:
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(live, http, live.admin_token())
            await setup(api)
            hook = await create_hook(api, f"http://localhost:{receiver.port}/hook?team=ml")
            await api('mutation($id: ID!) { pingWebhook(id: $id) { id } }', id=hook["id"])
            [request] = await receiver.wait_for(1)
            assert request.headers["host"] == f"localhost:{receiver.port}" and request.signature_valid()
            [delivery] = await wait_status(api, hook["id"], "DELIVERED")
            assert delivery["lastStatusCode"] == 200


async def test_delivery_errors_are_coarse(settings: Settings, dialect: str) -> None:
    """What a project admin reads back is a few words: never an exception's text, never an address."""
    import socket

    import httpx

    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    closed = free_port()
    fast = dataclasses.replace(settings, webhook_allow=("127.0.0.0/8",), webhook_timeout_seconds=0.5,
                               webhook_max_attempts=1)
    try:
        with LiveServer(fast) as live:
            async with httpx.AsyncClient(timeout=30) as http:
                api = Api(live, http, live.admin_token())
                await setup(api)
                expected = {f"http://127.0.0.1:{closed}/hook": "connection refused",
                            f"http://127.0.0.1:{silent.getsockname()[1]}/hook": "timeout",
                            "https://nothing-here.invalid/hook": "host name not resolved"}
                for url, error in expected.items():
                    hook = await create_hook(api, url)
                    await api('mutation($id: ID!) { pingWebhook(id: $id) { id } }', id=hook["id"])
                    [delivery] = await wait_status(api, hook["id"], "FAILED")
                    assert (delivery["lastError"], delivery["lastStatusCode"]) == (error, None), url
    finally:
        silent.close()


def test_target_rules() -> None:
    """The address classes, the legacy spellings of IPv4, the allow-list's forms and a malformed entry."""
    import ipaddress

    from lineage_reg.services.webhook_targets import REFUSED, AllowList, as_address, is_public, pin

    for text in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert is_public(ipaddress.ip_address(text)), text
    for text in ("127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
                 "224.0.0.1", "::1", "::", "fd00::1", "fc00::1", "fe80::1", "::ffff:10.0.0.1", "64:ff9b::7f00:1",
                 "2002:7f00:1::"):
        assert not is_public(ipaddress.ip_address(text)), text
    assert as_address("2130706433") == as_address("127.1") == as_address("0x7f.0.0.1") == ipaddress.ip_address(
        "127.0.0.1")
    assert as_address("1password.com") is None and as_address("hooks.example.com") is None
    allow = AllowList.of(["10.1.0.0/16", " hooks.corp.example ", "*.svc.corp", ""])
    assert allow.allows_address(ipaddress.ip_address("10.1.2.3")) and not allow.allows_address(
        ipaddress.ip_address("10.2.0.1"))
    assert allow.allows_host("hooks.corp.example") and allow.allows_host("a.b.svc.corp")
    assert not allow.allows_host("svc.corp") and not allow.allows_host("evil-hooks.corp.example")
    with pytest.raises(ValueError, match="LINEAGE_REG_WEBHOOK_ALLOW"):
        AllowList.of(["10.0.0.0/8", "not a host!"])

    async def pinned() -> None:
        assert await pin("http://localhost:1/x", AllowList(), timeout=5) == REFUSED
        target = await pin("http://localhost:1/x?q=1", AllowList.of(["localhost"]), timeout=5)
        assert not isinstance(target, str)
        assert target.url in ("http://127.0.0.1:1/x?q=1", "http://[::1]:1/x?q=1") and target.host_header == "localhost:1"
        secure = await pin("https://localhost/x", AllowList.of(["localhost"]), timeout=5)
        assert not isinstance(secure, str) and secure.sni_hostname == "localhost" and secure.url.endswith(":443/x")

    asyncio.run(pinned())


def test_the_allow_list_comes_from_the_environment() -> None:
    from lineage_reg.config import from_env

    assert from_env({}).webhook_allow == ()
    assert from_env({"LINEAGE_REG_WEBHOOK_ALLOW": "10.0.0.0/8, hooks.corp.example,"}).webhook_allow == (
        "10.0.0.0/8", "hooks.corp.example")


def _certificate_for(tmp_path: Any, name: str) -> tuple[str, str]:
    """A self-signed certificate valid for the DNS name ``name`` only (no IP address in it)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = tmp_path / "receiver.pem", tmp_path / "receiver.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


async def test_https_deliveries_to_a_checked_address_still_verify_the_name(
    settings: Settings, dialect: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request goes to the address `localhost` resolved to, with SNI and certificate check for `localhost`:
    the receiver's certificate names only `localhost`, so the same receiver addressed as 127.0.0.1 fails."""
    import ssl

    import httpx

    certfile, keyfile = _certificate_for(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", certfile)  # the dispatcher's client trusts the receiver's certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    tls = dataclasses.replace(settings, webhook_allow=("localhost", "127.0.0.0/8"), webhook_max_attempts=1)
    with Receiver() as receiver, LiveServer(tls) as live:
        receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(live, http, live.admin_token())
            await setup(api)
            by_name = await create_hook(api, f"https://localhost:{receiver.port}/hook")
            by_address = await create_hook(api, f"https://127.0.0.1:{receiver.port}/hook")
            await api('mutation($id: ID!) { pingWebhook(id: $id) { id } }', id=by_name["id"])
            [request] = await receiver.wait_for(1)
            assert request.headers["host"] == f"localhost:{receiver.port}" and request.signature_valid()
            assert (await wait_status(api, by_name["id"], "DELIVERED"))[0]["lastStatusCode"] == 200
            await api('mutation($id: ID!) { pingWebhook(id: $id) { id } }', id=by_address["id"])
            [failed] = await wait_status(api, by_address["id"], "FAILED")
            assert failed["lastError"] == "TLS handshake failed" and len(receiver.requests) == 1
