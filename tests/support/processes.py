"""`lineage-reg serve` in a process of its own."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from conftest import free_port
from lineage_reg.config import Settings


@contextmanager
def server_process(settings: Settings) -> Iterator[str]:
    """`lineage-reg serve` in a process of its own, on the same database and data dir; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lineage_reg.cli", "serve", "--data-dir", str(settings.data_dir),
         "--database-url", settings.effective_database_url, "--port", str(port), "--log-level", "warning"],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the second server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
