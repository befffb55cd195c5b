"""Registry.watch against a real server, through a TCP proxy the test can cut: every alias move arrives,
in order, once, across dropped connections."""

from __future__ import annotations

import queue
import threading
import time
from itertools import islice
from pathlib import Path

import pytest

from conftest import LiveServer
from lineage_reg.client import NotFound, Registry, Retry, Unauthenticated
from lineage_reg.client.watch import AliasChange
from support.proxy import Proxy

PATIENT = Retry(attempts=100, base=0.05, cap=0.2)


def make_versions(reg: Registry, tmp_path: Path, n: int) -> list[str]:
    reg.create_project("churn")
    refs = []
    for i in range(n):
        (tmp_path / "m.txt").write_text(f"model {i}")
        v = reg.log_artifact("churn", "classifier", type="model", path=tmp_path / "m.txt")
        refs.append(reg.link(v, "churn/prod"))
    return refs


def test_watch_sees_every_move_across_dropped_connections(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    proxy = Proxy(live.port)
    changes: queue.Queue[AliasChange] = queue.Queue()
    with Registry(live.url, live.admin_token()) as admin:
        links = make_versions(admin, tmp_path, 3)
        admin.set_alias("churn/prod", "production", links[0])  # before the watch starts: not reported

        def follow() -> None:
            with Registry(proxy.url, live.admin_token(), retry=PATIENT) as reg:
                for n, change in enumerate(reg.watch("churn/prod", alias="production"), 1):
                    changes.put(change)
                    if n == 4:  # counted here: the test may have taken some from the queue already
                        return

        watcher = threading.Thread(target=follow, daemon=True)
        watcher.start()
        deadline = time.monotonic() + 10
        while proxy.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # subscribed
        admin.set_alias("churn/prod", "production", links[1])
        first = changes.get(timeout=10)

        proxy.refuse = True
        proxy.drop()  # the connection dies; the moves below happen while the watcher is cut off
        admin.set_alias("churn/prod", "production", links[2])
        admin.remove_alias("churn/prod", "production")
        time.sleep(0.3)
        proxy.refuse = False
        admin.set_alias("churn/prod", "production", links[0])
        rest = [changes.get(timeout=20) for _ in range(3)]
        watcher.join(timeout=10)
        assert not watcher.is_alive()  # it stopped after the fourth change, and closed its subscription
    proxy.close()
    got = [first, *rest]
    ver = [(c.previous, c.version) for c in got]
    v0, v1, v2 = (admin_ref.replace("churn/prod:", "churn/classifier:") for admin_ref in links)
    assert ver == [(v0, v1), (v1, v2), (v2, None), (None, v0)]
    assert [c.sequence for c in got] == sorted({c.sequence for c in got})  # in order, no duplicate
    assert all(c.alias == "production" and c.collection == "churn/prod" and c.actor for c in got)
    assert proxy.accepted >= 2  # it did reconnect


def test_watch_after_replays_the_log(live: LiveServer, tmp_path: Path) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        links = make_versions(reg, tmp_path, 2)
        reg.set_alias("churn/prod", "staging", links[0])
        reg.set_alias("churn/prod", "production", links[1])
        replayed = list(islice(reg.watch("churn/prod", after=0), 4))  # every alias, from the start
        assert [(c.alias, c.version) for c in replayed] == [
            ("latest", "churn/classifier:v0"), ("latest", "churn/classifier:v1"),  # linking moves `latest`
            ("staging", "churn/classifier:v0"), ("production", "churn/classifier:v1")]
        later = list(islice(reg.watch("churn/prod", alias="production", after=replayed[2].sequence), 1))
        assert later == [replayed[3]]


def test_watch_errors_are_typed(live: LiveServer, tmp_path: Path) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        make_versions(reg, tmp_path, 1)
        with pytest.raises(NotFound):
            next(reg.watch("churn/ghost", after=0))
    with Registry(live.url, "not-a-token") as reg, pytest.raises(Unauthenticated, match="4403"):
        next(reg.watch("churn/prod", after=0))
