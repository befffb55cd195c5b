"""MLflow model registry as the comparison peer for the lineage-reg benchmark.

Stdlib + httpx only: MLflow (3.17.2) runs as a subprocess from its own venv,
so it never shares an interpreter or dependencies with lineage-reg.

Server config (MlflowPeer.command / MlflowPeer.env):
  * SQLite backend store, local artifact root, bound to 127.0.0.1.
  * ``--workers 1`` (mlflow 3 default is 4). With one worker uvicorn serves
    in-process; with >1 every keep-alive request stalls ~40 ms (measured: one
    client, 48 ms vs 5.4 ms per alias lookup).
  * No network: telemetry off (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK); the
    huey job runner (GenAI scorers / trace archival, unused by the registry,
    7 polling processes) off via MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false.
  * Everything else default, incl. uvicorn's access log (to workdir/server.log).

Requests are (method, url, body), body a JSON-able dict or None. Send them as
``client.request(method, url, json=body)``: MLflow rejects POSTs that lack
``Content-Type: application/json``.
"""

from __future__ import annotations

import os
import signal
import socket
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
    # MLflow rejects a local-path source unless it lies inside the artifact dir
    # of a run given by run_id. An object-store URI is stored as-is and never
    # dereferenced, so neither hot path does artifact I/O.
    return f"s3://lineage-bench/{name}/{tag}"


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the ')' of comm: [0]=state, [1]=ppid."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


class MlflowPeer:
    def __init__(self, mlflow_bin: str, workdir: Path, port: int):
        self.workdir = Path(workdir).resolve()
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.models = self.versions = 0
        self.command = [
            str(mlflow_bin), "server",
            "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--default-artifact-root", str(self.workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]
        self.env = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> MlflowPeer:
        with socket.socket() as s:  # else /health could be answered by someone else's server
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is already in use")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):  # always start from an empty registry
            (self.workdir / f"mlflow.db{suffix}").unlink(missing_ok=True)
        with open(self.workdir / "server.log", "wb") as log:  # a file, not a pipe: never blocks
            self._proc = subprocess.Popen(
                self.command, cwd=self.workdir, env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # own process group => the whole tree is killable
        try:
            self._wait_ready(timeout=180.0)
        except BaseException:
            self.__exit__()
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
                self._proc.wait(timeout=grace)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        for pid in pids:  # stragglers that left the process group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._proc = None

    def server_pids(self) -> list[int]:
        """The mlflow CLI process and all its descendants (scanned from /proc)."""
        if self._proc is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass  # exited while scanning
        out, todo = [], [self._proc.pid]
        while todo:
            out.append(pid := todo.pop())
            todo.extend(children.get(pid, []))
        return out

    def _post(self, client: httpx.Client, path: str, body: dict) -> None:
        r = client.post(f"{self.base_url}{API}{path}", json=body)
        if r.status_code != 200:
            raise RuntimeError(f"POST {path} {body} -> {r.status_code}: {r.text[:500]}")

    def populate(self, models: int, versions: int, concurrency: int = 8) -> None:
        """Setup: `models` models x `versions` versions; alias the latest of each.

        Each thread owns whole models, so versions of one model are created
        serially and MLflow never has to retry a version-number race.
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
            except BaseException as e:  # re-raised in the caller's thread
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

    # Hot paths. i picks the model round-robin (i % models); call populate() first.
    def alias_lookup_request(self, i: int) -> tuple[str, str, dict | None]:
        name = model_name(i % self.models)
        return "GET", f"{self.base_url}{API}/registered-models/alias?name={name}&alias={ALIAS}", None

    def create_version_request(self, i: int) -> tuple[str, str, dict | None]:
        name = model_name(i % self.models)
        body = {"name": name, "source": _source(name, f"hot-{i}")}
        return "POST", f"{self.base_url}{API}/model-versions/create", body


def _cpu_ms(pids: list[int]) -> float:
    """utime + stime of `pids`, in ms."""
    ticks = 0
    for pid in pids:
        try:
            f = _stat(pid)
            ticks += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def _load(peer: MlflowPeer, make, seconds: float, clients: int = 8) -> dict:
    """Closed loop: `clients` threads, one keep-alive httpx.Client each."""
    lat: list[float] = []
    errors = [0]
    lock, start = threading.Lock(), threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        mine, bad = [], 0
        with httpx.Client(timeout=30.0) as c:
            c.get(f"{peer.base_url}/health")  # open the connection untimed
            start.wait()
            while time.perf_counter() < deadline:
                method, url, body = make(i)
                t0 = time.perf_counter()
                bad += c.request(method, url, json=body).status_code != 200
                mine.append(time.perf_counter() - t0)
                i += clients
        with lock:
            lat.extend(mine)
            errors[0] += bad

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
    return {"req/s": len(lat) / wall, "p50_ms": 1e3 * lat[len(lat) // 2],
            "p99_ms": 1e3 * lat[int(len(lat) * 0.99)], "server_cpu_ms/req": cpu / len(lat),
            "n": len(lat), "errors": errors[0]}


if __name__ == "__main__":  # python _mlflow_peer.py [path/to/mlflow]
    import sys
    import tempfile

    mlflow_bin = sys.argv[1] if len(sys.argv) > 1 else str(Path(sys.executable).parent / "mlflow")
    with tempfile.TemporaryDirectory() as tmp, MlflowPeer(mlflow_bin, Path(tmp), 5077) as peer:
        print("command:", " ".join(peer.command))
        t0 = time.perf_counter()
        peer.populate(100, 20)
        print(f"populate 100x20: {time.perf_counter() - t0:.1f}s; server pids {peer.server_pids()}")
        for name, make in (("alias lookup", peer.alias_lookup_request),
                           ("create version", peer.create_version_request)):
            _load(peer, make, 1.0)  # warm-up, discarded
            res = _load(peer, make, 5.0)
            print(f"{name:15s}", "  ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                           for k, v in res.items()))
