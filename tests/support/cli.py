"""The ``lineage-reg`` command line run in the test's own process: ``lineage_reg.cli.main(argv)``, as the console
script calls it, with its stdout, stderr and exit code captured (a subprocess spends ~1 s starting Python and
importing the package before it does anything). Each command family keeps at least one test that runs the real
program in a subprocess (``python -m lineage_reg.cli``): that is where the entry point itself is proved.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping

from lineage_reg.cli import main


class _Captured(io.TextIOWrapper):
    """A text stream like a pipe's: not a terminal, with a ``buffer``; what was written is kept."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)

    def getvalue(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", errors="replace")  # type: ignore[attr-defined]


_lock = threading.Lock()


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``lineage-reg ARGS`` in-process with ``env`` added to the environment; the result looks like
    ``subprocess.run(..., capture_output=True, text=True)``'s.

    The command runs in a thread of its own, so that it may start an event loop of its own (``asyncio.run``) even
    when called from an async test. The environment and ``sys.stdout``/``sys.stderr`` are the process's: they are
    swapped for the duration of the command and put back after it.
    """
    result: dict[str, int] = {}
    out, err = _Captured(), _Captured()

    def target() -> None:
        try:
            result["code"] = main(list(args))
        except SystemExit as exc:  # main() turns typer's exits into codes; anything else is a code too
            result["code"] = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # what the interpreter does with an uncaught exception: a traceback, exit 1
            traceback.print_exc()
            result["code"] = 1

    with _lock:
        saved_env = dict(os.environ)
        saved_streams = sys.stdout, sys.stderr
        os.environ.update(env or {})
        sys.stdout, sys.stderr = out, err
        try:
            thread = threading.Thread(target=target, name="lineage-reg-cli")
            thread.start()
            thread.join(timeout=120)
            assert not thread.is_alive(), f"lineage-reg {' '.join(args)} did not finish in 120 s"
        finally:
            sys.stdout, sys.stderr = saved_streams
            os.environ.clear()
            os.environ.update(saved_env)
    return subprocess.CompletedProcess(["lineage-reg", *args], result["code"], out.getvalue(), err.getvalue())
