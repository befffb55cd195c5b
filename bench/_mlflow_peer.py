"""MLflow model registry as the comparison peer for the lineage-reg benchmark.

Stdlib + httpx only: MLflow itself runs as a subprocess from its own venv
(e.g. /work/mlflow-venv, mlflow==3.17.2), so it never shares an interpreter
or dependency set with lineage-reg.

Server config (see MlflowPeer.command / MlflowPeer.env):
  * SQLite backend store, local artifact root, bound to 127.0.0.1.
  * ``--workers 1``: mlflow 3 defaults to 4 uvicorn workers; with 1 worker
    uvicorn serves in-process (no multiprocess supervisor), avoiding the
    40 ms delayed-ACK stall seen on keep-alive with --workers > 1.
  * No network: telemetry off (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK), and
    the huey job runner (GenAI scorers/trace archival, not used by the
    registry; 7 extra polling processes) off via
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false.
  * Otherwise defaults, including uvicorn's per-request access log (to a file).

Requests are (method, url, body) with body a JSON-able dict or None; send
them as ``client.request(method, url, json=body)`` -- MLflow rejects POSTs
without ``Content-Type: application/json``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

API = "/api/2.0/mlflow"
ALIAS = "production"


def model_name(m: int) -> str:
    return f"bench-model-{m:04d}"


def _source(name: str, tag: str) -> str:
    # MLflow rejects local-path sources unless they sit inside a run's artifact
    # dir (needs run_id). An object-store URI is accepted as-is and is never
    # dereferenced on create, so neither hot path does artifact I/O.
    return f"s3://lineage-bench/{name}/{tag}"


class MlflowPeer:
    def __init__(self, mlflow_bin: str, workdir: Path, port: int):
        self.workdir = Path(workdir).resolve()
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.models = 0
        self.versions = 0
        self.command = [
            str(mlflow_bin), "server",
            "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--default-artifact-root", str(self.workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1",
        ]
        self.env = {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        self._proc: subprocess.Popen | None = None

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> MlflowPeer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for stale in ("mlflow.db", "mlflow.db-journal", "mlflow.db-wal", "mlflow.db-shm"):
            (self.workdir / stale).unlink(missing_ok=True)  # always start empty
        log = open(self.workdir / "server.log", "wb")  # a file, not a pipe: never blocks
        self._proc = subprocess.Popen(
            self.command, cwd=self.workdir, env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group => whole tree killable
        )
        log.close()
        try:
            self._wait_ready(timeout=180.0)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = (self.workdir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mlflow server exited ({self._proc.returncode}):\n{tail}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"mlflow server not ready after {timeout:.0f}s")

    def __exit__(self, *exc) -> None:
        if self._proc is None:
            return
        pids = self.server_pids()
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self._proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self._proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        for pid in pids:  # anything that left the process group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._proc = None

    def server_pids(self) -> list[int]:
        """The mlflow CLI process and all its descendants (from /proc)."""
        if self._proc is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self._proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    # -- setup (not measured) ----------------------------------------------
    def _post(self, client: httpx.Client, path: str, body: dict) -> dict:
        r = client.post(f"{self.base_url}{API}{path}", json=body)
        if r.status_code != 200:
            raise RuntimeError(f"POST {path} {body} -> {r.status_code}: {r.text[:500]}")
        return r.json()

    def populate(self, models: int, versions: int, concurrency: int = 8) -> None:
        """Create `models` models x `versions` versions, alias the latest one.

        Each thread owns whole models (versions of one model are created
        serially, so MLflow never has to retry a version-number race).
        """
        errors: list[BaseException] = []

        def worker(ms: range) -> None:
            try:
                with httpx.Client(timeout=60.0) as c:
                    for m in ms:
                        name = model_name(m)
                        self._post(c, "/registered-models/create", {"name": name})
                        for v in range(1, versions + 1):
                            self._post(c, "/model-versions/create",
                                       {"name": name, "source": _source(name, f"v{v}")})
                        self._post(c, "/registered-models/alias",
                                   {"name": name, "alias": ALIAS, "version": str(versions)})
            except BaseException as e:  # surface in the caller's thread
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(range(t, models, concurrency),))
                   for t in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.models, self.versions = models, versions

    # -- hot paths -----------------------------------------------------------
    def alias_lookup_request(self, i: int) -> tuple[str, str, dict | None]:
        name = model_name(i % self.models)
        url = f"{self.base_url}{API}/registered-models/alias?name={name}&alias={ALIAS}"
        return "GET", url, None

    def create_version_request(self, i: int) -> tuple[str, str, dict | None]:
        name = model_name(i % self.models)
        body = {"name": name, "source": _source(name, f"hot-{i}")}
        return "POST", f"{self.base_url}{API}/model-versions/create", body


# -- smoke benchmark: python _mlflow_peer.py [mlflow_bin] --------------------
def _cpu_ms(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def _load(peer: MlflowPeer, make, seconds: float, clients: int = 8) -> dict:
    lat: list[float] = []
    bad = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(t: int) -> None:
        mine, i = [], t
        with httpx.Client(timeout=30.0) as c:
            c.get(f"{peer.base_url}/health")  # open the keep-alive connection untimed
            start.wait()
            while time.perf_counter() < deadline:
                method, url, body = make(i)
                t0 = time.perf_counter()
                r = c.request(method, url, json=body)
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    with lock:
                        bad[0] += 1
                i += clients
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(clients)]
    for t in threads:
        t.start()
    cpu0, t0 = _cpu_ms(peer.server_pids()), time.perf_counter()
    deadline = t0 + seconds
    start.wait()  # release all clients at once
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, _cpu_ms(peer.server_pids()) - cpu0
    lat.sort()
    return {"req/s": len(lat) / wall, "p50 ms": 1e3 * lat[len(lat) // 2],
            "p99 ms": 1e3 * lat[int(len(lat) * 0.99)], "cpu ms/req": cpu / len(lat),
            "n": len(lat), "errors": bad[0]}


if __name__ == "__main__":
    import sys
    import tempfile

    mlflow_bin = sys.argv[1] if len(sys.argv) > 1 else str(Path(sys.executable).parent / "mlflow")
    with tempfile.TemporaryDirectory() as tmp, MlflowPeer(mlflow_bin, Path(tmp), 5077) as peer:
        print("command:", " ".join(peer.command))
        t0 = time.perf_counter()
        peer.populate(100, 20)
        print(f"populate 100x20: {time.perf_counter() - t0:.1f}s, pids={peer.server_pids()}")
        for name, make in (("alias lookup", peer.alias_lookup_request),
                           ("create version", peer.create_version_request)):
            _load(peer, make, 1.0)  # warm-up
            res = _load(peer, make, 5.0)
            print(f"{name:15s} " + "  ".join(f"{k}={v:.2f}" if isinstance(v, float)
                                             else f"{k}={v}" for k, v in res.items()))
