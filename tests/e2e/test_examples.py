"""The examples and docs/sdk.md run as a user would run them, against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def user_env(live: LiveServer, token: str | None = None) -> dict[str, str]:
    return {**os.environ, "LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": token or live.admin_token()}


def test_quickstart(live: LiveServer, dialect: str) -> None:
    for version in ("v0", "v1"):  # a second run logs and promotes a new version
        quick = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], env=user_env(live),
                               capture_output=True, text=True, timeout=120)
        assert quick.returncode == 0, quick.stderr
        assert f"quickstart/churn:production is quickstart/churn-classifier:{version}" in quick.stdout
        assert "downloaded: ['config.json', 'weights/model.bin']" in quick.stdout


def test_deploy_bot_ships_what_quickstart_promotes(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    env = user_env(live)
    bot = subprocess.Popen([sys.executable, str(EXAMPLES / "deploy_bot.py"), "quickstart/churn", "--dest",
                            str(tmp_path / "deployed"), "--once"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout is not None
        assert "following quickstart/churn:production" in bot.stdout.readline()
        quick = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], env=env, capture_output=True,
                               text=True, timeout=120)
        assert quick.returncode == 0, quick.stderr
        out, _ = bot.communicate(timeout=60)
    finally:
        bot.kill()
    assert bot.returncode == 0
    assert "deployed quickstart/churn-classifier:v0" in out
    deployed = tmp_path / "deployed" / "quickstart_churn-classifier_v0"
    assert (deployed / "weights" / "model.bin").stat().st_size == 256 * 1024
    assert (tmp_path / "deployed" / ".sequence").read_text()
    assert (tmp_path / "deployed" / "current").resolve() == deployed.resolve()  # the symlink swapped to it


def test_deploy_bot_gives_up_on_a_bad_token(live: LiveServer, tmp_path: Path) -> None:
    bot = subprocess.run([sys.executable, str(EXAMPLES / "deploy_bot.py"), "quickstart/churn", "--dest",
                          str(tmp_path)], env=user_env(live, token="not-a-token"), capture_output=True, text=True,
                         timeout=60)
    assert bot.returncode != 0
    assert "4403" in bot.stderr or "refused" in bot.stderr, bot.stderr


def test_sdk_docs_run_top_to_bottom(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "sdk.md").read_text(), re.S)
    script = tmp_path / "sdk_docs.py"
    script.write_text("\n".join(blocks))
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=user_env(live), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "NOT_FOUND version 'churn/classifier:v99' not found" in run.stdout
    assert sorted(p.relative_to(tmp_path / "deploy").as_posix() for p in (tmp_path / "deploy").rglob("*")) == [
        "config.json", "weights", "weights/model.bin"]


def run_example(live: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / args[0]), *args[1:]], env=user_env(live),
                          capture_output=True, text=True, timeout=180)


def test_train_register_promote_and_report(live: LiveServer, dialect: str) -> None:
    from lineage_reg.client import Registry

    first = run_example(live, "train_and_register.py")
    assert first.returncode == 0, first.stderr
    aucs = dict(re.findall(r"evaluated (cancer/classifier-\w+:v\d): auc ([\d.]+)", first.stdout))
    assert set(aucs) == {"cancer/classifier-logreg:v0", "cancer/classifier-tree:v0"}
    best = max(aucs, key=lambda k: float(aucs[k]))
    assert f"promoted {best} as cancer/cancer-classifier:v0" in first.stdout
    with Registry(live.url, live.admin_token()) as reg:
        assert reg.resolve("cancer/cancer-classifier:production").ref == best
        assert reg.resolve("cancer/cancer-classifier:staging").ref == best
        trained = reg.query('query($r: String!) { resolve(ref: $r) { createdBy { name config inputs { ref } '
                            'datasetsRead { namespace name } metrics { key value } } } }', r=best)
        run = trained["resolve"]["createdBy"]
        assert run["inputs"] == [{"ref": "cancer/train-set:v0"}]
        assert run["datasetsRead"] == [{"namespace": "sklearn://datasets", "name": "breast_cancer"}]
        assert run["metrics"][0]["key"] == "train_accuracy" and 0.8 < run["metrics"][0]["value"] <= 1

    again = run_example(live, "train_and_register.py")  # same data, same models: the same versions
    assert again.returncode == 0, again.stderr
    assert "trained logreg: cancer/classifier-logreg:v0" in again.stdout
    assert "trained tree: cancer/classifier-tree:v0" in again.stdout

    report = run_example(live, "lineage_report.py", "cancer/cancer-classifier:production")
    assert report.returncode == 0, report.stderr
    assert f"is {best}" in report.stdout
    assert "<- produced" in report.stdout and "run train-" in report.stdout
    assert "dataset sklearn://datasets" in report.stdout and "cancer/train-set:v0" in report.stdout


def test_promote_checks_before_it_moves(live: LiveServer, dialect: str) -> None:
    from lineage_reg.client import Registry

    assert run_example(live, "quickstart.py").returncode == 0  # quickstart/churn: staging = production = v0
    with Registry(live.url, live.admin_token()) as reg:
        refused = run_example(live, "promote.py", "quickstart/churn", "--to", "canary", "--require", "val_loss<=0.0")
        assert refused.returncode == 1 and "FAIL" in refused.stdout, refused.stdout + refused.stderr
        assert "not promoting quickstart/churn-classifier:v0" in refused.stderr
        assert "canary" not in reg.resolve("quickstart/churn:staging").aliases  # nothing moved
        ok = run_example(live, "promote.py", "quickstart/churn", "--to", "canary", "--require", "val_loss<=0.5",
                         "--require", "loss<=1")
        assert ok.returncode == 0, ok.stderr
        assert "moved quickstart/churn:canary from nothing to quickstart/churn-classifier:v0" in ok.stdout
        assert reg.resolve("quickstart/churn:canary").ref == "quickstart/churn-classifier:v0"
        same = run_example(live, "promote.py", "quickstart/churn", "--to", "canary")
        assert same.returncode == 0 and "nothing to do" in same.stdout


def test_monitor_and_rollback(live: LiveServer, dialect: str) -> None:
    for _ in range(2):  # a second run replays the first run's moves and breach, and must act only on its own
        run = subprocess.run([sys.executable, str(EXAMPLES / "monitor_and_rollback.py")], env=user_env(live),
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        moved = re.search(r"moved (\S+) -> (\S+);", run.stdout)
        assert moved, run.stdout
        good, new = moved.groups()
        assert re.search(rf"breach: {re.escape(new)} latency_p99 mean \d+\.\d GT 50 \(production\)", run.stdout)
        assert f"rolled back monitoring/ranker:production from {new} to {good}" in run.stdout
        assert run.stdout.count("rolled back") == 1
        assert f"monitoring/ranker:production is {good} again" in run.stdout


def test_promotion_review(live: LiveServer, dialect: str) -> None:
    from lineage_reg.client import Registry

    first = subprocess.run([sys.executable, str(EXAMPLES / "promotion_review.py")], env=user_env(live),
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "moving it now needs 1 approval by a project admin" in first.stdout
    # Second run as in real life: CI with a token of its own (a member of the project), the admin reviewing.
    with Registry(live.url, live.admin_token()) as reg:
        ci_token = asyncio.run(_token(live, "ci-bot"))
        reg.add_member("reviewed", "ci-bot", "member")
    second = subprocess.run([sys.executable, str(EXAMPLES / "promotion_review.py")],
                            env={**user_env(live, ci_token), "LINEAGE_REG_REVIEWER_TOKEN": live.admin_token()},
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    for run, v in ((first, "v1"), (second, "v2")):
        ref = f"reviewed/fraud-weights:{v}"
        assert re.search(rf"CI requested production -> {re.escape(ref)}: request \S+ \(auc 0\.\d+ on holdout", run.stdout)
        assert re.search(r"reviewer approved \S+: APPLIED", run.stdout)
        assert f"deploy bot shipped {ref}" in run.stdout
        assert run.stdout.strip().endswith(f"reviewed/fraud:production is {ref}")
    with Registry(live.url, live.admin_token()) as reg:
        moves = list(reg.alias_history("reviewed/fraud", "production"))
        assert [m["version"] for m in moves] == ["reviewed/fraud-weights:v2", "reviewed/fraud-weights:v1",
                                                 "reviewed/fraud-weights:v0"]
        assert moves[0]["request"] and moves[1]["request"] and moves[2]["request"] is None
        requests = list(reg.promotions(project="reviewed"))
        assert [r["requestedBy"] for r in requests] == ["ci-bot", "bootstrap-admin"]


async def _token(live: LiveServer, name: str) -> str:
    """A token with no global role: what it may do comes from its project memberships."""
    from lineage_reg.services import tokens
    from lineage_reg.services.lifecycle import open_runtime

    async with open_runtime(live.settings, events=False, migrate=False) as rt:
        return await tokens.create_token(rt, name=name, role="user")
