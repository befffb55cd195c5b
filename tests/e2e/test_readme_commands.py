"""README.md's commands, run as written, in order, in a fresh shell - as a new user runs them.

The convention (README.md says it too): every fenced ``sh`` block is run; a block right after
``<!-- readme: not run (why) -->`` is skipped (the test-suite command: ``.ci/run`` runs that one); a block
right after ``<!-- readme: background ... -->`` is started in a shell of its own and left running (the server)
while the blocks after it run, then stopped. Other fences (``text``, ``graphql``, ``python``) are not run.

Each block runs in ``bash -e -o pipefail`` with a scrubbed environment: ``HOME`` a fresh directory, ``PATH``
only the system's (no venv on it, nothing activated), no ``LINEAGE_REG_*`` or ``PYTHONPATH`` from the
caller; the foreground blocks share one shell, so an ``export`` in one is seen by the next, as in a
terminal. They run in a copy of the repository (README.md, examples/, pyproject.toml) in a temporary
directory.

Two honest substitutions, to keep this fast and side by side with other tests:

- The install command, ``python3 -m venv .venv && .venv/bin/pip install .``, is not run (it would download
  and build the package each time). In its place a ``.venv`` is made with ``python -m venv --without-pip``
  that sees this checkout's ``src/`` and the packages of the venv running the tests, plus a
  ``.venv/bin/lineage-reg`` script that calls the same entry point as ``[project.scripts]``. The test checks
  that the README's first block is that install command, character for character. ``.ci/run`` runs the real
  install on a fresh machine.
- Port 8080 may be taken on a shared machine: the commands' ``127.0.0.1:8080`` becomes a free port, and the
  shells get ``LINEAGE_REG_PORT`` (for ``serve``) and ``LINEAGE_REG_URL`` (the SDK's default is 8080) set to
  it. Nothing else in a command is changed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from conftest import free_port

import lineage_reg

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "python3 -m venv .venv && .venv/bin/pip install ."
FENCE = re.compile(r"(?:<!-- readme: (?P<mark>not run|background)\b[^>]*-->\n)?"
                   r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    line: int
    mark: str | None
    body: str


def sh_blocks(markdown: str) -> list[Block]:
    return [Block(markdown.count("\n", 0, m.start("body")), m.group("mark"), m.group("body"))
            for m in FENCE.finditer(markdown) if m.group("lang") == "sh"]


def fake_install(workdir: Path) -> None:
    """``.venv`` as the install command leaves it, without downloading anything (see the module docstring)."""
    venv = workdir / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    src = Path(lineage_reg.__file__).resolve().parents[1]
    (site / "_readme_test.pth").write_text(f"{src}\n{sysconfig.get_paths()['purelib']}\n")
    script = venv / "bin" / "lineage-reg"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom lineage_reg.cli import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)


def scrubbed_env(home: Path, port: int) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "LINEAGE_REG_PORT": str(port), "LINEAGE_REG_URL": f"http://127.0.0.1:{port}"}


def test_every_readme_command_runs_as_written_in_a_fresh_shell(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = sh_blocks(readme)
    assert blocks, "README.md has no ```sh blocks"
    one_command = f"{INSTALL} && .venv/bin/lineage-reg serve"
    assert blocks[0].body.strip() == one_command, (
        f"README.md's first sh block must be the one command that installs and serves, {one_command!r}, "
        f"not {blocks[0].body.strip()!r}")
    runnable = [block for block in blocks if block.mark != "not run"]
    assert runnable[0].body.strip() == INSTALL, (
        f"README.md's first sh block that runs must be the install command {INSTALL!r} (this test stands in for "
        f"it), not {runnable[0].body.strip()!r}")
    for block in runnable:
        if "lineage-reg serve" in block.body and block.mark != "background":
            raise AssertionError(f"README.md line {block.line}: a block that starts the server runs until it is "
                                 "stopped; put it on its own, after <!-- readme: background -->, and say the "
                                 "commands after it go in a second shell")

    work, home = tmp_path / "checkout", tmp_path / "home"
    shutil.copytree(ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "README.md", work)
    shutil.copy(ROOT / "pyproject.toml", work)
    home.mkdir()
    fake_install(work)
    port = free_port()
    env = scrubbed_env(home, port)

    background: list[subprocess.Popen[str]] = []
    script = ["set -e -o pipefail"]  # the foreground blocks: one shell, as one terminal
    try:
        for block in runnable[1:]:
            body = block.body.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
            if block.mark == "background":
                background.append(subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", body], cwd=work, env=env,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                                   start_new_session=True))
                wait_healthy(port, background[-1])
                continue
            script.append(f"echo '>>> README.md line {block.line}' >&2")
            script.extend(line for line in body.splitlines())
        run = subprocess.run(["bash", "-c", "\n".join(script)], check=False, cwd=work, env=env, capture_output=True,
                             text=True, timeout=240)
        assert run.returncode == 0, f"exit {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    # What the quickstart promised, on disk: the bot deployed the promoted version, `get` wrote the model.
    assert (work / "deployed" / "current" / "config.json").is_file(), run.stdout
    assert (work / "serve" / "weights.bin").read_text() == "weights\n"
    assert "production" in run.stdout


def wait_healthy(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the background block exited {proc.returncode}:\n{out}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not answer /healthz within 60 s")


# docs/*.md: their commands need a server elsewhere, a PostgreSQL, a bench's MLflow..., so they are not run here;
# but each must at least be found in a fresh shell after the install: `lineage-reg`, `python`, `pip` via `.venv/bin/`.
# cli.md, events.md and concepts.md are being edited on other branches (issue 16): add them once those land.
NOT_YET_CHECKED: set[str] = set()
BARE = re.compile(r"^(?:\$ )?(lineage-reg|lineage_reg|python3?|pip3?)\b(?! -m venv)")


def test_every_docs_command_names_the_venv() -> None:
    bare = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name in NOT_YET_CHECKED:
            continue
        text = path.read_text()
        for block in sh_blocks(text):
            for n, line in enumerate(block.body.splitlines()):
                if BARE.match(line):
                    bare.append(f"{path.relative_to(ROOT)}:{block.line + n + 1}: {line}")
    assert not bare, ("a fresh shell has none of these on PATH (the install puts them in .venv/bin/):\n"
                      + "\n".join(bare))
