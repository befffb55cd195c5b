"""The CLI against a real server: in-process through ``main(argv)`` (``support.cli``), as a subprocess (what
users run: ``test_no_server_and_bad_token``) and through typer's runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import LiveServer, free_port
from lineage_reg.cli import app
from support.cli import run_cli


def program(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real program, in a subprocess: the console entry point, exit codes and streams as a shell sees them."""
    return subprocess.run([sys.executable, "-m", "lineage_reg.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


def ok(*args: str, env: dict[str, str]) -> str:
    done = cli(*args, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture
def env(live: LiveServer, tmp_path: Path) -> dict[str, str]:
    """A user who logged in: credentials in a file of the test's own."""
    env = {"LINEAGE_REG_CREDENTIALS": str(tmp_path / "creds.json"), "LINEAGE_REG_URL": "", "LINEAGE_REG_TOKEN": ""}
    out = ok("login", "--url", live.url, "--token", live.admin_token(), env=env)
    assert "logged in" in out
    assert oct((tmp_path / "creds.json").stat().st_mode & 0o777) == "0o600"
    return env


def model_dir(root: Path, weights: bytes) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(weights)
    (root / "sub" / "config.json").write_text('{"layers": 3}')
    return root


def test_log_get_link_alias_ls_show_history_lineage_diff(env: dict[str, str], live: LiveServer, tmp_path: Path,
                                                         dialect: str) -> None:
    assert ok("project", "create", "churn", env=env).strip() == "created project churn"
    assert cli("project", "create", "churn", env=env).returncode == 5  # CONFLICT: the name is taken
    src = model_dir(tmp_path / "m0", b"w" * 100_000)
    runner_env = env

    out = ok("log", str(src), "--project", "churn", "--name", "clf", "--alias", "candidate",
             "--metadata", '{"auc": 0.8}', env=runner_env)
    assert out.startswith("churn/clf:v0 ") and "candidate" in out
    again = ok("log", str(src), "--project", "churn", "--name", "clf", env=runner_env)
    assert again.startswith("churn/clf:v0 ")  # same bytes: deduplicated, no new version
    src1 = model_dir(tmp_path / "m1", b"v" * 100_000)
    (src1 / "extra.txt").write_text("new")
    assert ok("log", str(src1), "--project", "churn", "--name", "clf", env=runner_env).startswith("churn/clf:v1 ")

    shown = json.loads(ok("show", "churn/clf:candidate", "--json", env=env))
    assert shown["ref"] == "churn/clf:v0" and shown["metadata"] == {"auc": 0.8}
    assert sorted(f["path"] for f in shown["files"]) == ["sub/config.json", "weights.bin"]

    dest = tmp_path / "out"
    assert "churn/clf:v0 ->" in ok("get", "churn/clf:candidate", "--root", str(dest), env=env)
    assert (dest / "weights.bin").read_bytes() == b"w" * 100_000
    assert (dest / "sub" / "config.json").read_text() == '{"layers": 3}'

    assert ok("link", "churn/clf:v1", "churn/prod-model", "--alias", "staging", env=env).strip() == "churn/prod-model:v0"
    ok("alias", "set", "churn/prod-model", "production", "churn/clf:v1", env=env)
    ok("alias", "rm", "churn/prod-model", "staging", env=env)

    assert [p["name"] for p in json.loads(ok("ls", "--json", env=env))] == ["churn"]
    in_project = {r["name"]: r for r in json.loads(ok("ls", "churn", "--json", env=env))}
    assert in_project["clf"]["versions"] == 2 and "production=churn/clf:v1" in in_project["prod-model"]["aliases"]
    versions = json.loads(ok("ls", "churn/clf", "--json", env=env))
    assert [v["ref"] for v in versions] == ["churn/clf:v1", "churn/clf:v0"]
    links = json.loads(ok("ls", "churn/prod-model", "--json", env=env))
    assert links[0]["version"] == "churn/clf:v1" and "production" in links[0]["aliases"]
    table = ok("ls", "churn/clf", env=env)
    assert "churn/clf:v1" in table and "latest" in table

    events = json.loads(ok("history", "churn/prod-model", "--json", env=env))
    assert [(e["kind"], e["alias"], e["from"], e["to"]) for e in events[:2]] == [
        ("alias.removed", "staging", "churn/clf:v1", None), ("alias.set", "production", None, "churn/clf:v1")]

    graph = json.loads(ok("lineage", "churn/clf:v1", "--down", "--json", env=env))
    assert {n["label"] for n in graph["nodes"]} == {"churn/clf:v1"}  # nothing downstream yet
    assert "churn/clf:v1" in ok("lineage", "churn/clf:v1", env=env)

    d = json.loads(ok("diff", "churn/clf:v0", "churn/clf:v1", "--json", env=env))
    assert {f["path"]: f["change"] for f in d["files"]} == {
        "extra.txt": "ADDED", "sub/config.json": "UNCHANGED", "weights.bin": "CHANGED"}
    text = ok("diff", "churn/clf:v0", "churn/clf:v1", env=env)
    assert "added" in text and "changed" in text and "weights.bin" in text and "auc" in text


@pytest.mark.parametrize("args, code, needle", [
    (["show", "churn/nope:v0"], 3, "NOT_FOUND"),
    (["get", "nope/clf:latest", "--root", "x"], 3, "NOT_FOUND"),
    (["show", "not a ref"], 5, "BAD_INPUT"),
    (["log", "/no/such/path", "--project", "churn", "--name", "clf"], 5, "does not exist"),
    (["log", ".", "--project", "churn", "--name", "clf", "--metadata", "[1]"], 5, "JSON object"),
])
def test_errors_are_one_line_with_an_exit_code(env: dict[str, str], dialect: str, args: list[str], code: int,
                                               needle: str) -> None:
    done = cli(*args, env=env)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_no_server_and_bad_token(tmp_path: Path, live: LiveServer, dialect: str) -> None:
    nowhere = {"LINEAGE_REG_URL": f"http://127.0.0.1:{free_port()}", "LINEAGE_REG_TOKEN": "x",
               "LINEAGE_REG_CREDENTIALS": str(tmp_path / "none.json")}
    done = program("ls", env=nowhere)
    assert done.returncode == 6 and "cannot reach lineage-reg" in done.stderr and "Traceback" not in done.stderr
    bad = {**nowhere, "LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": "lrt_wrong"}
    done = program("ls", env=bad)
    assert done.returncode == 4 and "UNAUTHENTICATED" in done.stderr and "lineage-reg login" in done.stderr
    failed = program("login", "--url", live.url, "--token", "lrt_wrong", env=bad)
    assert failed.returncode == 4 and not (tmp_path / "none.json").exists()  # nothing saved


def test_a_corrupted_download_leaves_no_file(env: dict[str, str], live: LiveServer, tmp_path: Path,
                                             dialect: str) -> None:
    from lineage_reg.client import Registry

    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "clf", type="model", path=model_dir(tmp_path / "m", b"good bytes"))
    blob = live.settings.blob_dir
    [stored] = [p for p in blob.rglob("*") if p.is_file() and p.read_bytes() == b"good bytes"]
    stored.write_bytes(b"evil bytes")  # same size, other bytes: the store was tampered with
    dest = tmp_path / "dest"
    done = cli("get", version.ref, "--root", str(dest), env=env)
    assert done.returncode == 5 and "DIGEST_INVALID" in done.stderr
    assert not (dest / "weights.bin").exists()
    assert not [p for p in dest.rglob("*") if p.is_file() and p.name.endswith(".part")]


def test_through_typers_runner(env: dict[str, str], live: LiveServer, tmp_path: Path, dialect: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    result = runner.invoke(app, ["ls", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    result = runner.invoke(app, ["show", "churn/x:v0"])
    assert result.exit_code == 3
    result = runner.invoke(app, ["alias"])
    assert result.exit_code in (0, 2) and "set" in result.output  # no subcommand: help
    result = runner.invoke(app, ["diff", "only-one-ref"])
    assert result.exit_code == 2  # a usage error


def test_cache_info_and_prune(env: dict[str, str], live: LiveServer, tmp_path: Path, dialect: str,
                              blob_cache: Path) -> None:
    ok("project", "create", "churn", env=env)
    src = model_dir(tmp_path / "m0", b"w" * 100_000)
    ok("log", str(src), "--project", "churn", "--name", "clf", env=env)
    ok("get", "churn/clf:v0", "--root", str(tmp_path / "out"), env=env)
    info = json.loads(ok("cache", "info", "--json", env=env))
    assert info["path"] == str(blob_cache) and info["entries"] == 2 and info["bytes"] == 100_000 + len('{"layers": 3}')
    assert info["maxBytes"] == 10 * 1024**3
    assert "2 blobs" in ok("cache", "info", env=env)
    assert json.loads(ok("cache", "prune", "--json", env=env))["droppedEntries"] == 0  # within the bound
    pruned = json.loads(ok("cache", "prune", "--max-bytes", "50K", "--json", env=env))
    assert pruned["droppedBytes"] >= 100_000 and pruned["bytes"] <= 50 * 1024  # least recently used first
    assert json.loads(ok("cache", "prune", "--max-bytes", "0", "--json", env=env))["entries"] == 0
    assert (tmp_path / "out" / "weights.bin").read_bytes() == b"w" * 100_000  # downloaded files stay
    bad = cli("cache", "prune", "--max-bytes", "lots", env=env)
    assert bad.returncode == 5 and "--max-bytes" in bad.stderr and "lots" in bad.stderr
    bad = cli("cache", "info", env={**env, "LINEAGE_REG_CACHE_MAX_BYTES": "-1"})
    assert bad.returncode == 5 and "LINEAGE_REG_CACHE_MAX_BYTES" in bad.stderr and len(bad.stderr.splitlines()) == 1
